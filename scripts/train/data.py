"""Loads the labelled sets under ../shared/data and assigns every row to a split by source or family.

Splits
- ``train``: used to fit the model.
- ``heldout``: whole families / sources / repositories never seen in training. The default threshold is
  chosen on the held-out benign families (false-positive rate <= 1 % on each), recall is measured on
  the held-out injection families.
- ``report``: external test sets reported as they are (deepset ``test``, JailbreakBench, the 11 real
  MCP tool-poisoning examples): never trained on, never used to choose anything.

Nothing is split at random: ``injections_more`` rows come from templates, so a random split would put
near-duplicates on both sides.
"""
from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from dataclasses import dataclass, field

DATA = os.environ.get("MCPFW_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data"))


@dataclass
class Row:
    text: str
    label: int
    source: str  # data set (folder)
    family: str  # the unit of splitting: repository, subset, attack family, probe
    split: str  # train | heldout | report
    kind: str = ""  # prompt | document | tool | jailbreak ...
    weight: float = 1.0
    meta: dict = field(default_factory=dict)


def _jsonl(path: str) -> list[dict]:
    with open(os.path.join(DATA, path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _truthy(v) -> bool:
    return v is True or v == "True" or v == "true"


def _stable_frac(key: str) -> float:
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


# ---------------------------------------------------------------------------------------------------
# Benign


# Repositories held out of training. grafana is the most instruction-heavy benign server ("IMPORTANT:
# always call this tool twice ... you MUST ask the user"), so it is the hardest honest test.
HELDOUT_TOOL_REPOS = {
    "grafana/mcp-grafana",
    "sooperset/mcp-atlassian",
    "microsoft/playwright-mcp",
    "PostHog/mcp",
    "exa-labs/exa-mcp-server",
    "stripe/agent-toolkit",
    "redis/mcp-redis",
    "brave/brave-search-mcp-server",
    "qdrant/mcp-server-qdrant",
    "upstash/context7",
}


def tool_descriptions() -> list[Row]:
    out = []
    for r in _jsonl("mcp_tool_descriptions/mcp_tool_descriptions.jsonl"):
        repo = r["source"]
        out.append(
            Row(
                text=r["text"],
                label=0,
                source="mcp_tool_descriptions",
                family=repo,
                split="heldout" if repo in HELDOUT_TOOL_REPOS else "train",
                kind="tool",
                meta={"kind": r.get("kind"), "balanced": _truthy(r.get("balanced_subset")), "triggers": bool(r.get("triggers"))},
            )
        )
    return out


HELDOUT_DOC_SOURCES = {
    "grafana/mcp-grafana",
    "sooperset/mcp-atlassian",
    "PostHog/mcp",
    "octokit/fixtures",
    "mikel/mail",
    "lm-sys/FastChat",
    "microsoft/azure-devops-mcp",
}
HELDOUT_XQUAD_LANGS = {"ru", "ar", "tr"}


def benign_documents() -> list[Row]:
    out = []
    for r in _jsonl("benign_documents/benign_documents.jsonl"):
        src = r["source"]
        fam = src
        if src == "deepmind/xquad":
            fam = f"{src}:{r.get('lang')}"
            held = r.get("lang") in HELDOUT_XQUAD_LANGS
        elif src in ("mozilla/readability", "vega/vega-datasets"):
            # Many pages / data sets in one repository: split by page or data set, a quarter held out.
            parts = r["path"].split("/")
            unit = parts[-2] if src == "mozilla/readability" and len(parts) > 1 else r["path"]
            fam = f"{src}:{unit}"
            held = _stable_frac(fam) < 0.25
        else:
            held = src in HELDOUT_DOC_SOURCES
        out.append(
            Row(
                text=r["text"],
                label=0,
                source="benign_documents",
                family=fam,
                split="heldout" if held else "train",
                kind="document",
                meta={"kind": r.get("kind"), "hard": _truthy(r.get("hard_negative_mined"))},
            )
        )
    return out


HELDOUT_PROMPT_SUBSETS = {"gpteacher_roleplay", "mt_bench", "vicuna_bench", "gsm8k_questions", "arena_hard_prompts"}


def benign_prompts() -> list[Row]:
    out = []
    for r in _jsonl("benign_prompts/benign_prompts.jsonl"):
        sub = r["subset"]
        out.append(
            Row(
                text=r["text"],
                label=0,
                source="benign_prompts",
                family=sub,
                split="heldout" if sub in HELDOUT_PROMPT_SUBSETS else "train",
                kind="prompt",
                meta={"hard": _truthy(r.get("hard_negative")), "lang": r.get("lang")},
            )
        )
    return out


def _instances(raw) -> list[dict]:
    if isinstance(raw, list):
        return raw
    try:
        v = ast.literal_eval(raw)
        return v if isinstance(v, list) else []
    except (ValueError, SyntaxError):
        return []


def benign_instructions() -> list[Row]:
    out = []
    for name, split in (("seed_tasks.jsonl", "train"), ("user_oriented_instructions.jsonl", "heldout")):
        for r in _jsonl(f"benign_instructions/{name}"):
            text = r["instruction"]
            inst = _instances(r.get("instances"))
            if inst and isinstance(inst[0], dict) and inst[0].get("input"):
                text = f"{text}\n\n{inst[0]['input']}"
            out.append(Row(text=text, label=0, source="benign_instructions", family=name, split=split, kind="prompt"))
    return out


def bipia_contexts() -> list[Row]:
    """BIPIA train contexts (e-mail, code, table): benign tool-result-like text, training only."""
    out = []
    for task in ("email", "code", "table"):
        for r in _jsonl(f"bipia/{task}/train.jsonl"):
            ctx = r.get("context")
            if isinstance(ctx, list):
                ctx = "\n".join(ctx)
            if not ctx:
                continue
            out.append(Row(text=ctx, label=0, source="bipia_context", family=f"bipia:{task}", split="train", kind="document"))
    return out


# ---------------------------------------------------------------------------------------------------
# Malicious


HELDOUT_INJECTION_FAMILIES = {
    "cyberseceval_virtualization",
    "cyberseceval_hypothetical_scenario",
    "cyberseceval_payload_splitting",
    "cyberseceval_few_shot_attack",
    "cyberseceval_many_shot_attack",
    "dan_jailbreak_template",
    "roleplay_jailbreak",
    "policy_puppetry_jailbreak",
    "gcg_adversarial_suffix",
    "unicode_tag_smuggling",
    "smuggling_jailbreak",
    "tap_jailbreak",
    "mcp_tool_description_override",
    "giskard_jailbreak",
    "giskard_hijacking_attacks",
}
# Families split by garak probe (path) instead.
HELDOUT_INJECTION_PATHS = {
    "garak/probes/latentinjection.py:LatentInjectionResumeFull",
    "garak/probes/latentinjection.py:LatentWhois",
    "garak/probes/latentinjection.py:LatentInjectionTranslationEnZhFull",
    "garak/probes/web_injection.py:MarkdownURIImageExfilExtended",
    "garak/probes/web_injection.py:ColabAIDataLeakage",
    "garak/probes/web_injection.py:PlaygroundMarkdownExfil",
    "garak/probes/web_injection.py:StringAssemblyDataExfil",
    "garak/probes/encoding.py:InjectMorse",
    "garak/probes/encoding.py:InjectNato",
    "garak/probes/encoding.py:InjectAtbash",
}


def injections_more() -> list[Row]:
    out = []
    for r in _jsonl("injections_more/malicious_injections.jsonl"):
        conf = r.get("label_confidence", "high")
        fam = r["family"]
        path = r.get("path", "")
        held = fam in HELDOUT_INJECTION_FAMILIES or path in HELDOUT_INJECTION_PATHS
        if fam in ("indirect_injection_in_document", "markdown_exfiltration_xss", "encoded_injection"):
            fam = f"{fam}:{path.split(':')[-1]}"
        out.append(
            Row(
                text=r["text"],
                label=1,
                source="injections_more",
                family=fam,
                split="heldout" if held else "train",
                kind=r.get("kind", ""),
                # Low-confidence rows are benign on their own: reported, never trained on as positives.
                weight={"high": 1.0, "medium": 0.5, "low": 0.0}.get(conf, 1.0),
                meta={"confidence": conf, "lang": r.get("lang")},
            )
        )
    return out


def tool_poisoning_real() -> list[Row]:
    return [
        Row(text=r["text"], label=1, source="mcp_tool_poisoning", family=r["family"], split="report", kind="tool")
        for r in _jsonl("injections_more/mcp_tool_poisoning.jsonl")
    ]


def jailbreakbench() -> list[Row]:
    return [
        Row(text=r["text"], label=1, source="jailbreakbench", family=f"jbb:{r['method']}", split="report", kind="jailbreak")
        for r in _jsonl("jailbreakbench/jbb_artifact_prompts.jsonl")
    ]


# The firewall's view: asking the assistant to play a role is an ordinary request, not an injection
# (benign_prompts holds hundreds of them). deepset labels some such prompts 1; those rows are kept out of
# training as positives (and are reported as label noise). Everything else keeps its label.
_ROLEPLAY_ONLY = re.compile(
    r"^(i want you to act as|ich möchte, dass sie als|act as a|be a dj|generate c\+\+|schreibe c\+\+ code)", re.I
)
_OVERRIDE = re.compile(
    r"ignor|forget|vergiss|disregard|instruction|anweisung|previous|vorherig|prompt|olvid|oubli|забуд", re.I
)


def deepset() -> list[Row]:
    out = []
    for r in _jsonl("deepset/deepset_prompt_injections.jsonl"):
        label = int(r["label"])
        split = "train" if r["split"] == "train" else "report"
        weight = 1.0
        noisy = label == 1 and bool(_ROLEPLAY_ONLY.search(r["text"].strip())) and not _OVERRIDE.search(r["text"])
        if noisy and split == "train":
            weight = 0.0
        out.append(
            Row(
                text=r["text"],
                label=label,
                source="deepset",
                family=f"deepset:{r['split']}",
                split=split,
                kind="prompt",
                weight=weight,
                meta={"roleplay_label_noise": noisy},
            )
        )
    return out


def bipia_attacks() -> dict[str, list[tuple[str, str]]]:
    """BIPIA attack instructions by category: {'text': [(category, instruction)], 'code': [...]}."""
    out = {}
    for name in ("text", "code"):
        with open(os.path.join(DATA, "bipia", f"{name}_attack_train.json"), encoding="utf-8") as f:
            cats = json.load(f)
        out[name] = [(cat, s) for cat, items in cats.items() for s in items]
    return out


def load_all() -> list[Row]:
    rows: list[Row] = []
    for fn in (
        tool_descriptions,
        benign_documents,
        benign_prompts,
        benign_instructions,
        bipia_contexts,
        injections_more,
        tool_poisoning_real,
        jailbreakbench,
        deepset,
    ):
        rows.extend(fn())
    return rows
