"""Where the test data lives: ../shared beside the project (real recordings, labelled calls)."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = PROJECT_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared; fails (never skips) when the test data is missing."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data missing: {path} (the ../shared checkout is required for the tests)")
    return path
