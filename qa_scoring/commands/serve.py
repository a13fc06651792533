"""``qa-scoring serve``: the review UI under waitress (a production WSGI server, threads, no fork)."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=int, help="Request threads.")
@click.option("--debug", is_flag=True, help="Flask's development server with reloader (never in production).")
def serve(host: str, port: int, threads: int, debug: bool) -> None:
    """Serve the review UI."""
    from web import create_app

    app = create_app()
    if debug:
        app.run(host=host, port=port, debug=True)
        return
    from waitress import serve as waitress_serve

    click.echo(f"qa-scoring UI on http://{host}:{port}/ (Ctrl+C to stop)")
    waitress_serve(app, host=host, port=port, threads=threads, ident="qa-scoring")
