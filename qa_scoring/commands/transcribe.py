"""``qa-scoring transcribe``: recordings in, transcript documents (and renderings) out.

Models load once for the whole run. A bad recording does not stop the run: it gets one line on
stderr naming the file and the reason, the rest go through, and the exit status is 1 so a
script or scheduler notices.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from qa_scoring.commands.device_option import device_option
from qa_scoring.config import get_settings
from qa_scoring.transcribe.render import EXTENSIONS, FORMATS


@click.command("transcribe")
@click.argument("calls", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Folder for the output files (created if missing).",
)
@click.option(
    "--format",
    "formats",
    type=click.Choice(FORMATS),
    multiple=True,
    default=("json",),
    show_default=True,
    help="Output format; repeat for several. JSON is the canonical document.",
)
@click.option(
    "--num-speakers",
    type=click.IntRange(1, 10),
    default=None,
    help="Speakers on a mono recording (default: the num_speakers setting, 2).",
)
@click.option(
    "--channel-roles",
    default=None,
    help="Roles of a stereo file's channels, left first, e.g. 'agent,customer' (default: from content).",
)
@device_option
def transcribe(
    calls: tuple[Path, ...],
    out_dir: Path,
    formats: tuple[str, ...],
    num_speakers: int | None,
    channel_roles: str | None,
) -> None:
    """Transcribe and diarise recorded calls (wav, mp3, flac, ogg/opus, m4a; mono or stereo).

    Writes CALL.transcript.json (and .srt/.vtt/.rttm/.txt with --format) into --out.
    """
    from dataclasses import replace

    from tqdm import tqdm

    from qa_scoring.transcribe.audio import AudioError
    from qa_scoring.transcribe.pipeline import SpeechPipeline
    from qa_scoring.transcribe.render import render

    settings = get_settings()
    if num_speakers is not None:
        settings = replace(settings, num_speakers=num_speakers)
    if channel_roles is not None:
        settings = replace(settings, channel_roles=channel_roles)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"{out_dir}: cannot create output folder ({exc.strerror})") from None
    try:
        pipeline = SpeechPipeline.load(settings)
    except Exception as exc:  # a missing model or bad setting stops everything: say so once
        raise click.ClickException(str(exc)) from None

    failed = 0
    used: set[str] = set()
    bar = tqdm(calls, desc="transcribing", unit="call", file=sys.stderr, disable=len(calls) < 2)
    for path in bar:
        call_id = path.stem
        try:
            if call_id in used:
                raise AudioError(path, f"another input has the same name {call_id!r}; outputs would clash")
            used.add(call_id)
            transcript = pipeline.transcribe_file(path, call_id=call_id)
        except AudioError as exc:
            failed += 1
            tqdm.write(f"error: {exc}", file=sys.stderr)
            continue
        except Exception as exc:  # keep the batch going; the line still names the file
            failed += 1
            tqdm.write(f"error: {path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        for fmt in dict.fromkeys(formats):
            target = out_dir / f"{call_id}{EXTENSIONS[fmt]}"
            target.write_text(render(transcript, fmt), encoding="utf-8")
            tqdm.write(str(target), file=sys.stdout)
    bar.close()
    if failed:
        click.echo(f"{failed} of {len(calls)} recording(s) failed", err=True)
        sys.exit(1)
