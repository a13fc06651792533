"""``--device`` for the commands that run the speech models (transcribe, batch, worker)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import click

from qa_scoring.config import CHOICES, ENV_PREFIX, get_settings


def _set_device(_ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    # Through the environment, like every setting: a batch's pool processes and a Celery worker's
    # children read their settings afresh and see it too.
    if value is not None:
        os.environ[f"{ENV_PREFIX}DEVICE"] = value
        get_settings.cache_clear()


def device_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--device",
        type=click.Choice(CHOICES["device"]),
        default=None,
        expose_value=False,
        callback=_set_device,
        help="Where the speech models run: auto (a GPU where one is found), cpu or cuda "
        "(default: the device setting).",
    )(command)
