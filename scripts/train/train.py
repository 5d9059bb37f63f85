"""Trains the in-Worker injection classifier and writes rules/classifier/{model.json, metrics.json,
parity-fixtures.json, MODEL_CARD.md}.

    /usr/bin/python3 scripts/train/train.py            # from the repository root (npm run train)

Deterministic: a fixed seed for augmentation and for the learner; the same data gives the same weights.
Data is read from ../shared/data (override with MCPFW_DATA). Held-out evaluation files for
`npm run eval` are written to .eval/classifier/ (git-ignored: data never enters the repository).
"""
from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repository
import time

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(__file__))

import data as D  # noqa: E402
import export as E  # noqa: E402
import hashing as H  # noqa: E402
import synth as S  # noqa: E402
from windows import Featurized, row_logits  # noqa: E402

SEED = 20260821
# The logit reported for a text the Worker does not score: below every threshold and calibration knot.
SKIPPED = -1e3
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Total training weight per block; within a block each family gets weight ∝ sqrt(its size).
BLOCK_TARGET = {
    ("neg", "tool"): 1.5,
    ("neg", "tool_note"): 0.6,
    ("neg", "doc_lookalike"): 0.2,
    ("neg", "document"): 1.5,
    ("neg", "prompt"): 1.5,
    ("pos", "real"): 2.0,
    ("pos", "tool"): 1.6,
    ("pos", "document"): 1.5,
    ("pos", "direct"): 0.8,
}


def log(*a):
    print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)


def block_of(r: D.Row) -> tuple[str, str]:
    if r.label == 0:
        if r.source == "synthetic_benign_note_tool":
            return ("neg", "tool_note")
        if r.source == "synthetic_benign_document":
            return ("neg", "doc_lookalike")
        if r.source == "mcp_tool_descriptions":
            return ("neg", "tool")
        if r.source in ("benign_documents", "bipia_context"):
            return ("neg", "document")
        return ("neg", "prompt")
    if r.source == "synthetic_poisoned_tool":
        return ("pos", "tool")
    if r.source == "synthetic_injected_document":
        return ("pos", "document")
    if r.source == "synthetic_direct":
        return ("pos", "direct")
    return ("pos", "real")


def build(rng: random.Random, n_synth: dict) -> list[D.Row]:
    rows = D.load_all()
    attacks = D.bipia_attacks()
    for split in ("train", "heldout"):
        tools = [r for r in rows if r.source == "mcp_tool_descriptions" and r.split == split]
        docs = [r for r in rows if r.source in ("benign_documents", "bipia_context") and r.split == split]
        # Short attack texts of this split's injections_more families, to plant as payloads too.
        extra = [r.text for r in rows if r.source == "injections_more" and r.split == split
                 and r.weight >= 1.0 and 20 <= len(r.text) <= 400 and r.kind == "direct_prompt"]
        rows += S.poisoned_tools(tools, split, n_synth[split]["tool"], rng, extra)
        rows += S.injected_documents(docs, split, n_synth[split]["doc"], rng, attacks, extra)
        rows += S.benign_noted_tools(tools, split, n_synth[split]["note"], rng)
        rows += S.benign_look_alike_documents(docs, split, n_synth[split]["lookalike"], rng)
        short_prompts = [r for r in rows if r.source == "benign_prompts" and r.split == split and len(r.text) < 200]
        rows += S.direct_payloads(short_prompts, split, n_synth[split]["direct"], rng)
    return rows


def row_weights(rows: list[D.Row]) -> np.ndarray:
    """Per-row training weight: block targets, sqrt family balancing, confidence weights."""
    w = np.zeros(len(rows))
    by_block: dict = collections.defaultdict(lambda: collections.defaultdict(list))
    for i, r in enumerate(rows):
        if r.split == "train" and r.weight > 0:
            by_block[block_of(r)][r.family].append(i)
    for block, fams in by_block.items():
        raw = {f: np.sqrt(len(ix)) for f, ix in fams.items()}
        total = sum(raw.values())
        for f, ix in fams.items():
            share = BLOCK_TARGET[block] * raw[f] / total
            for i in ix:
                w[i] = share / len(ix) * rows[i].weight
    return w * (len(rows) / max(w.sum(), 1e-9))


