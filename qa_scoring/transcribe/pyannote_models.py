"""pyannote building blocks for our offline diarisation pipeline: a CAM++ embedding ``Model`` and a
``SpeakerDiarization`` that needs no PLDA.

The installed ``pyannote-diarisation`` folder's ``config.yaml`` names ``OfflineSpeakerDiarization`` below,
so ``pyannote.audio.Pipeline.from_pretrained(folder)`` builds it from local files only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qa_scoring.transcribe.pyannote_env import prepare

prepare()  # before anything imports pyannote / torchaudio

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
        der_variant: dict | None = None,
        token: str | None = None,
        cache_dir: str | Path | None = None,
    ) -> None:
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
