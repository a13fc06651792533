"""What a batch command asks for, and its progress bar: shared by the runner and both engines."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class BatchOptions:
    paths: Sequence[str] = ()
    workers: int = 1
    rubrics: list[str] = field(default_factory=list)
    engine: str = "local"  # local | celery
    rescore: bool = False  # also re-process calls already scored (adds a transcript version)
    retry_failed: bool = False  # give failed calls another run
    manifest: str | None = None
    pattern: str | None = None
    progress: bool = True
    wait_timeout: float | None = None  # celery engine: give up waiting after this many seconds


def progress_bar(total: int, options: BatchOptions) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        unit="call",
        file=sys.stderr,
        disable=not options.progress,
        dynamic_ncols=True,
        smoothing=0.1,
        desc="scoring",
    )
