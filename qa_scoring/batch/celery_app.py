"""The Celery application: the same ``process_call`` as the local pool, as a task on Redis.

Workers on any number of machines run ``qa-scoring worker``; they need the same
``QA_SCORING_DATABASE_URL`` (PostgreSQL) and ``QA_SCORING_CELERY_BROKER_URL``, and the recordings
at the same paths (a shared mount). The task holds no logic: retries and progress are driven by
the batch from the jobs table, and a worker that dies mid-call has its task redelivered
(``acks_late`` + ``reject_on_worker_lost``), which ``process_call`` reclaims safely.
"""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

from qa_scoring.config import get_settings

TASK_NAME = "qa_scoring.process_call"
QUEUE = "qa-scoring"


def make_app(broker_url: str | None = None) -> Celery:
    app = Celery("qa_scoring", broker=broker_url or get_settings().celery_broker_url)
    app.conf.update(
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,  # a call takes seconds to minutes; do not hoard them
        task_ignore_result=True,  # results live in the store, not the broker
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        # Redis redelivers an unacknowledged task after this long; longer than any one call.
        broker_transport_options={"visibility_timeout": 6 * 3600},
    )
    app.task(name=TASK_NAME)(_process_call_task)
    return app


def _process_call_task(call_id: int, batch_run_id: int, *_: Any) -> dict[str, Any]:
    """One call of a run; the rubrics to score are the run's own (read from its row). Extra
    arguments are ignored: tasks queued by an older version carried the rubric ids."""
    from qa_scoring.batch.process import process_call

    return process_call(call_id, batch_run_id).to_dict()


@worker_process_init.connect
def _load_models(**_: Any) -> None:
    """Each worker child loads the models once, after the fork, before its first task."""
    from qa_scoring.batch.worker_models import init_worker

    settings = get_settings()
    init_worker(settings, threads=settings.worker_threads or 1)


app = make_app()
