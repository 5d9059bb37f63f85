"""The Worker's view of a training text, computed by the Worker's own code (`detection-text.ts`, run once
per batch with tsx): the text its classifier scores in a field (`field.normalized.text`), whether it
scores that field at all (length and word minimums), and what the default rule packs add to the field's
injection score. So the model learns from, and the model card measures, exactly what the Worker sees.
(Parity between Python and TypeScript is about the features of a given string and does not depend on this.)
"""
from __future__ import annotations

import json
import os
import subprocess

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
_SCRIPT = os.path.join(ROOT, "scripts", "train", "detection-text.ts")
_TSX = os.path.join(ROOT, "node_modules", ".bin", "tsx")
_BATCH = 20000
_DEFAULT_ROLE = "tool-result"

_text: dict[str, tuple[str, bool]] = {}
_miss: dict[tuple[str, str], float] = {}


def role_of(kind: str) -> str:
    """The field role a row's text is scanned under (rules depend on it; normalisation does not)."""
    return {"tool": "tool-definition", "document": "tool-result"}.get(kind, "prompt")


def prepare(pairs) -> None:
    """Asks the Worker's code about every (text, role) pair not yet seen, in batches."""
    todo = [p for p in dict.fromkeys(pairs) if p not in _miss]
    for k in range(0, len(todo), _BATCH):
        chunk = todo[k : k + _BATCH]
        out = subprocess.run([_TSX, _SCRIPT], input=json.dumps(chunk).encode("utf-8"), capture_output=True, check=True)
        lines = out.stdout.decode("utf-8").splitlines()
        if len(lines) != len(chunk):
            raise RuntimeError(f"detection-text.ts answered {len(lines)} lines for {len(chunk)} texts")
        for p, line in zip(chunk, lines):
            text, scored, miss = json.loads(line)
            _text[p[0]] = (text, bool(scored))
            _miss[p] = float(miss)


def detection_text(s: str) -> str:
    if s not in _text:
        prepare([(s, _DEFAULT_ROLE)])
    return _text[s][0]


def scored(s: str) -> bool:
    """Whether the Worker's classifier scores a field holding `s`."""
    if s not in _text:
        prepare([(s, _DEFAULT_ROLE)])
    return _text[s][1]


def rule_miss(s: str, role: str) -> float:
    """Product of (1 − score) over the default rule packs' injection findings in a field holding `s`."""
    if (s, role) not in _miss:
        prepare([(s, role)])
    return _miss[(s, role)]
