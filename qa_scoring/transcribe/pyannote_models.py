"""pyannote building blocks for our offline diarisation pipeline: a CAM++ embedding ``Model`` and a
``SpeakerDiarization`` that needs no PLDA.

The installed ``pyannote-diarisation`` folder's ``config.yaml`` names ``OfflineSpeakerDiarization`` below,
so ``pyannote.audio.Pipeline.from_pretrained(folder)`` builds it from local files only.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from qa_scoring.transcribe.pyannote_env import prepare

prepare()  # before anything imports pyannote / torchaudio

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchaudio.compliance.kaldi as kaldi  # noqa: E402
from pyannote.audio import Model  # noqa: E402
from pyannote.audio.core.plda import PLDA  # noqa: E402
from pyannote.audio.pipelines.speaker_diarization import SpeakerDiarization  # noqa: E402

from qa_scoring.transcribe.campplus import CAMPPlus  # noqa: E402

CAMPPLUS_WEIGHTS = "campplus_cn_en_common.pt"


class CAMPPlusEmbedding(Model):
    """CAM++ (3D-Speaker) wrapped as a pyannote embedding ``Model``: 16 kHz waveforms in, 192-d out.

    Features follow 3D-Speaker's recipe (80-bin Kaldi fbank, 25/10 ms, no dither, per-utterance mean
    normalisation) so the published weights see what they were trained on.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        num_channels: int = 1,
        num_mel_bins: int = 80,
        embedding_size: int = 192,
        task: Any = None,
    ) -> None:
        super().__init__(sample_rate=sample_rate, num_channels=num_channels, task=task)
        self.save_hyperparameters("sample_rate", "num_channels", "num_mel_bins", "embedding_size")
        self.campplus = CAMPPlus(feat_dim=num_mel_bins, embedding_size=embedding_size)
        self.share_frames = True  # see forward(); False only to measure the saving

    @classmethod
    def from_weights(cls, path: str | Path) -> CAMPPlusEmbedding:
        """Build from the plain state dict published by 3D-Speaker (``weights_only``: no pickled code)."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: CAM++ weights not found (run `qa-scoring models install`)")
        state = torch.load(path, map_location="cpu", weights_only=True)
        model = cls(embedding_size=int(state["xvector.dense.linear.weight"].shape[0]))
        model.campplus.load_reference_state_dict(state)
        model.eval()
        return model

    @property
    def dimension(self) -> int:
        return self.campplus.embedding_size

    def _fbank(self, waveforms: torch.Tensor) -> torch.Tensor:
        def one(wave: torch.Tensor) -> torch.Tensor:
            return kaldi.fbank(
                wave,
                num_mel_bins=self.hparams.num_mel_bins,
                sample_frequency=self.hparams.sample_rate,
                dither=0.0,
            )

        features = torch.vmap(one)(waveforms)  # (batch, frames, mel)
        return features - features.mean(dim=1, keepdim=True)

    def forward(self, waveforms: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """``waveforms``: (batch, 1, samples); ``weights``: optional (batch, frames) speaker activity.

        pyannote asks for one embedding per (chunk, local speaker) and repeats the chunk's waveform for
        each speaker, back to back, with different ``weights``. Only the pooling depends on the weights, so
        the network runs once per distinct waveform - about 3x less work for segmentation-3.0's three
        local speakers - and the frame features are reused for each weight track.
        """
        keep = [0]
        inverse = [0]
        for i in range(1, waveforms.shape[0]):
            if not self.share_frames or not torch.equal(waveforms[i], waveforms[keep[-1]]):
                keep.append(i)
            inverse.append(len(keep) - 1)
        frames = self.campplus.frames(self._fbank(waveforms[keep]))
        if len(keep) < waveforms.shape[0]:
            frames = frames[torch.tensor(inverse, device=frames.device)]
        return self.campplus.pool(frames, weights)

    def recording_frames(
        self, waveform: torch.Tensor, block_s: float = 10.0, margin_s: float = 1.0
    ) -> torch.Tensor:
        """CAM++ frame features (channels, frames at 50 Hz) of a whole recording ``waveform`` (1, samples).

        Computed once, in ``block_s`` blocks with ``margin_s`` of context on each side that is thrown away,
        so every frame sees about the same context as inside pyannote's 10 s chunks (the network's
        context-aware masking averages over its whole input) and memory stays flat on long calls. Fbank
        means are removed over a sliding 10 s window, as per-chunk normalisation would.
        """
        fbank = kaldi.fbank(
            waveform,
            num_mel_bins=self.hparams.num_mel_bins,
            sample_frequency=self.hparams.sample_rate,
            dither=0.0,
        )  # (frames at 100 Hz, mel)
        # sliding 10 s mean from a cumulative sum: O(frames), whatever the length of the call
        half = 500
        count = fbank.shape[0]
        csum = torch.cumsum(torch.nn.functional.pad(fbank.double(), (0, 0, 1, 0)), dim=0)
        index = torch.arange(count)
        lo, hi = (index - half).clamp(min=0), (index + half + 1).clamp(max=count)
        mean = (csum[hi] - csum[lo]) / (hi - lo).unsqueeze(1)
        features = (fbank - mean).float()
        block, margin = 2 * round(block_s * 50), 2 * round(margin_s * 50)  # even: the TDNN halves the rate
        outputs = []
        for start in range(0, features.shape[0], block):
            lo = max(0, start - margin)
            hi = min(features.shape[0], start + block + margin)
            frames = self.campplus.frames(features[lo:hi][None])[0]  # (channels, ceil((hi - lo) / 2))
            first = (start - lo) // 2
            outputs.append(frames[:, first : first + block // 2])
        return torch.cat(outputs, dim=1)

    def pool_frames(self, frames: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Embeddings (batch, speakers, dim) of frames (batch, channels, n), weights (batch, speakers, m)."""
        stats = self.campplus.stats(frames, weights=weights)  # (batch, speakers, 2 * channels)
        batch, speakers, dim = stats.shape
        return self.campplus.dense(stats.reshape(batch * speakers, dim)).reshape(batch, speakers, -1)


