"""Configuration in one place: embedded defaults, then a TOML file, then ``QA_SCORING_*`` variables.

The file is the one named by ``QA_SCORING_CONFIG``, else ``./qa-scoring.toml`` when present.
Every field can be set by an environment variable of its upper-cased name with the
``QA_SCORING_`` prefix (``QA_SCORING_DATABASE_URL``, ``QA_SCORING_MODELS_DIR``...). Later
sources win. Defaults are what a fresh machine needs: SQLite, a local pool, bundled models.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "QA_SCORING_"


class ConfigError(ValueError):
    """A configuration file or variable that cannot be used; the message names it."""


@dataclass
class Settings:
    # Where assembled model folders live (``qa-scoring models install`` writes them).
    models_dir: Path = PROJECT_ROOT / "models" / "installed"
    # Where recordings, redacted audio, clips and the SQLite database live.
    data_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""  # empty: SQLite file in data_dir
    rubrics_dir: Path = PROJECT_ROOT / "rubrics"

    # Speech pipeline
    # A model folder name under models_dir (whisper-base, whisper-tiny.en), or a path. base is the
    # most accurate model whose whole pipeline stays within RTF 0.15 on 2 cores (docs/asr-ladder.md).
    asr_model: str = "whisper-base"
    # Where the speech models run: auto (a GPU where one is found, else the CPU), cpu or cuda.
    device: str = "auto"
    # int8, float16...; auto: int8 on the CPU, float16 on a GPU.
    asr_compute_type: str = "auto"
    asr_beam_size: int = 1
    # Decode each 30 s window with the previous one's words as the prompt. On the real calls it helps
    # base (docs/asr-ladder.md: 23.5% mean WER with it and the faster-whisper VAD, 27.2% without);
    # the loops it can feed are dropped by the recogniser's compression-ratio guard.
    asr_condition_on_previous_text: bool = True
    # Silero VAD settings: "faster-whisper" (its defaults: longer chunks, best with conditioning)
    # or "telephone" (lower threshold, shorter silences: best for tiny.en without conditioning).
    asr_vad: str = "faster-whisper"
    asr_threads: int = 0  # 0: all cores
    language: str = "en"
    num_speakers: int = 2  # expected speakers on a mono recording
    # torch threads for mono diarisation; 1 (default): on a shared or busy machine two OpenMP threads
    # spin-wait on each other and ran the diariser 6-12x slower (benchmarks/bench_diarisation.py).
    # 0: torch's default (all cores).
    diarise_threads: int = 1
    # Stereo channel mapping, e.g. "agent,customer" (left is agent). Empty: decide from content.
    channel_roles: str = ""
    # Organisation names that help tell the agent from the customer (comma-separated).
    organisation_names: str = ""
    # Redaction (DPA 2018, PCI DSS): card numbers, security codes, bank details, dates of birth,
    # postcodes, emails and phones become placeholders in stored transcripts and are blanked in the
    # audio the UI plays. On by default; turning it off is a deliberate, audited choice.
    redact: bool = True
    redact_audio_mode: str = "tone"  # "tone" (quiet 1 kHz beep) or "silence"
    # Holds found in the audio (qa_scoring/transcribe/holds.py), seconds with no party speaking:
    # music this long is a hold (the shortest holds last 10-15 s; a tune under a pause is not one),
    # and so is silence on every channel this long (longer than anyone stays quiet while looking
    # something up mid-conversation). 0 turns that source off.
    audio_hold_min_music_s: float = 10.0
    audio_hold_min_silence_s: float = 20.0

    # Review UI (`qa-scoring serve --workers`): gunicorn worker processes; 0: one per CPU.
    web_workers: int = 0

    # Batch
    workers: int = 1
    # Threads per process of a Celery worker (`qa-scoring worker --threads`); 0: cores / concurrency.
    worker_threads: int = 0
    max_attempts: int = 3
    # A worker renews its job's lease every job_lease_s / 4 seconds while it works; a job whose lease
    # is older than job_lease_s lost its worker (a machine died) and is re-queued by the batch.
    job_lease_s: float = 120.0
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    # Recordings over these limits fail with a clear per-call error instead of stalling a worker.
    max_file_mb: float = 500.0
    max_duration_s: float = 4 * 3600.0

    # Review selection (qa_scoring/review/selection.py). A call is flagged for what a reviewer must
    # decide: a sure auto-fail, criteria left open by uncertain behaviours, a complaint, a scorecard
    # under review_low_score; plus a random sample of review_sample_rate of the other calls.
    # Uncertainty comes from the calibrated behaviour probabilities (needs_decision), so there is
    # no separate confidence threshold here.
    review_sample_rate: float = 0.1
    review_low_score: float = 60.0
    # At most this share of a batch's scored calls stays flagged; beyond it the lowest-priority calls
    # are unflagged (auto-fails and the random sample always stay; 1: no cap).
    review_max_share: float = 0.3
    # An agent with at least this many calls in a batch and none flagged gets one flagged (the
    # top-up); an agent with fewer is left to the random sample and later batches, so a small
    # batch (one call per agent) is not flagged whole.
    review_top_up_min_calls: int = 5
    # Call metrics: an unmarked silence this long (seconds) counts as a hold.
    hold_min_silence: float = 45.0
    # Customer outcomes (qa_scoring/outcomes.py): a call is resolved at first contact when the same
    # customer does not call again within this many days.
    fcr_window_days: int = 7

    # Web
    secret_key: str = ""  # empty: a random key kept in data_dir/.secret_key
    # Send the session cookie over HTTPS only; turn on when the UI is served behind TLS.
    session_cookie_secure: bool = False
    # Reverse proxies in front of the UI that set X-Forwarded-For/-Proto (0: none). The login
    # throttle counts failures per client address, which behind a proxy is only known from there.
    proxy_hops: int = 0
    # A signed-in session ends after this many minutes without a request.
    session_idle_minutes: float = 30.0
    # Login throttle: after login_max_failures failed attempts on one account (or
    # login_client_max_failures from one client address) within login_window_s, sign-in is refused
    # (429 with Retry-After) for login_lock_s seconds, doubling with each further failure (at most an
    # hour). A success or an admin unlock (`qa-scoring users unlock`, the users page) resets an account.
    login_max_failures: int = 5
    login_client_max_failures: int = 20
    login_window_s: float = 900.0
    login_lock_s: float = 30.0

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'qa-scoring.sqlite3'}"


def _coerce(name: str, raw: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(default, Path):
            return Path(raw).expanduser()
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name}: {raw!r} is not a valid {type(default).__name__}") from None
    return str(raw)


def load_settings(config_file: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    settings = Settings()
    defaults = {f.name: getattr(settings, f.name) for f in fields(Settings)}
    path = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if path is None and Path("qa-scoring.toml").is_file():
        path = "qa-scoring.toml"
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: configuration file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        for key, value in data.items():
            if key not in defaults:
                raise ConfigError(f"{path}: unknown setting {key!r}")
            setattr(settings, key, _coerce(f"{path}: {key}", value, defaults[key]))
    for name, default in defaults.items():
        env_name = ENV_PREFIX + name.upper()
        if env_name in environ:
            setattr(settings, name, _coerce(env_name, environ[env_name], default))
    _check_choices(settings)
    return settings


CHOICES = {
    "redact_audio_mode": ("tone", "silence"),
    "device": ("auto", "cpu", "cuda"),
    "asr_vad": ("faster-whisper", "telephone"),
    "asr_compute_type": ("auto", "int8", "int8_float32", "int8_float16", "float16", "float32"),
}


def _check_choices(settings: Settings) -> None:
    for name, allowed in CHOICES.items():
        if getattr(settings, name) not in allowed:
            raise ConfigError(f"{name}: {getattr(settings, name)!r} is not one of {', '.join(allowed)}")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()
