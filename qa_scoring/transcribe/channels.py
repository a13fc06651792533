"""Diarisation by channel for stereo calls with one party per channel, with cross-talk bleed rejected.

On a two-channel recording the channel *is* the speaker, which is more reliable than any
clustering, but each line usually picks up the other party faintly (bleed, echo). Whisper would
transcribe that bleed a second time under the wrong speaker, so:

1. :func:`channel_masks` marks, per channel, the frames where that channel has speech of its own:
   loud relative to its own noise floor and not far below the other channel once both are
   normalised to their own speech level (bleed is typically 20-30 dB down).
2. The ASR runs on each channel with the other frames zeroed (:func:`apply_mask`), so the
   decoder spends time only on the speech it will keep - total work stays close to one mono pass.
3. :func:`keep_dominant_words` re-checks every recognised word against the same energy test,
   catching bleed that slipped in through the padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, binary_dilation, binary_opening

from qa_scoring.transcribe.audio import SAMPLE_RATE, frame_levels_db
from qa_scoring.transcript import Word

FRAME_S = 0.02
CHANNEL_LABELS = ("left", "right")


@dataclass
class ChannelLevels:
    """Frame levels of each channel, normalised to that channel's own speech level (0 dB = loud speech)."""

    normalised: list[np.ndarray]
    active: list[np.ndarray]

    @classmethod
    def measure(cls, channels: Sequence[np.ndarray], dynamic_range_db: float = 35.0) -> ChannelLevels:
        normalised, active = [], []
        for ch in channels:
            levels = frame_levels_db(ch, FRAME_S)
            loud = float(np.percentile(levels, 95)) if len(levels) else 0.0
            floor = float(np.percentile(levels, 10)) if len(levels) else 0.0
            threshold = max(floor + 10.0, loud - dynamic_range_db)
            normalised.append(levels - loud)
            active.append(levels > threshold)
        return cls(normalised, active)

    def dominant(self, channel: int, bleed_margin_db: float) -> np.ndarray:
        """Frames where ``channel`` is active and not merely a faint copy of the other channel."""
        other = 1 - channel
        n = min(len(self.normalised[0]), len(self.normalised[1]))
        own = self.normalised[channel][:n]
        theirs = self.normalised[other][:n]
        bleed = self.active[other][:n] & (own < theirs - bleed_margin_db)
        return self.active[channel][:n] & ~bleed


def channel_masks(
    channels: Sequence[np.ndarray], bleed_margin_db: float = 12.0, pad_s: float = 0.3
) -> tuple[ChannelLevels, list[np.ndarray]]:
    """Per-channel frame masks of own speech, smoothed and padded so word edges survive."""
    levels = ChannelLevels.measure(channels)
    masks = []
    for c in range(2):
        mask = levels.dominant(c, bleed_margin_db)
        mask = binary_opening(mask, structure=np.ones(3, dtype=bool))  # drop 20-40 ms clicks
        mask = binary_closing(mask, structure=np.ones(int(0.5 / FRAME_S), dtype=bool))  # bridge short gaps
        mask = binary_dilation(mask, structure=np.ones(2 * int(pad_s / FRAME_S) + 1, dtype=bool))
        masks.append(mask)
    return levels, masks


def apply_mask(signal: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The signal with unmasked frames zeroed, so the VAD and decoder skip them."""
    hop = int(SAMPLE_RATE * FRAME_S)
    samples = np.repeat(mask, hop)
    if len(samples) < len(signal):
        samples = np.concatenate([samples, np.zeros(len(signal) - len(samples), dtype=bool)])
    return np.where(samples[: len(signal)], signal, 0.0).astype(np.float32)


def keep_dominant_words(
    words: Sequence[Word], channel: int, levels: ChannelLevels, bleed_margin_db: float = 12.0
) -> list[Word]:
    """Words whose energy on ``channel`` is its own speech, not bleed of the other party.

    Compared as mean power over the word, normalised per channel: in genuine overtalk both
    parties are near their own speech level; bleed sits far below the source channel.
    """
    other = 1 - channel
    kept = []
    for w in words:
        a = int(w.start / FRAME_S)
        b = max(a + 1, int(np.ceil(w.end / FRAME_S)))
        own = _mean_db(levels.normalised[channel][a:b])
        theirs = _mean_db(levels.normalised[other][a:b])
        other_active = bool(levels.active[other][a:b].any())
        if other_active and own < theirs - bleed_margin_db:
            continue
        kept.append(w)
    return kept


def _mean_db(levels: np.ndarray) -> float:
    if len(levels) == 0:
        return -140.0
    return float(10 * np.log10(np.mean(10 ** (levels.astype(np.float64) / 10))))
