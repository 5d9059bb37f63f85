"""Writes every text of the data sets with the window logits the shipped model gives it in Python, to
.eval/classifier/parity-corpus.jsonl; `npx tsx scripts/train/parity-check.ts` compares the Worker's.

    /usr/bin/python3 scripts/train/parity_corpus.py [--limit N]
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the repository

sys.path.insert(0, os.path.dirname(__file__))

import data as D  # noqa: E402
import export as E  # noqa: E402
import hashing as H  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    model = json.load(open(os.path.join(ROOT, "rules", "classifier", "model.json"), encoding="utf-8"))
    w, b = E.dequantised(model)
    f = model["features"]
    rows = D.load_all()
    if args.limit:
        rows = rows[:: max(1, len(rows) // args.limit)]
    out = os.path.join(ROOT, ".eval", "classifier", "parity-corpus.jsonl")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w", encoding="utf-8") as fh:
        for r in rows:
            items = H.text_items(r.text, f["charBits"], f["wordBits"])
            logits = (H.featurize(items, f["charBits"], f["wordBits"]) @ w + b).tolist()
            fh.write(json.dumps({"text": r.text, "windowLogits": logits}) + "\n")
    print(out, len(rows))


if __name__ == "__main__":
    main()
