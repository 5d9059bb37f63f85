"""Quantisation, threshold choice, metrics and the files the Worker and its tests read."""
from __future__ import annotations

import base64
import collections
import hashlib
import json
import os

import numpy as np

import fixtures as F
import hashing as H
from data import Row
from normalize import role_of, rule_miss

FORMAT = "mcp-firewall/hashed-linear@1"

# Held-out benign sets the default threshold must keep at or under the target false-positive rate.
CONSTRAINT_SETS = ("tool descriptions", "benign documents", "benign prompts", "benign instructions")
# The pipeline's default injection threshold (the calibrated score of the default block point) and the
# score below which the classifier reports nothing.
BLOCK_SCORE = 0.8
SCORE_FLOOR = 0.3


# ---------------------------------------------------------------------------------------------------
# Weights


def _q(w: np.ndarray) -> tuple[np.ndarray, float]:
    scale = float(np.abs(w).max() / 32767.0) or 1e-12
    return np.clip(np.rint(w / scale), -32767, 32767).astype("<i2"), scale


def quantise(coef: np.ndarray, bias: float, char_bits: int, word_bits: int) -> dict:
    nc = 1 << char_bits
    qc, sc = _q(coef[:nc])
    qw, sw = _q(coef[nc:])
    spec = H.spec()
    return {
        "format": FORMAT,
        "trainedAt": "",
        "features": {**spec, "charBits": char_bits, "wordBits": word_bits},
        "bias": float(bias),
        "char": {"scale": sc, "weights": base64.b64encode(qc.tobytes()).decode()},
        "word": {"scale": sw, "weights": base64.b64encode(qw.tobytes()).decode()},
    }


def dequantised(model: dict) -> tuple[np.ndarray, float]:
    qc = np.frombuffer(base64.b64decode(model["char"]["weights"]), dtype="<i2").astype(np.float64)
    qw = np.frombuffer(base64.b64decode(model["word"]["weights"]), dtype="<i2").astype(np.float64)
    return np.concatenate([qc * model["char"]["scale"], qw * model["word"]["scale"]]), model["bias"]


def calibrate(logit: float, knots: dict) -> float:
    xs, ys = knots["logit"], knots["score"]
    if logit <= xs[0]:
        return ys[0]
    if logit >= xs[-1]:
        return ys[-1]
    k = int(np.searchsorted(xs, logit, side="right")) - 1
    return ys[k] + (ys[k + 1] - ys[k]) * (logit - xs[k]) / (xs[k + 1] - xs[k])


# ---------------------------------------------------------------------------------------------------
# Evaluation


def set_name(r: Row) -> str:
    return {
        "mcp_tool_descriptions": "tool descriptions",
        "benign_documents": "benign documents",
        "benign_prompts": "benign prompts (hard negatives)" if r.meta.get("hard") else "benign prompts",
        "benign_instructions": "benign instructions",
        "bipia_context": "BIPIA contexts",
        "synthetic_benign_note_tool": "tool descriptions + benign note (synthetic)",
        "synthetic_benign_document": "benign look-alike documents (synthetic)",
        "synthetic_poisoned_tool": "poisoned tool descriptions (synthetic)",
        "synthetic_injected_document": "documents with inserted instruction (synthetic)",
        "synthetic_direct": "direct payloads (synthetic)",
        "injections_more": "injections_more" + (" (low confidence: benign on their own)" if r.meta.get("confidence") == "low" else ""),
        "mcp_tool_poisoning": "real MCP tool poisoning",
        "jailbreakbench": "JailbreakBench",
        "deepset": "deepset",
    }[r.source] + (" " + r.family.split(":")[1] if r.source == "deepset" else "")


def _threshold_for(scores: np.ndarray, fpr: float) -> float:
    """Smallest threshold t with mean(scores >= t) <= fpr."""
    s = np.sort(scores)[::-1]
    k = int(np.floor(fpr * s.size + 1e-9))
    if k >= s.size:
        return float(s[-1])
    # A small margin above the k-th highest benign logit, so the calibrated score of that text stays
    # clearly below the knot after floating-point interpolation in the Worker.
    return float(s[k] + 1e-6)


