"""Chinese context around a hit: clause boundaries and negation cues ("不保本", "并非存款", "严禁承诺收益" are
disclosures, not violations). Pure functions used by the engine for every candidate hit."""

from __future__ import annotations

import re

NEGATION = re.compile(r"不(?![断菲少错久])|非(?!常)|没有|未(?!来)|无法|勿|严禁|禁止|谨防|警惕|杜绝")
CLAUSE_END = re.compile(r"[，。；！？,.;!?\n：:、“”\"]")
NEGATION_WINDOW = 4


def negated(text: str, start: int) -> bool:
    """A negation cue in the same clause within a few characters before the hit."""
    lo = max(0, start - NEGATION_WINDOW)
    window = text[lo:start]
    cut = max((m.end() for m in CLAUSE_END.finditer(window)), default=0)
    return NEGATION.search(window[cut:]) is not None
