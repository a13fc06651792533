"""A batch run: pick the calls, recover from a dead run, execute on an engine, report.

Engines only decide *where* :func:`qa_scoring.batch.process.process_call` runs: in this process
(one worker), a local spawn-context process pool, or Celery workers on other machines. Progress
and retries are driven from the jobs table in the store, so both engines behave the same.
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qa_scoring.batch import report as reporting
from qa_scoring.batch.options import BatchOptions, progress_bar
from qa_scoring.batch.process import Outcome, process_call
from qa_scoring.batch.worker_models import init_worker, usable_cores
from qa_scoring.config import Settings
from qa_scoring.ingest import ingest_paths
from qa_scoring.logs import start_file_log
from qa_scoring.review.batch_pass import BatchReview, finish_batch
from qa_scoring.store.audit import audit_row
from qa_scoring.store.db import open_store
from qa_scoring.store.models import BatchRun, Call, Job, utcnow


@dataclass
class BatchResult:
    run_id: int | None
    report: dict[str, Any]
    interrupted: bool = False


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover(session: Session) -> list[str]:
    """Close runs whose driver died on this host and free their ``running`` jobs for a re-run.

    An interrupted attempt is not the call's fault, so it is not counted against max_attempts.
    """
    notes = []
    host = socket.gethostname()
    for run in session.scalars(select(BatchRun).where(BatchRun.status == "running")):
        if run.host == host and not pid_alive(run.pid):
            run.status = "interrupted"
            run.finished_at = run.finished_at or utcnow()
            notes.append(f"batch run {run.id} (pid {run.pid}) died; resuming its unfinished calls")
    dead_runs = select(BatchRun.id).where(BatchRun.status != "running")
    stuck = session.scalars(select(Job).where(Job.state == "running", Job.batch_run_id.in_(dead_runs))).all()
    for job in stuck:
        job.state = "pending"
        job.attempts = max(0, job.attempts - 1)
        job.last_error = "interrupted: the batch stopped while this call was running"
        job.worker = None
    live = select(Job.call_id).where(Job.state == "running")
    session.execute(
        update(Call)
        .where(Call.status == "processing", Call.id.not_in(live))
        .values(status="pending")
        .execution_options(synchronize_session=False)
    )
    if stuck:
        notes.append(f"{len(stuck)} call(s) left running by a dead run reset to pending")
    return notes


def select_calls(session: Session, call_ids: list[int] | None, options: BatchOptions) -> list[int]:
    states = ["pending", "processing"]
    if options.retry_failed:
        states.append("failed")
    if options.rescore:
        states.append("scored")
    # Calls another live run is working on are left to it (two batches may overlap).
    busy = (
        select(Job.call_id)
        .join(BatchRun, Job.batch_run_id == BatchRun.id)
        .where(BatchRun.status == "running", Job.state.in_(["pending", "running"]))
    )
    query = select(Call.id).where(Call.status.in_(states), Call.id.not_in(busy)).order_by(Call.id)
    if call_ids is not None:
        query = query.where(Call.id.in_(call_ids))
    return list(session.scalars(query))


def run_options(options: BatchOptions) -> dict[str, Any]:
    """What identifies a batch command: the same options again resume an interrupted run."""
    return {
        "workers": options.workers,
        "rubrics": list(options.rubrics),
        "paths": list(options.paths),
        "rescore": options.rescore,
        "retry_failed": options.retry_failed,
    }


def resumable_run(session: Session, options: BatchOptions) -> BatchRun | None:
    """The newest run of the same command, if it was interrupted (its scheduler killed or stopped):
    running the command again carries on in that run, so its report covers the night rather than
    the part after the restart. That holds even when nothing is left pending: Celery workers go on
    with what was queued while the scheduler is down, and may finish it all before the re-run."""
    wanted = run_options(options)
    same = [
        run
        for run in session.scalars(
            select(BatchRun).where(BatchRun.engine == options.engine).order_by(BatchRun.id.desc()).limit(20)
        )
        if {k: run.options.get(k) for k in wanted if k != "workers"}
        == {k: v for k, v in wanted.items() if k != "workers"}
    ]
    return same[0] if same and same[0].status == "interrupted" else None


def run_batch(settings: Settings, options: BatchOptions, echo: Callable[[str], None] = print) -> BatchResult:
    factory = open_store(settings)
    log_path = start_file_log(settings)
    ingest_summary = None
    with factory.begin() as session:
        for note in recover(session):
            echo(note)
        call_ids = None
        if options.paths:
            report = ingest_paths(
                session,
                options.paths,
                manifest=options.manifest,
                pattern=options.pattern,
                max_file_mb=settings.max_file_mb,
            )
            report.log()
            for line in report.lines(where=f"{log_path} or the run's report"):
                echo(line)
            ingest_summary = report.to_dict()
            call_ids = report.call_ids
        selected = select_calls(session, call_ids, options)
        run = resumable_run(session, options)
        if run is None:
            run = BatchRun(engine=options.engine, options=run_options(options))
            session.add(run)
        else:
            echo(f"batch run {run.id} was interrupted; resuming it")
        if not settings.redact:  # audit_row flushes a new run for its id
            audit_row(
                session,
                run,
                "redaction_off",
                actor="system",
                new={"redact": False},
                reason="setting redact = false: transcripts and audio of this run are stored unredacted",
            )
            echo("redaction is OFF (setting redact = false): transcripts and audio are stored as heard")
        run.status, run.finished_at = "running", None
        run.host, run.pid = socket.gethostname(), os.getpid()
        session.flush()
        known = set(session.scalars(select(Job.call_id).where(Job.batch_run_id == run.id)))
        session.add_all(Job(batch_run_id=run.id, call_id=cid) for cid in selected if cid not in known)
        session.flush()
        selected = list(
            session.scalars(
                select(Job.call_id)
                .where(Job.batch_run_id == run.id, Job.state == "pending")
                .order_by(Job.call_id)
            )
        )
        session.execute(
            update(Call)
            .where(Call.id.in_(selected))
            .values(status="pending")
            .execution_options(synchronize_session=False)
        )
        run_id = run.id
    echo(f"batch run {run_id}: {len(selected)} call(s) to process on {options.engine} engine")
    started = time.perf_counter()
    interrupted = False
    try:
        if selected:
            if options.engine == "celery":
                from qa_scoring.batch.celery_engine import run_celery

                run_celery(factory, settings, run_id, selected, options)
            else:
                run_local(factory, settings, run_id, selected, options)
    except KeyboardInterrupt:
        interrupted = True
        echo("interrupted: finished calls are stored; run the same command again to resume")
    except Exception:
        with factory.begin() as session:
            run = session.get(BatchRun, run_id)
            assert run is not None
            run.status, run.finished_at = "failed", utcnow()
            recover(session)  # free its unfinished calls for the next run
        raise
    wall = time.perf_counter() - started
    with factory.begin() as session:
        review = BatchReview()
        if not interrupted:
            in_run = list(session.scalars(select(Job.call_id).where(Job.batch_run_id == run_id)))
            review = finish_batch(session, in_run, settings)
            if review.topped_up:
                echo(
                    f"review: {len(review.topped_up)} agent(s) had no call flagged; "
                    "one random call each added"
                )
        run = session.get(BatchRun, run_id)
        assert run is not None
        report_data = reporting.build_report(
            session, run_id, wall, ingest_summary, settings=settings, review=review
        )
        run.report = report_data
        run.finished_at = utcnow()
        run.status = "interrupted" if interrupted else "finished"
        if interrupted:
            recover(session)
    return BatchResult(run_id, report_data, interrupted)


def run_local(
    factory: sessionmaker[Session],
    settings: Settings,
    run_id: int,
    call_ids: list[int],
    options: BatchOptions,
) -> None:
    workers = max(1, min(options.workers, len(call_ids)))
    bar = progress_bar(len(call_ids), options)
    failed = 0

    def settle(outcome: Outcome) -> bool:
        """Count a finished call; True when it should be tried again."""
        nonlocal failed
        if outcome.state == "retry":
            return True
        failed += outcome.state == "failed"
        bar.update(1)
        bar.set_postfix(failed=failed)
        return False

    try:
        if workers == 1:
            init_worker(settings, threads=max(0, settings.asr_threads), load=True)
            queue = list(call_ids)
            while queue:
                call_id = queue.pop(0)
                if settle(process_call(call_id, run_id)):
                    queue.append(call_id)
            return
        threads = max(1, usable_cores() // workers)
        remaining = list(call_ids)
        while remaining:
            remaining = _pool_round(settings, run_id, remaining, workers, threads, options, settle, factory)
    finally:
        bar.close()


def _pool_round(
    settings: Settings,
    run_id: int,
    call_ids: list[int],
    workers: int,
    threads: int,
    options: BatchOptions,
    settle: Callable[[Outcome], bool],
    factory: sessionmaker[Session],
) -> list[int]:
    """Run ``call_ids`` on a fresh pool; returns calls still to do if a worker process died."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=init_worker, initargs=(settings, threads)
    )
    futures: dict[Future[Outcome], int] = {}
    unsettled = set(call_ids)  # calls of this round with no final outcome yet
    progress = 0
    try:
        for call_id in call_ids:
            futures[pool.submit(process_call, call_id, run_id)] = call_id
        while futures:
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for future in finished:
                call_id = futures.pop(future)
                outcome = future.result()  # BrokenProcessPool if a worker died
                progress += 1
                if settle(outcome):
                    futures[pool.submit(process_call, call_id, run_id)] = call_id
                else:
                    unsettled.discard(call_id)
    except BrokenProcessPool:
        # A worker was killed (out of memory, or by hand): free its jobs and go on with a new pool.
        pool.shutdown(wait=False, cancel_futures=True)
        with factory.begin() as session:
            retry, lost = _orphaned(session, run_id, settings)
        if progress == 0 and not lost:
            # No call came back and none was even claimed: the workers die while starting (model
            # loading), and a new pool would die the same way. Their jobs stay pending for the next run.
            raise RuntimeError(
                "batch worker processes died before finishing any call (see the worker errors above, "
                "or run with --workers 1)"
            ) from None
        return sorted(unsettled & set(retry))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return []


def _orphaned(session: Session, run_id: int, settings: Settings) -> tuple[list[int], int]:
    """Jobs of this run left ``running`` by dead workers: retried, or failed once out of attempts.

    Returns the calls to do again and how many were lost mid-call (claimed, so their worker had
    started: a death at work, not at start-up)."""
    out, lost = [], 0
    for job in session.scalars(
        select(Job).where(Job.batch_run_id == run_id, Job.state.in_(["running", "pending"]))
    ):
        if job.state == "running":
            lost += 1
            job.last_error = f"worker process {job.worker} died while processing this call"
            job.worker = None
            if job.attempts >= settings.max_attempts:
                job.state = "failed"
                call = session.get(Call, job.call_id)
                if call is not None:
                    call.status, call.last_error = "failed", job.last_error
                continue
            job.state = "pending"
        out.append(job.call_id)
    return out, lost