def _binary(y: np.ndarray, flag: np.ndarray) -> dict:
    tp = int(((y == 1) & flag).sum())
    fp = int(((y == 0) & flag).sum())
    tn = int(((y == 0) & ~flag).sum())
    fn = int(((y == 1) & ~flag).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    return {"n": int(y.size), "tp": tp, "fp": fp, "tn": tn, "fn": fn, "precision": p, "recall": rc,
            "f1": 2 * p * rc / (p + rc) if p + rc else 0.0, "fpr": fp / (fp + tn) if fp + tn else 0.0}


def evaluate(rows: list[Row], logits: np.ndarray, target_fpr: float) -> dict:
    names = [set_name(r) for r in rows]
    split = np.array([r.split for r in rows])
    label = np.array([r.label for r in rows])

    def scores(name: str, sp: str = "heldout") -> np.ndarray:
        return np.array([logits[i] for i, n in enumerate(names) if n == name and split[i] == sp])

    per_set = {n: _threshold_for(scores(n), target_fpr) for n in CONSTRAINT_SETS}
    t5_raw = max(_threshold_for(scores(n), 0.05) for n in CONSTRAINT_SETS)
    t15_raw = max(_threshold_for(scores(n), 0.15) for n in CONSTRAINT_SETS)

    def knots_for(t1: float, t6: float | None = None) -> dict:
        t5 = min(t5_raw, t1 - 0.25)
        t15 = min(t15_raw, t5 - 0.25)
        d = max(1.0, t1 - t5)
        t6 = t5 + (t1 - t5) / 3 if t6 is None else t6  # by default on the line from 0.5 to 0.8
        return {"logit": [t15 - 6.0, t15, t5, t6, t1, t1 + d, t1 + 3 * d], "score": [0.0, 0.3, 0.5, 0.6, 0.8, 0.95, 0.99]}

    # The default stack: the rule packs' injection findings and the classifier's (reported from the floor
    # up) in one field, combined by noisy-OR and blocked at the pipeline's threshold, as the Worker does.
    miss = np.array([rule_miss(r.text, role_of(r.kind)) for r in rows])

    def stack_flags(knots: dict) -> np.ndarray:
        score = np.interp(logits, knots["logit"], knots["score"])
        score = np.where(score >= SCORE_FLOOR, score, 0.0)
        return 1 - miss * (1 - score) >= BLOCK_SCORE

    # The classifier's own threshold keeps each held-out benign family at the target. A weak rule hit and a
    # classifier score under the threshold can still block together, so the stack is held to the same
    # target: first by raising the 0.6 knot towards the threshold (scores between the 0.5 knot and the
    # threshold shrink; 0.5 and 0.8 stay where they are), then, only if that is not enough, by raising the
    # threshold past one more benign text at a time. Texts the rules block alone are not the classifier's.
    constraint = {n: np.array([i for i, m in enumerate(names) if m == n and split[i] == "heldout"]) for n in CONSTRAINT_SETS}
    rules_alone = {n: float((miss[ix] <= 1 - BLOCK_SCORE).mean()) for n, ix in constraint.items()}

    def stack_ok(knots: dict) -> bool:
        stack = stack_flags(knots)
        return all(stack[ix].mean() <= max(target_fpr, rules_alone[n]) for n, ix in constraint.items())

    classifier_t1 = max(per_set.values())
    above = np.unique(np.concatenate([logits[ix] for ix in constraint.values()]))
    knots = None
    for nxt in [None, *above[above >= classifier_t1]]:
        t1 = classifier_t1 if nxt is None else float(nxt + 1e-6)
        linear = knots_for(t1)["logit"][3]
        for t6 in np.arange(linear, t1 - 0.005, 0.01):
            if stack_ok(knots_for(t1, float(t6))):
                knots = knots_for(t1, float(t6))
                break
        if knots is not None:
            break
    if knots is None:
        raise RuntimeError("no threshold keeps the default stack within the target on every held-out benign family")
    t1 = knots["logit"][4]
    stack = stack_flags(knots)
    flag = logits >= t1

    # Split-half check of the threshold: chosen on one half of each held-out benign family, measured on the other.
    half = {}
    for n in CONSTRAINT_SETS:
        ix = [i for i, m in enumerate(names) if m == n and split[i] == "heldout"]
        a = [i for i in ix if H_half(rows[i].text) == 0]
        b = [i for i in ix if H_half(rows[i].text) == 1]
        half[n] = (a, b)
    ta = max(_threshold_for(logits[half[n][0]], target_fpr) for n in CONSTRAINT_SETS)
    split_half = {n: float((logits[half[n][1]] >= ta).mean()) for n in CONSTRAINT_SETS}

    sets = []
    groups = collections.defaultdict(list)
    for i, n in enumerate(names):
        groups[(split[i], n)].append(i)
    for (sp, n), ix in sorted(groups.items()):
        ix = np.array(ix)
        y = label[ix]
        entry = {"split": sp, "set": n, **_binary(y, flag[ix]), "stack": _binary(y, stack[ix])}
        if (y == 0).any() and (y == 1).any():
            tb = _threshold_for(logits[ix][y == 0], 0.01)
            entry["recall_at_1pct_fpr"] = float((logits[ix][y == 1] >= tb).mean())
        sets.append(entry)

    fams = collections.defaultdict(list)
    for i, r in enumerate(rows):
        if r.split in ("heldout", "report") or r.label == 1:
            fam = r.meta.get("payload_family", r.family) if "span" in r.meta else r.family
            fams[(r.split, names[i], fam)].append(i)
    families = []
    for (sp, n, fam), ix in sorted(fams.items()):
        ix = np.array(ix)
        families.append({"split": sp, "set": n, "family": fam, "label": int(label[ix][0]), "n": int(ix.size),
                         "flagged": float(flag[ix].mean())})

    # A tools/list carries every string of a server: the share of held-out servers with any string flagged.
    servers = collections.defaultdict(bool)
    for i, r in enumerate(rows):
        if r.source == "mcp_tool_descriptions" and r.split == "heldout":
            servers[r.family] |= bool(flag[i])
    server_flags = {"servers": len(servers), "with_a_flagged_string": sorted(k for k, v in servers.items() if v)}

    return {"threshold_logit": t1, "classifier_threshold_logit": classifier_t1, "knot_06_linear": knots_for(t1)["logit"][3],
            "per_set_threshold": per_set, "calibration": knots, "target_fpr": target_fpr,
            "split_half_fpr": split_half, "sets": sets, "families": families, "tool_servers": server_flags}


def H_half(text: str) -> int:
    import hashlib as _h
    return _h.sha256(text.encode("utf-8", "surrogatepass")).digest()[0] & 1


def print_report(rep: dict) -> None:
    print(f"threshold logit {rep['threshold_logit']:.4f} (classifier alone {rep['classifier_threshold_logit']:.4f}) "
          f"per set {json.dumps(rep['per_set_threshold'])}")
    print(f"split-half FPR {json.dumps(rep['split_half_fpr'])}")
    print(f"held-out servers with a flagged string: {json.dumps(rep['tool_servers'])}")
    for s in rep["sets"]:
        extra = f" r@1%={s['recall_at_1pct_fpr']:.3f}" if "recall_at_1pct_fpr" in s else ""
        print(f"  {s['split']:8s} {s['set'][:58]:58s} n={s['n']:6d} recall={s['recall']:.3f} fpr={s['fpr']:.4f} "
              f"p={s['precision']:.3f}{extra} | stack recall={s['stack']['recall']:.3f} fpr={s['stack']['fpr']:.4f}")
    for f in rep["families"]:
        if f["split"] != "train" and (f["label"] == 1 or f["flagged"] > 0.01):
            print(f"     {f['split']:8s} {f['set'][:40]:40s} {f['family'][:48]:48s} n={f['n']:5d} flagged={f['flagged']:.3f}")


# ---------------------------------------------------------------------------------------------------
# Files


def _window_logits(text: str, w: np.ndarray, bias: float, model: dict) -> list[float]:
    f = model["features"]
    items = H.text_items(text, f["charBits"], f["wordBits"])
    X = H.featurize(items, f["charBits"], f["wordBits"])
    return [float(v) for v in X @ w + bias]


def write_fixtures(out: str, model: dict, sha: str) -> None:
    """parity-fixtures.json and e2e-fixtures.json, from the model as written."""
    w, b = dequantised(model)
    fx = []
    for name, text in F.parity_texts():
        wl = _window_logits(text, w, b, model)
        m = max(wl)
        entry: dict = {"name": name, "text": text}
        if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            # Lone surrogates: some JSON parsers refuse them, so the text travels as UTF-16 code units.
            raw = text.encode("utf-16-le", "surrogatepass")
            entry = {"name": name, "units": [int.from_bytes(raw[i : i + 2], "little") for i in range(0, len(raw), 2)]}
        fx.append({**entry, "windowLogits": wl, "logit": m, "score": calibrate(m, model["calibration"])})
    feats = []
    for text in F.feature_texts():  # valid UTF-16 only (surrogates in pairs)
        tf = H.TextFeatures(text, model["features"]["charBits"], model["features"]["wordBits"])
        code = lambda idx, sign: [int(i) * 2 + (1 if s < 0 else 0) for i, s in zip(idx, sign)]  # noqa: E731
        chars = sorted(zip(tf.cpos.tolist(), code(tf.cidx, tf.csign)))
        words = sorted(zip(tf.wpos.tolist(), code(tf.widx, tf.wsign)))
        feats.append({"text": text, "units": tf.units.tolist(), "chars": chars, "words": words})
    with open(os.path.join(out, "parity-fixtures.json"), "w", encoding="utf-8") as fh:
        json.dump({"modelSha256": sha, "fixtures": fx, "features": feats}, fh, indent=1)
        fh.write("\n")

    e2e = []
    for name, label, role, text in F.e2e_texts():
        m = max(_window_logits(text, w, b, model))
        e2e.append({"name": name, "label": label, "role": role, "text": text, "score": calibrate(m, model["calibration"])})
    with open(os.path.join(out, "e2e-fixtures.json"), "w", encoding="utf-8") as fh:
        json.dump({"note": "Hand-written. label 1 must score >= 0.8, label 0 below it.", "fixtures": e2e}, fh,
                  ensure_ascii=False, indent=1)
        fh.write("\n")


def write_all(out: str, eval_dir: str, model: dict, rows: list[Row], logits: np.ndarray, rep: dict,
              args: dict, n_synth: dict, seed: int) -> None:
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.json")
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(model, fh, separators=(",", ":"))
        fh.write("\n")
    raw = open(path, "rb").read()
    sha = hashlib.sha256(raw).hexdigest()

    write_fixtures(out, model, sha)

    metrics = {k: rep[k] for k in ("threshold_logit", "classifier_threshold_logit", "knot_06_linear", "per_set_threshold", "calibration", "target_fpr", "split_half_fpr",
                                   "sets", "families", "tool_servers")}
    metrics.update({"modelSha256": sha, "modelBytes": len(raw), "trainedAt": model["trainedAt"], "seed": seed,
                    "args": {k: v for k, v in args.items() if k not in ("out", "eval_dir")}, "synthetic": n_synth})
    with open(os.path.join(out, "metrics.json"), "w", encoding="utf-8") as fh:
        json.dump(metrics, fh, ensure_ascii=False, indent=1)
        fh.write("\n")

    # Evaluation files for `npm run eval` (derived data: outside the repository's tracked files).
    os.makedirs(eval_dir, exist_ok=True)
    files = collections.defaultdict(list)
    for r in rows:
        if r.split == "train" or (r.source == "injections_more" and r.meta.get("confidence") == "low"):
            continue
        key = f"{r.split}-{set_name(r)}"
        role = role_of(r.kind)
        files[key].append({"text": r.text, "label": r.label, "role": role})
    for key, items in files.items():
        fname = "".join(c if c.isalnum() else "-" for c in key.lower()).strip("-")
        while "--" in fname:
            fname = fname.replace("--", "-")
        with open(os.path.join(eval_dir, fname + ".jsonl"), "w", encoding="utf-8") as fh:
            for it in items:
                fh.write(json.dumps(it, ensure_ascii=False) + "\n")

    import card

    card.write(os.path.join(out, "MODEL_CARD.md"), model, metrics, sha, len(raw))


if __name__ == "__main__":
    # Regenerate the fixtures from the shipped model.json without retraining.
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    out_dir = os.path.join(root, "rules", "classifier")
    raw = open(os.path.join(out_dir, "model.json"), "rb").read()
    write_fixtures(out_dir, json.loads(raw), hashlib.sha256(raw).hexdigest())
