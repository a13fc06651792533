"""The device setting: a GPU where one is found, the CPU otherwise, and a clear error for a missing one."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from qa_scoring.config import ConfigError, get_settings, load_settings
from qa_scoring.transcribe.device import DeviceError, asr_compute_type, asr_device, cuda_devices, torch_device

NO_GPU = cuda_devices() == 0


def test_auto_uses_a_gpu_only_where_one_is_found(monkeypatch) -> None:
    import qa_scoring.transcribe.device as device

    monkeypatch.setattr(device, "cuda_devices", lambda: 0)  # the driver's answer, not our logic
    assert (asr_device("auto"), asr_device("cpu")) == ("cpu", "cpu")
    monkeypatch.setattr(device, "cuda_devices", lambda: 1)
    assert (asr_device("auto"), asr_device("cuda"), asr_device("cpu")) == ("cuda", "cuda", "cpu")
    assert torch_device("cpu") == "cpu"


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_says_so() -> None:
    with pytest.raises(DeviceError, match="sees no CUDA GPU"):
        asr_device("cuda")
    assert torch_device("cuda") == "cpu"  # the diariser falls back, with a warning in the log


def test_compute_type_auto_is_int8_on_cpu_and_float16_on_gpu() -> None:
    assert asr_compute_type("auto", "cpu") == "int8"
    assert asr_compute_type("auto", "cuda") == "float16"
    assert asr_compute_type("int8_float32", "cpu") == "int8_float32"


def test_bad_device_setting_names_the_setting() -> None:
    with pytest.raises(ConfigError, match="device: 'gpu' is not one of auto, cpu, cuda"):
        load_settings(environ={"QA_SCORING_DEVICE": "gpu"})
    with pytest.raises(ConfigError, match="asr_compute_type"):
        load_settings(environ={"QA_SCORING_ASR_COMPUTE_TYPE": "int4"})


@pytest.mark.skipif(not NO_GPU, reason="this machine has a CUDA GPU")
def test_transcribe_device_cuda_on_a_cpu_machine_fails_clearly(tmp_path: Path, monkeypatch) -> None:
    from qa_scoring.cli import main

    monkeypatch.setenv("QA_SCORING_DEVICE", "auto")  # restored after: the option sets it for the process
    wav = tmp_path / "x.wav"
    wav.write_bytes(b"")  # never read: the models fail to load first
    result = CliRunner().invoke(main, ["transcribe", "--device", "cuda", "--out", str(tmp_path), str(wav)])
    assert result.exit_code == 1
    assert "device = cuda, but CTranslate2 sees no CUDA GPU" in result.output
    get_settings.cache_clear()
