"""``qa-scoring serve``: the review UI under gunicorn, one worker process per CPU.

Rendering a page is Python work that holds the GIL, so one process uses one core however many
threads it has (waitress with 8 threads answered 20 concurrent users at a p95 of 320-360 ms on a
call page). Several processes use every core; a few threads in each keep a slow client (an audio
download, an idle keep-alive connection) from holding a whole process.

The app is built once in the master, so a misconfiguration fails before any worker starts, the
schema is upgraded once (not raced by N workers) and the secret key is read or made once (workers
that each made their own would reject each other's session cookies). Its database connections are
closed before the fork, and each worker drops its inherited pool (without closing the parent's
sockets) and opens its own connections.
"""

from __future__ import annotations

from typing import Any

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: setting web_workers, else one per CPU).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Request threads per worker (1: gunicorn's sync worker, no keep-alive).",
)
@click.option("--debug", is_flag=True, help="Flask's development server with reloader (never in production).")
def serve(host: str, port: int, workers: int | None, threads: int, debug: bool) -> None:
    """Serve the review UI."""
    from qa_scoring.batch.worker_models import usable_cores
    from qa_scoring.config import get_settings
    from web import create_app

    app = create_app()
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    workers = workers or get_settings().web_workers or usable_cores()
    click.echo(
        f"qa-scoring UI on http://{host}:{port}/ ({workers} worker processes x {threads} threads; "
        "Ctrl+C to stop)"
    )
    run_gunicorn(app, host=host, port=port, workers=workers, threads=threads)


def run_gunicorn(app: Any, *, host: str, port: int, workers: int, threads: int) -> None:
    """Serve ``app`` (already built) with gunicorn until it is stopped."""
    from gunicorn.app.base import BaseApplication

    from web.db import after_fork, before_fork

    before_fork(app)

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread" if threads > 1 else "sync",
                "proc_name": "qa-scoring-web",
                "post_fork": lambda _server, _worker: after_fork(app),
                # Ctrl+C or a stop should not wait long for a reviewer's idle keep-alive connection.
                "graceful_timeout": 10,
            }
            # gunicorn 25+ opens a control socket at one fixed path per user by default; two
            # servers on one machine (a demo beside a test run) would fight over it, and nothing
            # here uses it.
            if "control_socket_disable" in self.cfg.settings:
                options["control_socket_disable"] = True
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return app

    Server().run()
