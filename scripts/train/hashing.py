"""Feature hashing for the injection classifier: the Python twin of src/detectors/classifier/features.ts.

Both sides MUST produce identical features for identical input. The specification (also in
rules/classifier/MODEL_CARD.md):

1. Lower-case the string (Python ``str.lower`` / JS ``String.prototype.toLowerCase``: both apply the
   Unicode full lower-case mapping).
2. Work on UTF-16 code units (what a JS string is). Map ASCII digits to ``0``; map control
   characters and Unicode spaces to a space; collapse runs of spaces; pad with one space at each end.
3. Windows of ``WINDOW`` units every ``STRIDE`` units over that sequence (one window when it is short).
4. Two blocks of hashed features, each with a position (its first unit; for a bigram, the start of its
   second word); a window holds the features whose position lies inside it:
   - characters: every 3- and 5-gram of code units;
   - words: maximal runs of word units (ASCII letters, ``0``, ``_``, and any unit >= 0x80 outside a few
     punctuation ranges), first ``MAX_WORD`` units hashed; unigrams and bigrams.
   Hashes are FNV-1a 32-bit over UTF-16 code units (one unit per step), a pair combiner for word
   n-grams, then a murmur-style finaliser whose low bits choose the bucket and whose top bit the sign.
5. Each bucket holds the signed count; value = sign(v) * sqrt(|v|); each block is L2-normalised.
6. logit = bias + w_char . x_char + w_word . x_word.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

FNV_PRIME = np.uint32(0x01000193)
CHAR_SEED = 0x811C9DC5
WORD_SEED = 0x050C5D1F
PAIR_SALT = np.uint32(0x2F)
MIX = np.uint32(0x85EBCA6B)

CHAR_N = (3, 5)
WORD_N = 2  # unigrams and bigrams
MAX_WORD = 32
WINDOW = 160
STRIDE = 64

U32 = np.uint32


def spec() -> dict:
    return {
        "lowercase": "unicode-full",
        "units": "utf16",
        "charN": list(CHAR_N),
        "wordN": WORD_N,
        "maxWord": MAX_WORD,
        "window": WINDOW,
        "stride": STRIDE,
        "hash": "fnv1a32-utf16+pair+fmix",
        "value": "signed-count-sqrt-l2-per-block",
    }


# ---------------------------------------------------------------------------------------------------
# Preprocessing


def _space_mask(u: np.ndarray) -> np.ndarray:
    return (
        (u < 0x21)
        | (u == 0x7F)
        | (u == 0x85)
        | (u == 0xA0)
        | (u == 0x1680)
        | ((u >= 0x2000) & (u <= 0x200A))
        | (u == 0x2028)
        | (u == 0x2029)
        | (u == 0x202F)
        | (u == 0x205F)
        | (u == 0x3000)
    )


def preprocess(text: str) -> np.ndarray:
    """Lower-case, UTF-16 units, digits to 0, spaces folded, padded. Returns a uint16 array."""
    low = text.lower()
    # surrogatepass keeps lone surrogates (JS strings may hold them) as their own units.
    u = np.frombuffer(low.encode("utf-16-le", "surrogatepass"), dtype="<u2").astype(np.uint16)
    if u.size:
        digits = (u >= 0x30) & (u <= 0x39)
        u = u.copy()
        u[digits] = 0x30
        sp_mask = _space_mask(u)
        u[sp_mask] = 0x20
        keep = np.ones(u.size, dtype=bool)
        keep[1:] = ~(sp_mask[1:] & sp_mask[:-1])
        u = u[keep]
    out = np.empty(u.size + 2, dtype=np.uint16)
    out[0] = 0x20
    out[1 : 1 + u.size] = u
    out[-1] = 0x20
    # Drop the doubled space when the text itself started or ended with one.
    start = 1 if u.size and u[0] == 0x20 else 0
    end = out.size - 1 if u.size and u[-1] == 0x20 else out.size
    if u.size == 0:
        return out[:1]
    return out[start:end]


def windows(n: int) -> list[tuple[int, int]]:
    """Window bounds over a preprocessed sequence of n units (same rule as features.ts)."""
    if n <= WINDOW:
        return [(0, n)]
    out = []
    s = 0
    while s + WINDOW < n:
        out.append((s, s + WINDOW))
        s += STRIDE
    out.append((n - WINDOW, n))
    return out


# ---------------------------------------------------------------------------------------------------
# Hashing


def _fmix(h: np.ndarray) -> np.ndarray:
    x = h ^ (h >> U32(16))
    x = x * MIX
    x = x ^ (x >> U32(13))
    return x


def _pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    h = (a ^ PAIR_SALT) * FNV_PRIME
    h = (h ^ (b & U32(0xFFFF))) * FNV_PRIME
    h = (h ^ (b >> U32(16))) * FNV_PRIME
    return h


def _word_mask(u: np.ndarray) -> np.ndarray:
    ascii_word = ((u >= 0x61) & (u <= 0x7A)) | (u == 0x30) | (u == 0x5F)
    hi = u >= 0x80
    punct = (
        ((u >= 0xA0) & (u <= 0xBF))
        | (u == 0xD7)
        | (u == 0xF7)
        | ((u >= 0x2000) & (u <= 0x206F))
        | ((u >= 0x2190) & (u <= 0x2BFF))
        | ((u >= 0x3000) & (u <= 0x303F))
        | ((u >= 0xFE30) & (u <= 0xFE4F))
        | ((u >= 0xFF01) & (u <= 0xFF0F))
        | ((u >= 0xFF1A) & (u <= 0xFF20))
        | ((u >= 0xFF3B) & (u <= 0xFF40))
        | ((u >= 0xFF5B) & (u <= 0xFF65))
    )
    return ascii_word | (hi & ~punct)


def char_features(u16: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw FNV-1a hashes of every 3/4/5-gram of the prepared sequence and their start positions."""
    n = u16.size
    u = u16.astype(np.uint32)
    hs, ps = [], []
    h = np.full(n, CHAR_SEED, dtype=np.uint32)
    for k in range(max(CHAR_N)):
        m = n - k
        if m <= 0:
            break
        h = (h[:m] ^ u[k : k + m]) * FNV_PRIME
        if (k + 1) in CHAR_N:
            hs.append(h.copy())
            ps.append(np.arange(m, dtype=np.int64))
    if not hs:
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
    return np.concatenate(hs), np.concatenate(ps)