class _UnusedPLDA(PLDA):
    """Stands in for the PLDA that pyannote 4.0.7's ``SpeakerDiarization.__init__`` always loads.

    Only VBx clustering uses a PLDA, and the one pyannote publishes is trained on WeSpeaker embeddings,
    not CAM++; fetching it would also need the hub. Agglomerative clustering never calls it.
    """

    def __init__(self) -> None:  # no files to read
        pass

    def __call__(self, embeddings: Any) -> Any:
        raise RuntimeError("this diarisation pipeline has no PLDA: use AgglomerativeClustering")


def _embedding_model(embedding: Any) -> Model:
    if isinstance(embedding, Model):
        return embedding
    if isinstance(embedding, dict):  # "$model/embedding" expanded by Pipeline.from_pretrained
        folder = Path(embedding["checkpoint"]) / (embedding.get("subfolder") or "")
    else:
        folder = Path(embedding)
    return CAMPPlusEmbedding.from_weights(folder if folder.is_file() else folder / CAMPPLUS_WEIGHTS)


class OfflineSpeakerDiarization(SpeakerDiarization):
    """pyannote's ``SpeakerDiarization`` with a CAM++ embedding and no PLDA, loadable with no network."""

    def __init__(
        self,
        segmentation: Any,
        embedding: Any,
        clustering: str = "AgglomerativeClustering",
        plda: Any = None,
        segmentation_step: float = 0.1,
        embedding_exclude_overlap: bool = True,
        embedding_batch_size: int = 32,
        segmentation_batch_size: int = 32,
        embedding_context: str = "recording",
        der_variant: dict | None = None,
        token: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
        if embedding_context not in ("recording", "chunk"):
            raise ValueError(f"embedding_context must be 'recording' or 'chunk', not {embedding_context!r}")
        self.embedding_context = embedding_context
        if plda is None and clustering == "VBxClustering":
            raise ValueError("VBxClustering needs a PLDA; this offline pipeline uses AgglomerativeClustering")
        super().__init__(
            segmentation=segmentation,
            segmentation_step=segmentation_step,
            embedding=_embedding_model(embedding),
            embedding_exclude_overlap=embedding_exclude_overlap,
            plda=_UnusedPLDA() if plda is None else plda,
            clustering=clustering,
            embedding_batch_size=embedding_batch_size,
            segmentation_batch_size=segmentation_batch_size,
            der_variant=der_variant,
            token=token,
            cache_dir=cache_dir,
        )
        # pyannote finds the shortest input the embedding model accepts by trial and error on random
        # audio (seconds of CPU at every load). For Kaldi fbank it is one 25 ms frame: 400 samples at 16 kHz.
        self._embedding.__dict__["min_num_samples"] = int(0.025 * self._embedding.sample_rate)

    def get_embeddings(
        self,
        file: Any,
        binary_segmentations: Any,
        exclude_overlap: bool = False,
        hook: Any = None,
    ) -> np.ndarray:
        """One embedding per (chunk, local speaker), as pyannote's, but from CAM++ frames computed once.

        pyannote embeds each 10 s chunk separately; with chunks every ``segmentation_step`` x 10 s (1 s by
        default) every second of audio goes through the network ten times. With ``embedding_context:
        recording`` the network runs once over the recording (``CAMPPlusEmbedding.recording_frames``) and
        each chunk's speakers are pooled from the frames under that chunk, with the same masks pyannote
        would use. ``chunk`` keeps pyannote's own method.
        """
        model = self._embedding.model_
        if self.embedding_context == "chunk" or not isinstance(model, CAMPPlusEmbedding):
            return super().get_embeddings(
                file, binary_segmentations, exclude_overlap=exclude_overlap, hook=hook
            )
        if self.training and "embeddings" in file.get("training_cache/embeddings", {}):
            return file["training_cache/embeddings"]["embeddings"]

        window = binary_segmentations.sliding_window
        num_chunks, num_frames, num_speakers = binary_segmentations.data.shape
        masks = np.nan_to_num(binary_segmentations.data, nan=0.0).astype(np.float32)
        if exclude_overlap:
            # same rule as pyannote: drop overlapped frames unless too little clean speech would remain
            min_frames = math.ceil(num_frames * self._embedding.min_num_samples / (window.duration * 16000))
            clean = masks * (masks.sum(axis=2, keepdims=True) < 2)
            use_clean = clean.sum(axis=1, keepdims=True) > min_frames
            masks = np.where(use_clean, clean, masks)

        waveform, _ = self._audio(file)
        with torch.inference_mode():
            frames = model.recording_frames(waveform.float())
            rate = 50.0  # CAM++ frames per second
            per_chunk = int(round(window.duration * rate))
            embeddings = np.zeros((num_chunks, num_speakers, model.dimension), dtype=np.float32)
            if hook is not None:
                hook("embeddings", None, total=1, completed=0)
            for lo in range(0, num_chunks, 64):
                hi = min(num_chunks, lo + 64)
                batch_frames, batch_weights = [], []
                for c in range(lo, hi):
                    first = int(round(window[c].start * rate))
                    chunk = frames[:, first : first + per_chunk]
                    weights = torch.from_numpy(masks[c].T)  # (speakers, num_frames)
                    if chunk.shape[1] < per_chunk:  # recording ends inside this chunk: keep what is there
                        keep = max(1, round(num_frames * chunk.shape[1] / per_chunk))
                        weights = weights[:, :keep]
                    batch_frames.append(chunk)
                    batch_weights.append(weights)
                if (
                    len({f.shape[1] for f in batch_frames}) > 1
                    or len({w.shape[1] for w in batch_weights}) > 1
                ):
                    pooled = [
                        model.pool_frames(f[None], w[None])[0]
                        for f, w in zip(batch_frames, batch_weights, strict=True)
                    ]
                    embeddings[lo:hi] = torch.stack(pooled).numpy()
                else:
                    embeddings[lo:hi] = model.pool_frames(
                        torch.stack(batch_frames), torch.stack(batch_weights)
                    ).numpy()
            if hook is not None:
                hook("embeddings", embeddings, total=1, completed=1)
        if self.training:
            file["training_cache/embeddings"] = {"embeddings": embeddings}
        return embeddings
