"""Clip cutting from the real recording, the clip library, playback and download."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from webhelp import login, post_clip

from web.clipcut import ClipError, cut_wav


def _decode(path: Path) -> tuple[np.ndarray, int]:
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        rate = stream.codec_context.sample_rate
        layout = "stereo" if stream.codec_context.channels >= 2 else "mono"
        res = av.AudioResampler(format="s16", layout=layout, rate=rate)
        chunks = [
            f.to_ndarray().reshape(-1, 2 if layout == "stereo" else 1)
            for frame in c.decode(stream)
            for f in res.resample(frame)
        ]
    return np.concatenate(chunks), rate


def test_cut_matches_the_source_samples(tmp_path, web_seed):
    full, rate = _decode(web_seed.audio)
    out = tmp_path / "clip.wav"
    seconds = cut_wav(web_seed.audio, 5.0, 8.5, out)
    clip, clip_rate = _decode(out)
    assert clip_rate == rate and abs(seconds - 3.5) < 1e-6 and len(clip) == int(3.5 * rate)
    # Lossy sources decode with a codec delay of a few ms at most; find the best alignment near 5 s.
    target = full[int(5.0 * rate) - 200 : int(5.0 * rate) + 200 + len(clip)].astype(np.int64)
    errors = [np.abs(target[o : o + len(clip)] - clip).mean() for o in range(0, 401)]
    assert min(errors) < 2.0, f"clip does not match the source (best mean abs error {min(errors):.1f})"
    assert abs(int(np.argmin(errors)) - 200) <= int(0.02 * rate)


def test_cut_refuses_bad_ranges(tmp_path, web_seed):
    with pytest.raises(ClipError, match="empty"):
        cut_wav(web_seed.audio, 4.0, 4.0, tmp_path / "x.wav")
    with pytest.raises(ClipError, match="beyond the end"):
        cut_wav(web_seed.audio, 5000.0, 5001.0, tmp_path / "x.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(ClipError, match=str(bad)):
        cut_wav(bad, 0.0, 1.0, tmp_path / "x.wav")


def test_make_clip_from_evidence_range_then_play_and_download(client, app, web_seed):
    login(client, "leader")
    resp = post_clip(
        client,
        web_seed.timed_call,
        "13.4",
        "21.5",
        padding="1",
        criterion="default/greeting",
        note="good ID check",
    )
    assert resp.status_code == 302
    clip_url = resp.headers["Location"]
    page = client.get(clip_url).get_data(as_text=True)
    assert "good ID check" in page and "default/greeting" in page
    assert "Agent:" in page  # the transcript excerpt
    clip_id = int(clip_url.rstrip("/").split("/")[-1])
    audio = client.get(f"/clips/{clip_id}/audio")
    assert audio.status_code == 200 and audio.mimetype == "audio/wav" and audio.data[:4] == b"RIFF"
    ranged = client.get(f"/clips/{clip_id}/audio", headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.data) == 100
    download = client.get(f"/clips/{clip_id}/audio?download=1")
    assert "attachment" in download.headers["Content-Disposition"]
    from qa_scoring.store.models import Clip
    from web.db import get_db

    with app.app_context():
        clip = get_db().get(Clip, clip_id)
        assert (clip.start, clip.end) == (12.4, 22.5)
        assert clip.agent_id == web_seed.agent1
        assert Path(clip.audio_path).parent == Path(app.config["CLIPS_DIR"])
    library = client.get(f"/clips/?agent={web_seed.agent1}&criterion=default/greeting").get_data(as_text=True)
    assert f'id="clip-{clip_id}"' in library
    other = client.get(f"/clips/?agent={web_seed.agent2}").get_data(as_text=True)
    assert f'id="clip-{clip_id}"' not in other


def test_clip_uses_the_redacted_audio_when_there_is_one(client, app, web_seed, tmp_path):
    from qa_scoring.store.models import Call, Clip
    from web.db import get_db

    redacted = tmp_path / "redacted.wav"
    cut_wav(web_seed.audio, 0.0, 30.0, redacted)  # a real, different file standing in for the redacted copy
    with app.app_context():
        db = get_db()
        db.get(Call, web_seed.timed_call).redacted_audio_path = str(redacted)
        db.commit()
    login(client, "qa")
    assert client.get(f"/calls/{web_seed.timed_call}/audio").data == redacted.read_bytes()
    resp = post_clip(client, web_seed.timed_call, "1", "2")
    assert resp.status_code == 302
    from sqlalchemy import select

    from qa_scoring.store.models import AuditEntry

    with app.app_context():
        entry = get_db().scalar(select(AuditEntry).where(AuditEntry.entity == "clips"))
        assert entry.new_value["source"] == "redacted"
        assert get_db().scalar(select(Clip)).end == 2.0


def test_agents_cannot_cut_clips(client, web_seed):
    login(client, "agent")
    resp = post_clip(client, web_seed.timed_call, "1", "2")
    assert resp.status_code == 403