def word_features(u16: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw hashes of word unigrams and bigrams and their positions (the start of the last word)."""
    mask = _word_mask(u16)
    if not mask.any():
        return np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.int64)
    m = mask.astype(np.int8)
    d = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    lens = np.minimum(ends - starts, MAX_WORD)
    u = u16.astype(np.uint32)
    h = np.full(starts.size, WORD_SEED, dtype=np.uint32)
    for k in range(int(lens.max())):
        idx = np.flatnonzero(lens > k)
        h[idx] = (h[idx] ^ u[starts[idx] + k]) * FNV_PRIME
    hs, ps = [h], [starts.astype(np.int64)]
    if WORD_N >= 2 and h.size > 1:
        hs.append(_pair(h[:-1], h[1:]))
        ps.append(starts[1:].astype(np.int64))
    return np.concatenate(hs), np.concatenate(ps)


def buckets(h: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    x = _fmix(h)
    idx = (x & U32((1 << bits) - 1)).astype(np.int64)
    sign = np.where((x >> U32(31)) == 1, -1.0, 1.0)
    return idx, sign


class TextFeatures:
    """All hashed features of one text with their positions; windows select by position."""

    def __init__(self, text: str, char_bits: int, word_bits: int):
        self.units = preprocess(text)
        self.n = int(self.units.size)
        h, self.cpos = char_features(self.units)
        self.cidx, self.csign = buckets(h, char_bits)
        h, self.wpos = word_features(self.units)
        self.widx, self.wsign = buckets(h, word_bits)

    def windows(self) -> list[tuple[int, int]]:
        return windows(self.n)

    def select(self, a: int, b: int):
        cm = (self.cpos >= a) & (self.cpos < b)
        wm = (self.wpos >= a) & (self.wpos < b)
        return self.cidx[cm], self.csign[cm], self.widx[wm], self.wsign[wm]


# ---------------------------------------------------------------------------------------------------
# Matrices


def _block_matrix(rows_idx: list[np.ndarray], rows_sign: list[np.ndarray], bits: int) -> sp.csr_matrix:
    indptr = np.zeros(len(rows_idx) + 1, dtype=np.int64)
    for i, r in enumerate(rows_idx):
        indptr[i + 1] = indptr[i] + r.size
    indices = np.concatenate(rows_idx) if rows_idx else np.zeros(0, dtype=np.int64)
    data = np.concatenate(rows_sign) if rows_sign else np.zeros(0)
    m = sp.csr_matrix((data, indices, indptr), shape=(len(rows_idx), 1 << bits))
    m.sum_duplicates()
    m.data = np.sign(m.data) * np.sqrt(np.abs(m.data))
    m.eliminate_zeros()
    sq = np.asarray(m.multiply(m).sum(axis=1)).ravel()
    norm = np.sqrt(sq)
    norm[norm == 0] = 1.0
    m = sp.diags(1.0 / norm) @ m
    return m.tocsr()


def featurize(items: list[tuple["TextFeatures", int, int]], char_bits: int, word_bits: int) -> sp.csr_matrix:
    """Sparse matrix [char block | word block], one row per (text features, window start, window end)."""
    ci, cs, wi, ws = [], [], [], []
    for tf, a, b in items:
        c_i, c_s, w_i, w_s = tf.select(a, b)
        ci.append(c_i)
        cs.append(c_s)
        wi.append(w_i)
        ws.append(w_s)
    return sp.hstack([_block_matrix(ci, cs, char_bits), _block_matrix(wi, ws, word_bits)]).tocsr()


def text_items(text: str, char_bits: int, word_bits: int) -> list[tuple["TextFeatures", int, int]]:
    tf = TextFeatures(text, char_bits, word_bits)
    return [(tf, a, b) for a, b in tf.windows()]
