"""The checking engine: check(text, material_type, product_line) -> findings, pure and deterministic.

Literal terms of every rule go into one Aho-Corasick automaton and are found in a single pass; regular
expressions and co-occurrence run per rule; required elements (missing_disclosure) fire when a material
type's text never contains them. A hit is dropped when one of the rule's exceptions covers it, when a
negation cue (不, 非, 没有 ...) precedes it in the same clause, or, for rules marked `word`, when it does not
sit on word boundaries of the jieba segmentation (with the insurance user dictionary). Rules restricted to
product lines (e.g. the cooling-off period for life and health terms) run only when that product line is given.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import ahocorasick

from xiaobao.review.context import CLAUSE_END, negated
from xiaobao.review.rules import MATERIAL_TYPES, Rule, load_rules

USER_DICT = Path(__file__).parent / "data" / "insurance_dict.txt"


@dataclass(frozen=True)
class Finding:
    rule_id: str
    category: str
    severity: str
    start: int
    end: int
    text: str
    basis: str
    suggestion: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@lru_cache(maxsize=1)
def _tokenizer() -> object:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    with USER_DICT.open("rb") as fh:
        tk.load_userdict(fh)
    return tk


def word_boundaries(text: str) -> set[int]:
    tk = _tokenizer()
    bounds = {0, len(text)}
    for _word, start, end in tk.tokenize(text):  # type: ignore[attr-defined]
        bounds.add(start)
        bounds.add(end)
    return bounds


class Checker:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        self._automaton = ahocorasick.Automaton()
        index: dict[str, list[int]] = {}
        for i, rule in enumerate(self.rules):
            for term in rule.terms:
                index.setdefault(term, []).append(i)
            if rule.near:
                for term in (*rule.near.a, *rule.near.b):
                    index.setdefault(term, []).append(i)
        for term, ids in index.items():
            self._automaton.add_word(term, (term, tuple(sorted(set(ids)))))
        self._has_terms = bool(index)
        if self._has_terms:
            self._automaton.make_automaton()

    def check(
        self, text: str, material_type: str = "marketing", product_line: str | None = None
    ) -> list[Finding]:
        if material_type not in MATERIAL_TYPES:
            raise ValueError(f"material type {material_type!r} is not one of {', '.join(MATERIAL_TYPES)}")
        active = [
            r.applies_to.__contains__(material_type)
            and (not r.product_lines or product_line in r.product_lines)
            for r in self.rules
        ]
        run = _Run(text)
        hits: list[Finding] = []
        near_hits: dict[int, tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        if self._has_terms and text:
            for end_idx, (term, ids) in self._automaton.iter(text):
                start, end = end_idx - len(term) + 1, end_idx + 1
                for i in ids:
                    if not active[i]:
                        continue
                    rule = self.rules[i]
                    if term in rule.terms and run.keep(rule, start, end):
                        hits.append(_finding(rule, text, start, end))
                    if rule.near:
                        a, b = near_hits.setdefault(i, ([], []))
                        if term in rule.near.a and run.keep(rule, start, end):
                            a.append((start, end))
                        if term in rule.near.b:
                            b.append((start, end))
        for i, (a_spans, b_spans) in near_hits.items():
            rule = self.rules[i]
            assert rule.near is not None
            for s1, e1 in a_spans:
                for s2, e2 in b_spans:
                    gap = max(s1, s2) - min(e1, e2)
                    between = text[min(e1, e2) : max(s1, s2)]
                    if gap <= rule.near.within and (s1, e1) != (s2, e2) and not CLAUSE_END.search(between):
                        hits.append(_finding(rule, text, min(s1, s2), max(e1, e2)))
                        break
        for i, rule in enumerate(self.rules):
            if not active[i]:
                continue
            for pattern in rule.regex:
                for m in pattern.finditer(text):
                    if m.end() > m.start() and run.keep(rule, m.start(), m.end(), literal=False):
                        hits.append(_finding(rule, text, m.start(), m.end()))
            if rule.require and not any(p.search(text) for p in rule.require):
                hits.append(_finding(rule, text, 0, 0))
        return _dedupe(hits)


class _Run:
    """Per-text caches: exception spans per rule and the segmentation (only computed when needed)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._exceptions: dict[str, list[tuple[int, int]]] = {}
        self._bounds: set[int] | None = None

    def keep(self, rule: Rule, start: int, end: int, *, literal: bool = True) -> bool:
        if rule.negatable and negated(self.text, start):
            return False
        if rule.exceptions is not None:
            spans = self._exceptions.get(rule.id)
            if spans is None:
                spans = [(m.start(), m.end()) for m in rule.exceptions.finditer(self.text)]
                self._exceptions[rule.id] = spans
            starts = [s for s, _ in spans]
            k = bisect.bisect_right(starts, start)
            for s, e in spans[max(0, k - 8) : k + 8]:
                if s < end and start < e:
                    return False
        if rule.word and literal:
            if self._bounds is None:
                self._bounds = word_boundaries(self.text)
            if start not in self._bounds or end not in self._bounds:
                return False
        return True


def _finding(rule: Rule, text: str, start: int, end: int) -> Finding:
    return Finding(
        rule.id, rule.category, rule.severity, start, end, text[start:end], rule.basis, rule.suggestion
    )


def _dedupe(hits: list[Finding]) -> list[Finding]:
    """One finding per rule per overlapping region (the longest wins)."""
    out: list[Finding] = []
    last: dict[str, Finding] = {}
    for f in sorted(hits, key=lambda f: (f.start, -(f.end - f.start), f.rule_id)):
        prev = last.get(f.rule_id)
        if prev is not None and f.start < prev.end:
            continue
        if prev is not None and f.end == f.start == prev.start == prev.end:
            continue
        last[f.rule_id] = f
        out.append(f)
    return out


@lru_cache(maxsize=1)
def default_checker() -> Checker:
    return Checker(load_rules())


def check(text: str, material_type: str = "marketing", product_line: str | None = None) -> list[Finding]:
    return default_checker().check(text, material_type, product_line)
