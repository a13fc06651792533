"""The ``qa-scoring`` command.

Each subcommand lives in its own module under ``qa_scoring.commands`` and is imported only
when it runs, so ``qa-scoring --help`` and the light commands start fast without loading
torch, spaCy or the database layer.
"""

from __future__ import annotations

import importlib

import click

from qa_scoring import __version__

# name -> (module under qa_scoring.commands, click command object's name, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": ("demo", "demo", "Score the bundled sample calls end to end, then serve the review UI."),
    "score": ("score", "score", "Pre-score transcripts against the rubrics, with evidence."),
    "rubrics": ("rubrics", "rubrics", "List and validate rubric files."),
    "transcribe": ("transcribe", "transcribe", "Transcribe and diarise recorded calls into transcript JSON."),
    "train": ("train", "train", "Train the behaviour classifiers from labelled calls."),
    "learn": (
        "learn",
        "learn",
        "Retrain the behaviour model with the reviewers' decisions, promote if not worse.",
    ),
    "eval": ("eval", "eval_command", "Measure behaviour detection against labelled calls."),
    "models": ("models", "models", "Install and list the offline speech and text models."),
    "db": ("db", "db", "Create or upgrade the database schema."),
    "ingest": ("ingest", "ingest", "Register recordings and their metadata in the store."),
    "batch": ("batch", "batch", "Transcribe, redact, score and store every pending call, with a report."),
    "worker": ("worker", "worker", "Run a Celery worker for batches spread over many machines."),
    "export": ("export", "export", "Export scorecards per call, agent and criterion as CSV or JSON."),
    "serve": ("serve", "serve", "Serve the review UI."),
    "users": ("users", "users", "Create and list UI users."),
    "reviews": ("reviews", "reviews", "Import past QA evaluations from a CSV file."),
    "outcomes": (
        "outcomes",
        "outcomes",
        "Import post-call survey outcomes (CSAT, NPS, resolved) and compare them with QA results.",
    ),
    "report": ("report", "report", "Agent and team evaluation reports (HTML or PDF) for appraisals."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(f"qa_scoring.commands.{module}"), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="qa-scoring")
def main() -> None:
    """Quality assurance for contact-centre calls: transcribe, score against rubrics, review."""
