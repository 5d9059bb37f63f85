"""Turns rows into training windows and scores rows the way the Worker does (max over windows)."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

import hashing as H
from data import Row
from normalize import detection_text, prepare, role_of, scored


class Featurized:
    """Rows with their per-text features, kept so windows can be re-selected between rounds."""

    def __init__(self, rows: list[Row], char_bits: int, word_bits: int):
        self.rows = rows
        self.char_bits = char_bits
        self.word_bits = word_bits
        prefixes = [r.text[: e] for r in rows if "span" in r.meta for e in r.meta["span"][:2]]
        prepare([(r.text, role_of(r.kind)) for r in rows] + [(t, "tool-result") for t in prefixes])
        # Whether the Worker scores each row's text at all (train.py reports the others below every threshold).
        self.scored = np.array([scored(r.text) for r in rows])
        self.tf = [H.TextFeatures(detection_text(r.text), char_bits, word_bits) for r in rows]
        self.bounds = [t.windows() for t in self.tf]

    def matrix(self, pairs: list[tuple[int, int]]) -> sp.csr_matrix:
        """Rows of (row index, window index)."""
        items = []
        for i, j in pairs:
            a, b = self.bounds[i][j]
            items.append((self.tf[i], a, b))
        return H.featurize(items, self.char_bits, self.word_bits)

    def all_pairs(self) -> list[tuple[int, int]]:
        return [(i, j) for i in range(len(self.rows)) for j in range(len(self.bounds[i]))]

    def payload_windows(self, i: int) -> list[int]:
        """Windows of a synthesised row that hold its whole payload (or, failing that, most of it)."""
        row = self.rows[i]
        s, e = row.meta["span"]
        # Prepared-unit positions of the payload: the prepared length of the text before it, minus the pad.
        ps = H.preprocess(detection_text(row.text[:s])).size - 1
        pe = H.preprocess(detection_text(row.text[:e])).size - 1
        full = [j for j, (a, b) in enumerate(self.bounds[i]) if a <= ps and pe <= b]
        if full:
            return full
        overlap = [min(b, pe) - max(a, ps) for a, b in self.bounds[i]]
        return [int(np.argmax(overlap))]


def row_logits(feat: Featurized, w: np.ndarray, bias: float, batch: int = 4000) -> tuple[np.ndarray, list[np.ndarray]]:
    """Max-over-windows logit per row, and every window's logit."""
    pairs = feat.all_pairs()
    out = np.empty(len(pairs))
    for k in range(0, len(pairs), batch):
        X = feat.matrix(pairs[k : k + batch])
        out[k : k + batch] = X @ w + bias
    per_row: list[list[float]] = [[] for _ in feat.rows]
    for (i, _), v in zip(pairs, out):
        per_row[i].append(v)
    arrs = [np.array(v) for v in per_row]
    return np.array([a.max() for a in arrs]), arrs
