"""An approximation, for training text, of the pipeline's detection normalisation
(src/inspect/normalize.ts): HTML character references and percent-encoded UTF-8 decoded once,
invisible format characters dropped, NFKC. The Worker scores `field.normalized.text`, so the model
should learn from text in that form. (Parity between Python and TypeScript is about the features of
a given string and does not depend on this.)
"""
from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote_to_bytes

_PCT = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def _pct(m: re.Match) -> str:
    try:
        return unquote_to_bytes(m.group(0)).decode("utf-8")
    except UnicodeDecodeError:
        return m.group(0)


def _visible(ch: str) -> bool:
    o = ord(ch)
    if 0xE0000 <= o <= 0xE0FFF or 0xFE00 <= o <= 0xFE0F:
        return False
    cat = unicodedata.category(ch)
    return cat != "Cf" and not (cat == "Cc" and ch not in "\t\n\r")


def detection_text(s: str) -> str:
    s = html.unescape(s)
    s = _PCT.sub(_pct, s)
    s = "".join(ch for ch in s if _visible(ch))
    return unicodedata.normalize("NFKC", s)
