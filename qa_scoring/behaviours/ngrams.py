"""Word n-gram TF-IDF of a turn, fitted on the training turns and stored as plain JSON + an array.

Why: many behaviours hinge on a few words ("waived", "refund", "so you're saying", "not my job")
that a sparse linear model picks up directly and reliably from few examples, where a dense sentence
vector blurs them. Written here (a few lines) rather than pickling scikit-learn's vectoriser, so a
model folder holds data only and loading it runs no code.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import scipy.sparse as sp

MAX_N = 2
MIN_DF = 2


def grams(canonical: str) -> list[str]:
    words = canonical.split()
    out = list(words)
    for n in range(2, MAX_N + 1):
        out += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    return out


class NgramVocabulary:
    def __init__(self, terms: list[str], idf: np.ndarray) -> None:
        self.terms = list(terms)
        self.index = {t: i for i, t in enumerate(self.terms)}
        self.idf = np.asarray(idf, dtype=np.float32)

    @classmethod
    def fit(cls, texts: list[str]) -> NgramVocabulary:
        """Terms seen in at least MIN_DF turns, with smoothed inverse document frequency."""
        df = Counter(g for t in texts for g in set(grams(t)))
        terms = sorted(g for g, k in df.items() if k >= MIN_DF)
        n = len(texts)
        idf = np.array([math.log((1 + n) / (1 + df[g])) + 1.0 for g in terms], dtype=np.float32)
        return cls(terms, idf)

    def __len__(self) -> int:
        return len(self.terms)

    def transform(self, texts: list[str]) -> sp.csr_matrix:
        """Sublinear tf * idf, L2-normalised per turn."""
        rows, cols, vals = [], [], []
        for r, t in enumerate(texts):
            counts = Counter(self.index[g] for g in grams(t) if g in self.index)
            if not counts:
                continue
            idx = np.fromiter(counts, dtype=np.int64)
            v = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32))) * self.idf[idx]
            v /= max(1e-9, float(np.linalg.norm(v)))
            rows += [r] * len(idx)
            cols += idx.tolist()
            vals += v.tolist()
        return sp.csr_matrix((vals, (rows, cols)), shape=(len(texts), len(self.terms)), dtype=np.float32)
