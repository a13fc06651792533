"""Static sentence embeddings distilled from all-MiniLM-L6-v2 (model2vec-style).

Why: running the six-layer transformer over every turn of a call costs about a second on a small
CPU, twenty times the scoring budget. Instead, at training time every word piece of MiniLM's
vocabulary is passed through the model once, on its own, and the pooled output is kept as a row of
a table. A turn's embedding is then a weighted mean of the rows of its word pieces: microseconds.
It loses word order and context, but the behaviour cues are mostly lexical and the classifiers also
see word n-grams and rules; measured on the dev calls it did as well as the contextual model.

Rare word pieces carry more meaning than frequent ones. BERT's vocabulary is roughly ordered by
frequency, so the weight of a piece grows with the log of its id (the Zipf assumption model2vec
uses), with no corpus statistics needed.

The table depends only on the MiniLM weights, so it is cached on disk keyed by their hash and
copied into the behaviours model folder, which then needs nothing else at scoring time.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

TABLE_FILE = "static_table.npy"
TOKENIZER_FILE = "tokenizer.json"
_BATCH = 1024
_CACHE_WORDS = 200_000
_CACHE_VECTORS = 20_000  # 384 float32 each: 30 MB at most


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def distil_table(folder: Path | None = None) -> np.ndarray:
    """One pooled MiniLM output per vocabulary entry ("[CLS] piece [SEP]"), float16, L2-normalised."""
    import torch

    from qa_scoring.behaviours.embed import Embedder

    embedder = Embedder(folder, quantize=False)
    cls_id = embedder.tokenizer.token_to_id("[CLS]")
    sep_id = embedder.tokenizer.token_to_id("[SEP]")
    n = embedder.tokenizer.get_vocab_size()
    out = np.zeros((n, embedder.dim), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, n, _BATCH):
            piece = torch.arange(start, min(n, start + _BATCH))
            ids = torch.stack([torch.full_like(piece, cls_id), piece, torch.full_like(piece, sep_id)], 1)
            out[start : start + len(piece)] = embedder.model(ids, torch.ones_like(ids)).numpy()
    return out.astype(np.float16)


def cached_table(cache_dir: Path, folder: Path | None = None) -> tuple[np.ndarray, Path]:
    """The distilled table for the installed MiniLM, built once and cached under ``cache_dir``.

    Returns the table and the tokenizer file it goes with.
    """
    from qa_scoring.behaviours.embed import model_dir

    folder = Path(folder) if folder else model_dir()
    key = _file_digest(folder / "model.safetensors")
    path = cache_dir / f"static-{key}.npy"
    if path.is_file():
        return np.load(path), folder / TOKENIZER_FILE
    table = distil_table(folder)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, table)
    tmp.replace(path)  # atomic: a parallel trainer never reads half a table
    return table, folder / TOKENIZER_FILE


class StaticEmbedder:
    """Sentence vectors as Zipf-weighted means of distilled word-piece rows."""

    def __init__(self, table: np.ndarray, tokenizer_file: Path) -> None:
        self.table = np.asarray(table, dtype=np.float32)
        self.dim = self.table.shape[1]
        self.tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.tokenizer_file = Path(tokenizer_file)
        self._cache: dict[str, list[int]] = {}
        self._vectors: dict[str, np.ndarray] = {}
        self._special = {
            i for i in (self.tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")) if i is not None
        }

    @classmethod
    def load(cls, folder: Path) -> StaticEmbedder:
        return cls(np.load(folder / TABLE_FILE), folder / TOKENIZER_FILE)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / TABLE_FILE, self.table.astype(np.float16))
        (folder / TOKENIZER_FILE).write_bytes(self.tokenizer_file.read_bytes())

    def _word_ids(self, words: list[str]) -> list[list[int]]:
        """Word pieces per word, memoised: the tokenizer call dominated, and calls reuse few words.

        Word by word is the same as the whole turn at once, because BERT's tokenizer splits on
        whitespace before it cuts words into pieces."""
        new = [w for w in set(words) if w not in self._cache]
        if new:
            if len(self._cache) > _CACHE_WORDS:
                self._cache.clear()
            for w, enc in zip(new, self.tokenizer.encode_batch(new, add_special_tokens=False), strict=True):
                self._cache[w] = [t for t in enc.ids if t not in self._special]
        return [self._cache[w] for w in words]

    def warm(self, words: list[str]) -> None:
        """Tokenise these words now (at load time) so the first calls scored do not pay for them."""
        self._word_ids([w for w in words if " " not in w])

    def word_vectors(self, words: list[str]) -> np.ndarray:
        """One row per word, memoised: a call's words are matched against every custom criterion's
        examples, and calls reuse few words, so each word is pooled once."""
        new = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if new:
            if len(self._vectors) > _CACHE_VECTORS:
                self._vectors.clear()
            self._vectors.update(zip(new, self.encode(new), strict=True))
        return np.stack([self._vectors[w] for w in words]) if words else np.zeros((0, self.dim), np.float32)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised vectors, one row per text; an empty text gives a zero row."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            ids = [p for w in self._word_ids(t.split()) for p in w]
            if not ids:
                continue
            weights = np.log1p(np.asarray(ids, dtype=np.float32))
            v = weights @ self.table[ids]
            out[i] = v / max(1e-9, float(np.linalg.norm(v)))
        return out