def training_pairs(feat: Featurized, rw: np.ndarray, mil_logits: list[np.ndarray] | None):
    """(row, window) pairs with labels and weights. Long real positives: every window at a split weight
    in round one; their best window (by the round-one model) afterwards (multiple-instance learning)."""
    pairs, y, w = [], [], []
    for i, r in enumerate(feat.rows):
        if rw[i] <= 0:
            continue
        nwin = len(feat.bounds[i])
        if r.label == 0:
            sel = list(range(nwin))
            ws = [rw[i]] * nwin
        elif "span" in r.meta:
            sel = feat.payload_windows(i)
            ws = [rw[i] / len(sel)] * len(sel)
        elif nwin == 1:
            sel, ws = [0], [rw[i]]
        elif mil_logits is None:
            sel = list(range(nwin))
            ws = [rw[i] / nwin] * nwin
        else:
            sel = [int(np.argmax(mil_logits[i]))]
            ws = [rw[i]]
        for j, wt in zip(sel, ws):
            pairs.append((i, j))
            y.append(r.label)
            w.append(wt)
    return pairs, np.array(y), np.array(w)


def fit(X, y, w, C: float) -> tuple[np.ndarray, float]:
    clf = LogisticRegression(C=C, solver="liblinear", max_iter=200, random_state=SEED)
    clf.fit(X, y, sample_weight=w)
    return clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--char-bits", type=int, default=18)
    ap.add_argument("--word-bits", type=int, default=17)
    ap.add_argument("--C", type=float, default=16.0)
    ap.add_argument("--target-fpr", type=float, default=0.01)
    ap.add_argument("--out", default=os.path.join(ROOT, "rules", "classifier"))
    ap.add_argument("--eval-dir", default=os.path.join(ROOT, ".eval", "classifier"))
    ap.add_argument("--no-write", action="store_true", help="train and report only")
    args = ap.parse_args()

    rng = random.Random(SEED)
    np.random.seed(SEED)
    n_synth = {"train": {"tool": 4000, "doc": 4000, "note": 2000, "direct": 1500, "lookalike": 1200},
               "heldout": {"tool": 1500, "doc": 1500, "note": 800, "direct": 600, "lookalike": 500}}
    rows = build(rng, n_synth)
    log("rows", len(rows), collections.Counter((r.split, r.label) for r in rows))

    feat = Featurized(rows, args.char_bits, args.word_bits)
    log("featurised", sum(len(b) for b in feat.bounds), "windows")
    rw = row_weights(rows)

    mil = None
    for rnd in (1, 2):
        pairs, y, w = training_pairs(feat, rw, mil)
        X = feat.matrix(pairs)
        log(f"round {rnd}: {X.shape[0]} windows, nnz {X.nnz}, pos {int(y.sum())}")
        coef, bias = fit(X, y, w, args.C)
        del X
        if rnd == 1:
            long_pos = [i for i, r in enumerate(rows) if rw[i] > 0 and r.label == 1 and "span" not in r.meta and len(feat.bounds[i]) > 1]
            sub = Featurized([rows[i] for i in long_pos], args.char_bits, args.word_bits)
            _, per = row_logits(sub, coef, bias)
            mil = [np.zeros(0)] * len(rows)
            for k, i in enumerate(long_pos):
                mil[i] = per[k]
        log(f"round {rnd} fitted")

    model = E.quantise(coef, bias, args.char_bits, args.word_bits)
    wq, bq = E.dequantised(model)
    logits, _ = row_logits(feat, wq, bq)
    # What the Worker reports: a field it does not score (too short) is never flagged.
    logits = np.where(feat.scored, logits, SKIPPED)
    log("scored all rows;", int((~feat.scored).sum()), "too short to score")

    report = E.evaluate(rows, logits, args.target_fpr)
    E.print_report(report)
    if args.no_write:
        return
    model["trainedAt"] = dt.date.today().isoformat()
    model["calibration"] = report["calibration"]
    model["threshold"] = {"logit": report["threshold_logit"], "score": 0.8}
    model["floor"] = E.SCORE_FLOOR
    E.write_all(args.out, args.eval_dir, model, rows, logits, report, vars(args), n_synth, SEED)
    log("written", args.out)


if __name__ == "__main__":
    main()
