"""Synthesised rows: attack payloads inserted into real tool descriptions and real benign documents at
the start, middle or end, in several disguises and languages; and benign look-alike notes inserted the
same way (hard negatives). Every synthesised row remembers where its payload sits, so training can use
the windows that contain it.
"""
from __future__ import annotations

import random
import re

import payloads as P
from data import Row

# BIPIA attack categories whose instructions address the assistant's answer ("in your response ...").
# The plain-task categories ("What is the capital of Brazil?") are benign on their own and are not used.
BIPIA_TEXT_SPLIT = {
    "Alphanumeric Substitution": "train",
    "Homophonic Substitution": "heldout",
    "Misspelling Intentionally": "train",
    "Anagramming": "heldout",
    "Space Removal & Grouping": "train",
    "Instruction": "train",
    "Social Interaction": "train",
    "Persuasion": "heldout",
    "Clickbait": "train",
    "Malware Distribution": "heldout",
}
BIPIA_CODE_HELDOUT = {"Memory Scanning", "Network Propagation", "Cryptocurrency Mining"}

_BOUNDARY = re.compile(r"(\n+|(?<=[.!?。])\s+)")


def insert(host: str, payload: str, where: str, rng: random.Random) -> tuple[str, tuple[int, int]]:
    """Places payload in host; returns the text and the payload's [start, end) offsets."""
    sep = rng.choice(["\n\n", "\n", " "])
    if where == "start" or not host:
        text = payload + sep + host
        return text, (0, len(payload))
    if where == "end":
        text = host + sep + payload
        return text, (len(host) + len(sep), len(text))
    lo, hi = int(len(host) * 0.2), int(len(host) * 0.8)
    cuts = [m.end() for m in _BOUNDARY.finditer(host) if lo <= m.end() <= hi]
    cut = rng.choice(cuts) if cuts else rng.randint(lo, max(lo, hi))
    before, after = host[:cut], host[cut:]
    text = before + sep + payload + sep + after
    start = len(before) + len(sep)
    return text, (start, start + len(payload))


def _where(rng: random.Random, end_bias: float) -> str:
    r = rng.random()
    if r < end_bias:
        return "end"
    return "start" if r < end_bias + (1 - end_bias) / 2 else "middle"


def poisoned_tools(hosts: list[Row], split: str, n: int, rng: random.Random, extra: list[str]) -> list[Row]:
    """Tool and parameter descriptions with an attack planted in them."""
    out = []
    for _ in range(n):
        host = rng.choice(hosts)
        if extra and rng.random() < 0.2:
            payload, fam, lang = rng.choice(extra), "injections_more", "mixed"
        else:
            payload, fam, lang = P.attack_payload(rng, split)
        wrapped = P.wrap(payload, rng, split)
        text, span = insert(host.text, wrapped, _where(rng, 0.6), rng)
        out.append(
            Row(
                text=text, label=1, source="synthetic_poisoned_tool", family=f"tool:{fam}", split=split, kind="tool",
                meta={"span": span, "payload_family": fam, "lang": lang, "host_family": host.family},
            )
        )
    return out


def bipia_payloads(attacks: dict[str, list[tuple[str, str]]], split: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    text = [(c, s) for c, s in attacks["text"] if BIPIA_TEXT_SPLIT.get(c) == split]
    code = [(c, s) for c, s in attacks["code"] if (c in BIPIA_CODE_HELDOUT) == (split == "heldout")]
    return text, code


def injected_documents(
    hosts: list[Row], split: str, n: int, rng: random.Random, attacks: dict, extra: list[str]
) -> list[Row]:
    """Benign documents (tool results) with an instruction inserted: BIPIA attacks, our families, or
    short attack texts of this split's injections_more families."""
    btext, bcode = bipia_payloads(attacks, split)
    out = []
    for _ in range(n):
        host = rng.choice(hosts)
        r = rng.random()
        is_code = (host.meta or {}).get("kind") == "source_code" or host.family == "bipia:code"
        if r < 0.3 and (bcode if is_code else btext):
            cat, payload = rng.choice(bcode if is_code else btext)
            fam, lang = f"bipia:{cat}", "en"
        elif r < 0.5 and extra:
            payload, fam, lang = rng.choice(extra), "injections_more", "mixed"
        else:
            payload, fam, lang = P.attack_payload(rng, split)
        wrapped = P.wrap(payload, rng, split) if rng.random() < 0.7 else payload
        text, span = insert(host.text, wrapped, _where(rng, 0.34), rng)
        out.append(
            Row(
                text=text, label=1, source="synthetic_injected_document", family=f"doc:{fam}", split=split, kind="document",
                meta={"span": span, "payload_family": fam, "lang": lang, "host_family": host.family},
            )
        )
    return out


def benign_noted_tools(hosts: list[Row], split: str, n: int, rng: random.Random) -> list[Row]:
    """Tool descriptions with a legitimate usage note added (hard negatives)."""
    out = []
    for _ in range(n):
        host = rng.choice(hosts)
        text, span = insert(host.text, P.benign_note(rng), _where(rng, 0.6), rng)
        out.append(
            Row(text=text, label=0, source="synthetic_benign_note_tool", family=f"note:{host.family}", split=split,
                kind="tool", meta={"span": span})
        )
    return out


def benign_look_alike_documents(hosts: list[Row], split: str, n: int, rng: random.Random) -> list[Row]:
    """Ordinary tool output in an injection's words (hard negatives), alone or inside a real document."""
    out = []
    for _ in range(n):
        doc, family = P.benign_doc(rng, split)
        text = doc
        if hosts and rng.random() < 0.5:
            text, _ = insert(rng.choice(hosts).text, doc, _where(rng, 0.34), rng)
        out.append(Row(text=text, label=0, source="synthetic_benign_document", family=f"lookalike:{family}", split=split, kind="document"))
    return out


def direct_payloads(prompts: list[Row], split: str, n: int, rng: random.Random) -> list[Row]:
    """Payloads on their own, as a direct prompt would carry them, half of them after an ordinary
    request (the shape of deepset's injections: a benign question, then the instruction)."""
    out = []
    for _ in range(n):
        payload, fam, lang = P.attack_payload(rng, split)
        if rng.random() < 0.3:
            payload = P.wrap(payload, rng, split)
        text = payload
        if prompts and rng.random() < 0.5:
            text = rng.choice(prompts).text.strip() + rng.choice([" ", "\n", "\n\n", ". "]) + payload
        out.append(Row(text=text, label=1, source="synthetic_direct", family=f"direct:{fam}", split=split, kind="prompt",
                       meta={"payload_family": fam, "lang": lang}))
    return out
