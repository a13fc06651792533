from __future__ import annotations

from pathlib import Path

import pytest

from qa_scoring.config import ConfigError, Settings, load_settings


def test_defaults_then_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "qa.toml"
    config.write_text('workers = 3\nchannel_roles = "agent,customer"\nredact = false\n', encoding="utf-8")
    settings = load_settings(config, environ={"QA_SCORING_WORKERS": "4"})
    assert settings.workers == 4  # the variable wins over the file
    assert settings.channel_roles == "agent,customer"
    assert settings.redact is False
    assert settings.num_speakers == Settings().num_speakers  # untouched default


def test_sqlite_in_data_dir_unless_a_database_url_is_given(tmp_path: Path) -> None:
    settings = load_settings(environ={"QA_SCORING_DATA_DIR": str(tmp_path)})
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'qa-scoring.sqlite3'}"
    url = "postgresql+psycopg://qa@db/qa"
    assert load_settings(environ={"QA_SCORING_DATABASE_URL": url}).resolved_database_url == url


@pytest.mark.parametrize(
    ("text", "message"),
    [("workers = 2\nspeed = 1\n", "unknown setting 'speed'"), ("workers = [", "qa.toml")],
)
def test_bad_file_names_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "qa.toml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(config, environ={})


def test_bad_variable_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="QA_SCORING_WORKERS"):
        load_settings(environ={"QA_SCORING_WORKERS": "many"})


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.toml", environ={})


def test_a_setting_with_choices_refuses_others() -> None:
    with pytest.raises(ConfigError, match="redact_audio_mode: 'beep' is not one of tone, silence"):
        load_settings(environ={"QA_SCORING_REDACT_AUDIO_MODE": "beep"})
    assert load_settings(environ={"QA_SCORING_REDACT_AUDIO_MODE": "silence"}).redact_audio_mode == "silence"


def test_decoding_settings_reach_the_recogniser() -> None:
    """The ASR decoding options are settings (the best ones depend on the model): they must be what
    faster-whisper is given, and a preset that does not exist is refused by name."""
    from qa_scoring.transcribe.asr import VAD_PRESETS, Recogniser

    with pytest.raises(ConfigError, match="asr_vad: 'phone' is not one of faster-whisper, telephone"):
        load_settings(environ={"QA_SCORING_ASR_VAD": "phone"})
    tiny_style = load_settings(
        environ={"QA_SCORING_ASR_VAD": "telephone", "QA_SCORING_ASR_CONDITION_ON_PREVIOUS_TEXT": "false"}
    )
    options = Recogniser(None, "m", "v", tiny_style, "cpu", "int8").transcribe_options()
    assert (
        options["vad_parameters"] == VAD_PRESETS["telephone"]
        and options["vad_parameters"]["threshold"] == 0.4
    )
    assert options["condition_on_previous_text"] is False
    default = Recogniser(None, "m", "v", load_settings(environ={}), "cpu", "int8").transcribe_options()
    assert default["vad_parameters"] == {} and default["condition_on_previous_text"] is True
