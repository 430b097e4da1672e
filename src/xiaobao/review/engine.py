"""The checking engine: check(text, material_type, product_line) -> findings, pure and deterministic.

What a rule matches (the semantics; `tests/unit/test_review_engine.py` holds a naive reference
implementation of exactly this and checks the engine against it):

* terms: every occurrence of every literal term (overlapping ones included);
* regex: the matches of `pattern.finditer(text)` (non-overlapping, leftmost first), empty ones ignored;
* near: an occurrence of an `a` term and an occurrence of a `b` term at most `within` characters apart with no
  clause end (CLAUSE_END) between them; per `a` occurrence the first `b` occurrence (in order of end
  position, longest first) that qualifies gives the finding, which spans both;
* require (missing_disclosure): one finding at (0, 0) when no pattern is found anywhere in the text.

A term, near-`a` or regex hit is dropped when the rule is negatable and a negation cue (不, 非, 没有 ...)
precedes it in the same clause (context.negated), when an exception pattern matches text overlapping it (a
match starting at any position counts, so overlapping exception matches are all considered), or, for term and
near-`a` hits of rules marked `word`, when the hit does not start and end on word boundaries of the jieba
segmentation of the text (with the insurance user dictionary). Rules restricted to material types or product
lines run only when those are given. Findings are deduplicated: one per rule per overlapping region, the
earliest and then longest wins.

How it is made fast (the bench, bench/review_speed.py, reviews 10 MB with 1,000 rules):

* One Aho-Corasick automaton holds every literal the rules need: terms, near terms, and for each regex up to
  two "anchor sets", sets of literals one of which every match must contain at a known range of offsets
  from the match start (found by walking the parsed pattern: literals, alternations, small character sets of
  literals and optional parts, combined into the longest strings that stay few, e.g. 比银行存款 for
  (比|高于)(银行)?(存款|定期), or how the matches of a part begin, e.g. 最具 for 最(权威|具[一-龥]{1,3});
  case variants under IGNORECASE). A second set is only kept when it says more than the first. One pass over
  the text finds them all. A regex cannot match at all if one of its sets never occurs. Otherwise the set
  whose literals occur least gives the windows where a match can start, and only the windows that also meet
  a window of the other set (and, for patterns with a mandatory `\\d` at a bounded offset, that have a
  decimal digit there; the digit positions come from one table look-up per text) are searched, which
  reproduces finditer exactly (see `_regex_matches`). With many occurrences those window intersections are
  computed on numpy arrays. When the windows are still dense, one whole-text finditer is cheaper and is used
  instead (the cost of a scan is judged as sre does: a literal prefix or a set of first characters is skipped
  to quickly). Regexes without anchors (those that can match empty, start with an unbounded part, or have
  only single characters to anchor on while sre finds their first character by itself) run over the whole
  text.
* Each literal's occurrences are grouped in the pass and its actions applied to all of them at once.
* Exceptions are evaluated lazily, only for a candidate hit, and only in a window around it whose size comes
  from the pattern's maximum width and look-ahead reach (unbounded patterns fall back to one whole-text
  enumeration per rule and text), before negation (context.negated, the most expensive check), which is
  asked once per start position; a near `a` occurrence is checked only once a `b` occurrence qualifies.
* jieba splits text into runs of Han/alphanumeric characters and segments each run on its own, so the word
  boundaries around a hit are those of the run that contains it: only that run is segmented (once per run),
  never the whole text. This gives exactly the boundaries of whole-text segmentation.
* Near pairs are found with a binary search over the `b` occurrences (sorted by end) instead of all pairs;
  with many occurrences, the `a` occurrences without any `b` close enough are dropped first, on arrays.
* Hits are plain tuples that sort into the output order; Finding objects are built only for what survives
  deduplication.

Rule ids are expected to be unique within one Checker (load_rules enforces it); findings of rules sharing an
id are deduplicated together.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found,unused-ignore]
import bisect
import contextlib
import re
import re._compiler as sre_compiler  # type: ignore[import-not-found,unused-ignore]
import re._constants as sre_c  # type: ignore[import-not-found,unused-ignore]
import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
import numpy as np

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
def _tokenizer() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    with USER_DICT.open("rb") as fh:
        tk.load_userdict(fh)
    return tk


def word_boundaries(text: str) -> set[int]:
    """Every token boundary of the jieba segmentation of the whole text (with the user dictionary)."""
    tk = _tokenizer()
    bounds = {0, len(text)}
    for _word, start, end in tk.tokenize(text):
        bounds.add(start)
        bounds.add(end)
    return bounds


# ---------------------------------------------------------------- regex analysis

_ONE_CHAR = {sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.IN, sre_c.ANY, sre_c.CATEGORY}
_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, getattr(sre_c, "POSSESSIVE_REPEAT", sre_c.MAX_REPEAT)}
_GROUPS = {sre_c.SUBPATTERN, getattr(sre_c, "ATOMIC_GROUP", sre_c.SUBPATTERN)}


def _add(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a + b


def _max(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else max(a, b)


def _plain(node: Any) -> Any:
    """The parse tree with every SubPattern turned into a plain list of (op, argument) items (SubPattern
    indexing is slow Python code, and the analysis walks the tree many times)."""
    if isinstance(node, sre_parse.SubPattern):
        return [(op, _plain(av)) for op, av in node.data]
    if isinstance(node, tuple):
        return tuple(_plain(x) for x in node)
    if isinstance(node, list):
        return [_plain(x) for x in node]
    return node


def _items(node: Any) -> list[tuple[Any, Any]]:
    """The (op, argument) items of a (plain) parsed sub-pattern; a group's body is its last argument."""
    return node  # type: ignore[no-any-return,unused-ignore]


def _extent(items: list[tuple[Any, Any]]) -> tuple[int, int | None, int | None]:
    """(min width, max width, reach) of a parsed sequence. `reach` bounds how far right of the match start the
    matcher may look (consumed characters, look-aheads, anchors such as $ and \\b): no match attempt at
    position p inspects text[p + reach:], so `search(text, pos, endpos)` is exact for attempts at p as long
    as p + reach <= endpos. None means unbounded (or not analysed: back-references, conditionals)."""
    lo = 0  # min width so far
    h: int | None = 0  # max width so far
    r: int | None = 0  # reach so far
    for op, av in items:
        if op in _ONE_CHAR:
            r = _max(r, _add(h, 1))
            lo, h = lo + 1, _add(h, 1)
        elif op in _GROUPS:
            body = av[-1] if op == sre_c.SUBPATTERN else av
            a, b, rr = _extent(_items(body))
            r = _max(r, _add(h, rr))
            lo, h = lo + a, _add(h, b)
        elif op == sre_c.BRANCH:
            alts = [_extent(_items(alt)) for alt in av[1]]
            r = _max(r, _add(h, _fold_max(x[2] for x in alts)))
            lo, h = lo + min(x[0] for x in alts), _add(h, _fold_max(x[1] for x in alts))
        elif op in _REPEATS:
            mn, mx, body = av
            a, b, rr = _extent(_items(body))
            if mx == sre_c.MAXREPEAT:
                if b == 0 and rr == 0:  # repeating a zero-width, non-inspecting thing
                    continue
                return lo + a * mn, None, None
            if mx == 0:
                continue
            # the last iteration starts at most (mx - 1) * b after the repeat's start
            r = _max(r, _add(_add(h, None if b is None else (mx - 1) * b), rr))
            lo, h = lo + a * mn, _add(h, None if b is None else mx * b)
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            direction, body = av
            if direction == 1:  # look-ahead inspects text to the right
                r = _max(r, _add(h, _extent(_items(body))[2]))
            # a look-behind only looks left of the position, which search(pos=...) does not cut
        elif op == sre_c.AT:
            # $, \b, \Z ... look at the character at the position, and $ also asks whether the one
            # after it is the end ("a newline at the very end")
            r = _max(r, _add(h, 2))
        else:  # back-references, conditionals, anything unusual: give up on bounds
            return lo, None, None
    return lo, h, r


def _fold_max(values: Iterable[int | None]) -> int | None:
    out: int | None = 0
    for v in values:
        out = _max(out, v)
    return out


_MAX_ALTERNATIVES = 64  # literal strings one item may stand for (more would flood the automaton)
_I = sre_c.SRE_FLAG_IGNORECASE


# Non-ASCII characters that case-insensitive matching equates with an ASCII letter (dotted and dotless i, the
# Kelvin sign, long s); a unit test asks the regex engine for every code point to confirm the table.
EXTRA_CASES: dict[str, tuple[str, ...]] = {"i": ("\u0130", "\u0131"), "k": ("\u212a",), "s": ("\u017f",)}


def _char_cases(code: int, icase: bool) -> list[str] | None:
    """The characters a literal matches: itself, or under IGNORECASE every character equated with it (known
    only for ASCII letters and characters without case, such as Chinese)."""
    ch = chr(code)
    if not icase or not _sre.unicode_iscased(code):  # the regex engine's own test
        return [ch]
    if ch.isascii():
        low = ch.lower()
        return sorted({low, ch.upper(), *EXTRA_CASES.get(low, ())})
    return None


def _sequence_strings(items: list[tuple[Any, Any]], icase: bool) -> list[str] | None:
    """The strings a sequence of literal-only items matches (their product), if there are few."""
    out = [""]
    for op, av in items:
        more = _alternatives(op, av, icase)
        if more is None or len(out) * len(more) > _MAX_ALTERNATIVES:
            return None
        out = [x + y for x in out for y in more]
    return out


def _prefixes(op: Any, av: Any, icase: bool) -> list[str] | None:
    """Literal strings one of which every match of the item starts with (the whole match when the item is
    all literals, else only its beginning), e.g. 具 for 具[一-龥]{1,3}; may hold ""."""
    alts = _alternatives(op, av, icase)
    if alts is not None:
        return alts
    if op == sre_c.SUBPATTERN:
        inner = (icase or bool(av[1] & _I)) and not av[2] & _I
        return _leading(_items(av[-1]), inner)
    if op == sre_c.BRANCH:
        out: list[str] = []
        for alt in av[1]:
            out += _leading(_items(alt), icase)
        return out if len(out) <= _MAX_ALTERNATIVES else None
    return None


def _leading(items: list[tuple[Any, Any]], icase: bool) -> list[str]:
    """Literal strings one of which every match of the sequence starts with ([""]: nothing known)."""
    out = [""]
    for op, av in items:
        more = _alternatives(op, av, icase)
        whole = more is not None
        if more is None:
            more = _prefixes(op, av, icase)
        if more is None or len(out) * len(more) > _MAX_ALTERNATIVES:
            break
        out = [x + y for x in out for y in more]
        if not whole:
            break
    return out


def _alternatives(op: Any, av: Any, icase: bool) -> list[str] | None:
    """The literal strings an item matches, when it is a literal, a small character set of literals, or a
    group or alternation of those."""
    if op == sre_c.LITERAL:
        return _char_cases(av, icase)
    if op == sre_c.IN:
        if len(av) > 8 or not all(o == sre_c.LITERAL for o, _ in av):
            return None
        chars: set[str] = set()
        for _o, code in av:
            cases = _char_cases(code, icase)
            if cases is None:
                return None
            chars.update(cases)
        return sorted(chars)
    if op == sre_c.SUBPATTERN:
        _group, add_flags, del_flags, body = av
        inner = (icase or bool(add_flags & _I)) and not del_flags & _I
        return _sequence_strings(_items(body), inner)
    if op == sre_c.BRANCH:
        out: list[str] = []
        for alt in av[1]:
            strings = _sequence_strings(_items(alt), icase)
            if strings is None:
                return None
            out += strings
        return out if len(out) <= _MAX_ALTERNATIVES else None
    if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT) and av[1] == 1:  # x? (greedy or lazy): "" or x
        body = _sequence_strings(_items(av[2]), icase)
        if body is None:
            return None
        return ([""] if av[0] == 0 else []) + body
    return None


def _minimal(strings: list[str]) -> list[str]:
    """The strings without those that extend another one of them: where 预期收益率 occurs, 预期收益 occurs at
    the same position, so the shorter one alone gives the same windows."""
    kept: set[str] = set()
    for s in sorted(set(strings), key=len):
        if not any(s[:k] in kept for k in range(1, len(s))):
            kept.add(s)
    return [s for s in dict.fromkeys(strings) if s in kept]


Anchor = tuple[str, int, int]  # a literal and the range of its offset from the match start


def _score(candidate: list[Anchor]) -> tuple[int, int, int]:
    """Static preference among anchor sets: long literals, narrow offset ranges, few literals."""
    return (
        -min(len(s) for s, _, _ in candidate),
        max(b - a for _, a, b in candidate),
        len(candidate),
    )


def _anchor_sets(items: list[tuple[Any, Any]], icase: bool, limit: int = 2) -> list[list[Anchor]]:
    """Sets of literals such that every match of the sequence contains one literal of each set at an offset
    (from the match start) within that literal's range; the best `limit` by static preference. Which set is
    used is decided per text, by how often its literals actually occur (see Checker.check)."""
    found: list[list[Anchor]] = []
    lo, hi = 0, 0  # offset range of the current item
    k = 0
    while k < len(items):
        op, av = items[k]
        candidate: list[Anchor] | None = None
        step = 1
        if op == sre_c.LITERAL:  # a run of literals is one string
            j = k
            while j < len(items) and items[j][0] == sre_c.LITERAL:
                j += 1
            step = j - k
        alts = _alternatives(op, av, icase)
        if alts is not None:
            # followed by more literals or literal alternatives: longer (rarer) strings, e.g. 退(保|掉) is
            # 退保 or 退掉, as long as the combinations stay few
            j = k + 1
            while j < len(items):
                more = _alternatives(items[j][0], items[j][1], icase)
                if more is None:  # not all literals: extend by how its matches begin, and stop there
                    more = _prefixes(items[j][0], items[j][1], icase)
                    if more is not None and len(alts) * len(more) <= _MAX_ALTERNATIVES:
                        alts = [x + y for x in alts for y in more]
                    break
                if len(alts) * len(more) > _MAX_ALTERNATIVES:
                    break
                alts = [x + y for x in alts for y in more]
                j += 1
            # an item that may match nothing (x?) is no anchor by itself: a match need not contain it
            candidate = None if "" in alts else [(s, lo, hi) for s in _minimal(alts)]
        elif op == sre_c.SUBPATTERN:
            inner_icase = (icase or bool(av[1] & _I)) and not av[2] & _I
            inner = _anchor_sets(_items(av[-1]), inner_icase, 1)
            candidate = [(s, lo + a, hi + b) for s, a, b in inner[0]] if inner else None
        elif op == sre_c.BRANCH:
            parts = [_anchor_sets(_items(alt), icase, 1) for alt in av[1]]
            if all(parts):
                candidate = [(s, lo + a, hi + b) for p in parts for s, a, b in p[0]]
        if candidate:
            found.append(candidate)
        a, b, _r = _extent(items[k : k + step])
        if b is None:
            break  # offsets after an unbounded item are unbounded
        lo, hi = lo + a, hi + b
        k += step
    ranked = sorted(found, key=_score)
    # Every literal of every set is one more thing the automaton reports: sets with one-character literals
    # (的, 保, 元 ...) occur everywhere, so they are only used when nothing better exists.
    good = [c for c in ranked if min(len(s) for s, _, _ in c) >= 2]
    if not good:
        return ranked[:1]
    # a further set is worth its automaton hits only if it says more than the first: not when each literal
    # of the first contains one of its literals anyway (存款 in 比存款 of (比|高于)(银行)?(存款|定期))
    out = [good[0]]
    for c in good[1:]:
        if len(out) == limit:
            break
        if not all(any(t in s for t, _, _ in c) for s, _, _ in good[0]):
            out.append(c)
    return out


@dataclass(frozen=True)
class _Pattern:
    """A compiled pattern with what the engine knows about it."""

    regex: re.Pattern[str]
    max_width: int | None
    reach: int | None
    anchor_sets: tuple[tuple[Anchor, ...], ...] = ()  # none: run finditer over the whole text
    scan_ns: int = 300  # rough cost of a whole-text scan per character (see _WINDOW_NS)
    digit: tuple[int, int] | None = None  # every match has a decimal digit (\d) at an offset in this range


def _analyse(pattern: re.Pattern[str], *, want_anchors: bool) -> _Pattern:
    return _Pattern(pattern, *_analysis(pattern.pattern, pattern.flags, want_anchors))


_DIGIT = (sre_c.IN, [(sre_c.CATEGORY, sre_c.CATEGORY_DIGIT)])  # \d, parsed


def _digit_offset(items: list[tuple[Any, Any]]) -> tuple[int, int] | None:
    """The offset range (from the match start) of a decimal digit every match holds: a `\\d`, or the first
    character of `\\d+` / `\\d{2,}`, in the sequence or a group of it, before anything unbounded."""
    lo, hi = 0, 0
    for op, av in items:
        if (op, av) == _DIGIT or (op in _REPEATS and av[0] >= 1 and av[2] == [_DIGIT]):
            return lo, hi
        if op == sre_c.SUBPATTERN and not av[1] & re.ASCII:
            inner = _digit_offset(_items(av[-1]))
            if inner is not None:
                return lo + inner[0], hi + inner[1]
        a, b, _r = _extent([(op, av)])
        if b is None:
            return None
        lo, hi = lo + a, hi + b
    return None


@lru_cache(maxsize=8192)
def _analysis(
    source: str, flags: int, want_anchors: bool
) -> tuple[int | None, int | None, tuple[tuple[Anchor, ...], ...], int, tuple[int, int] | None]:
    """(max width, reach, anchor sets, scan cost, digit offsets) of a pattern; cached by source, so that
    rebuilding a Checker after a rule edit only analyses the changed patterns."""
    try:
        parsed = sre_parse.parse(source, flags)
        items = _plain(parsed)
        min_w, max_w, reach = _extent(items)
    except Exception:  # an analysis failure only costs speed  # noqa: BLE001
        return None, None, (), 300, None
    anchor_sets: tuple[tuple[Anchor, ...], ...] = ()
    icase = bool(flags & re.IGNORECASE)
    digit = None
    if want_anchors and min_w > 0:
        anchor_sets = tuple(tuple(c) for c in _anchor_sets(items, icase))
        if not flags & re.ASCII and "\\d" in source:  # any Unicode decimal digit (see _decimal_digits)
            digit = _digit_offset(items)
    # how sre scans for a match start (re._compiler._compile_info): a literal prefix is searched for
    # directly, a set of first characters is checked per position, anything else is tried everywhere
    scan_ns = 300
    with contextlib.suppress(Exception):  # only speed depends on it
        state_flags = parsed.state.flags
        if min_w > 0 and not (state_flags & re.IGNORECASE and state_flags & re.LOCALE):
            if sre_compiler._get_literal_prefix(parsed, state_flags)[0]:
                scan_ns = 3
            elif sre_compiler._get_charset_prefix(parsed, state_flags):
                scan_ns = 10
    if anchor_sets and min(len(a) for a, _lo, _hi in anchor_sets[0]) == 1 and scan_ns <= 3:
        # single characters to anchor on, which occur everywhere, while sre itself searches for the literal
        # prefix: one whole-text scan is quick
        anchor_sets = ()
    return max_w, reach, anchor_sets, scan_ns, digit


# ---------------------------------------------------------------- the checker

# actions of a literal: a term, a near `a` or `b` term, or an anchor (of one anchor set of a regex)
_TERM, _NEAR_A, _NEAR_B, _ANCHOR = range(4)


# Rough costs for choosing, per regex and text, between windows and one whole-text finditer: a window costs
# a few microseconds of Python; a whole-text scan costs `scan_ns` per character, depending on how the
# pattern starts (a literal prefix is searched fast, a set of first characters is checked per position,
# anything else is tried at every position). Both give the same matches; only the speed differs.
_WINDOW_NS = 1000


class Checker:
    """Construction analyses the rules' regexes and builds one automaton: 0.3–0.5 s of CPU for 1,000 rules
    the first time, tens of ms to rebuild after a rule edit (the regex analysis is cached by pattern source).
    A Checker is immutable apart from a small cache of per-material-type tables, so threads can share it."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = list(rules)
        # the position of each rule's id among the sorted ids (rules sharing an id share a rank)
        ids = sorted({r.id for r in self.rules})
        self._rank = [bisect.bisect_left(ids, r.id) for r in self.rules]
        # one regex "slot" per rule pattern: (rule index, analysed pattern)
        self._slots: list[tuple[int, _Pattern]] = []
        self._exceptions: list[_Pattern | None] = []
        # anchor sets: the regex slot of each, and whether all its anchors sit at a fixed offset (so that a
        # window is a single position)
        self._aset_slot: list[int] = []
        self._aset_point: list[bool] = []
        self._slot_asets: list[list[int]] = []  # slot -> its anchor sets
        actions: dict[str, list[tuple[int, int, int, int]]] = {}  # literal -> (kind, rule, a, b)

        def act(term: str, action: tuple[int, int, int, int]) -> None:
            lst = actions.setdefault(term, [])
            if action not in lst:
                lst.append(action)

        for i, rule in enumerate(self.rules):
            for term in rule.terms:
                act(term, (_TERM, i, 0, 0))
            if rule.near:
                for term in rule.near.a:
                    act(term, (_NEAR_A, i, 0, 0))
                for term in rule.near.b:
                    act(term, (_NEAR_B, i, 0, 0))
            for pattern in rule.regex:
                slot = len(self._slots)
                analysed = _analyse(pattern, want_anchors=True)
                self._slots.append((i, analysed))
                self._slot_asets.append([])
                for anchors in analysed.anchor_sets:
                    aset = len(self._aset_slot)
                    self._slot_asets[slot].append(aset)
                    self._aset_slot.append(slot)
                    self._aset_point.append(all(lo == hi for _s, lo, hi in anchors))
                    for literal, lo, hi in anchors:
                        act(literal, (_ANCHOR, aset, lo, hi))
            self._exceptions.append(
                _analyse(rule.exceptions, want_anchors=False) if rule.exceptions is not None else None
            )
        self._keys = list(actions)
        self._key_len = [len(k) for k in self._keys]
        self._actions = [tuple(actions[k]) for k in self._keys]
        self._automaton = ahocorasick.Automaton()
        for kid, key in enumerate(self._keys):
            self._automaton.add_word(key, kid)
        if self._keys:
            self._automaton.make_automaton()
        self._unanchored = [s for s, (_i, p) in enumerate(self._slots) if not p.anchor_sets]
        self._tables: dict[tuple[str, str | None], tuple[list[bool], list[Any]]] = {}

    def _table(self, material_type: str, product_line: str | None) -> tuple[list[bool], list[Any]]:
        """Active rules and, per automaton key, its actions for active rules only (None when none)."""
        key = (material_type, product_line)
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        active = [
            material_type in r.applies_to and (not r.product_lines or product_line in r.product_lines)
            for r in self.rules
        ]
        table: list[Any] = []
        for acts in self._actions:
            keep = tuple(
                a for a in acts if active[self._slots[self._aset_slot[a[1]]][0] if a[0] == _ANCHOR else a[1]]
            )
            table.append(keep or None)
        if len(self._tables) > 64:
            self._tables.clear()
        self._tables[key] = (active, table)
        return active, table

    def check(
        self, text: str, material_type: str = "marketing", product_line: str | None = None
    ) -> list[Finding]:
        if material_type not in MATERIAL_TYPES:
            raise ValueError(f"material type {material_type!r} is not one of {', '.join(MATERIAL_TYPES)}")
        active, table = self._table(material_type, product_line)
        rules, rank = self.rules, self._rank
        run = _Run(text, self)
        keep = run.keep
        # hits as (start, start - end, rank of the rule id, end, rule index): sorting them is the output order
        hits: list[tuple[int, int, int, int, int]] = []
        add = hits.append
        # near terms per rule: (end indexes, length) per literal
        near_a: defaultdict[int, list[tuple[list[int], int]]] = defaultdict(list)
        near_b: defaultdict[int, list[tuple[list[int], int]]] = defaultdict(list)
        anchor_count: defaultdict[int, int] = defaultdict(int)  # anchor set -> occurrences of its literals
        anchor_hits: list[tuple[int, list[int], int, int, int]] = []  # (anchor set, ends, length, lo, hi)

        # One pass of the automaton, grouping the end positions by literal; then each literal's actions are
        # applied to all its occurrences at once.
        found: defaultdict[int, list[int]] = defaultdict(list)
        if self._keys and text:
            for end_idx, kid in self._automaton.iter(text):
                found[kid].append(end_idx)
        key_len = self._key_len
        for kid, ends in found.items():
            acts = table[kid]
            if acts is None:
                continue
            n = key_len[kid]
            for kind, i, lo, hi in acts:
                if kind == _TERM:
                    r = rank[i]
                    for e in ends:
                        if keep(i, e + 1 - n, e + 1, True):
                            add((e + 1 - n, -n, r, e + 1, i))
                elif kind == _ANCHOR:  # windows are made below, for the chosen anchor set only
                    anchor_count[i] += len(ends)
                    anchor_hits.append((i, ends, n, lo, hi))
                elif kind == _NEAR_A:  # kept or not is asked only once a `b` is close enough
                    near_a[i].append((ends, n))
                else:
                    near_b[i].append((ends, n))
        for i, a_hits in near_a.items():
            if i in near_b:
                self._near(text, rules[i], rank[i], i, a_hits, near_b[i], keep, add, run.arrays)
        # Regexes: a regex with an anchor set that does not occur at all cannot match. Otherwise the anchor
        # set whose literals occur least gives the windows where a match can start, and those are kept only
        # where the regex's other anchor set allows a match start too (every match holds both).
        by_set: defaultdict[int, list[tuple[list[int], int, int, int]]] = defaultdict(list)
        for aset, ends, n, lo, hi in anchor_hits:
            by_set[aset].append((ends, n, lo, hi))
        n_text = len(text)
        slot_asets, aset_point = self._slot_asets, self._aset_point
        for slot in sorted({self._aset_slot[aset] for aset in anchor_count}):
            asets = slot_asets[slot]
            counts = [anchor_count.get(aset, 0) for aset in asets]
            if min(counts) == 0:
                continue
            base = asets[counts.index(min(counts))]
            point = aset_point[base]
            others = [by_set[a] for a in asets if a != base]
            if others and sum(counts) > _NUMPY_FROM:
                wins = _windows_numpy(by_set[base], others, point, run.arrays)
            else:
                wins = _windows(by_set[base], others, point)
            i, pattern = self._slots[slot]
            if pattern.digit is not None and len(wins) >= _DIGIT_FILTER_FROM:
                wins = _digit_windows(wins, point, run.digits(), pattern.digit)
            if not wins:
                continue
            r = rank[i]
            if len(wins) * _WINDOW_NS > n_text * pattern.scan_ns:  # dense: one scan is cheaper
                matches: Iterable[tuple[int, int]] = (m.span() for m in pattern.regex.finditer(text))
            else:
                matches = _regex_matches(text, pattern, wins, point)
            for s, e in matches:
                if e > s and keep(i, s, e, False):
                    add((s, s - e, r, e, i))
        for slot in self._unanchored:
            i, pattern = self._slots[slot]
            if not active[i]:
                continue
            r = rank[i]
            for m in pattern.regex.finditer(text):
                s, e = m.span()
                if e > s and keep(i, s, e, False):
                    add((s, s - e, r, e, i))
        for i, rule in enumerate(rules):
            if rule.require and active[i] and not any(p.search(text) for p in rule.require):
                add((0, 0, rank[i], 0, i))
        return self._dedupe(text, hits)

    @staticmethod
    def _near(
        text: str,
        rule: Rule,
        r: int,
        i: int,
        a_hits: list[tuple[list[int], int]],
        b_hits: list[tuple[list[int], int]],
        keep: Any,
        add: Any,
        arrays: dict[int, Any],
    ) -> None:
        """For each kept `a` occurrence, the first qualifying `b` occurrence in automaton order (by end, then
        longest first). Only `b` occurrences whose end lies in [s1 - within, e1 + within + longest b] can be
        within `within` characters, so a binary search over their ends bounds the candidates (with many
        occurrences, the `a` occurrences without any such `b` are dropped first, on arrays). Whether an `a`
        occurrence is kept (negation, exceptions, word boundaries) is only asked once a `b` qualifies: the
        answer does not depend on `b`, and most `a` occurrences have none."""
        assert rule.near is not None
        within = rule.near.within
        longest_b = max(len(t) for t in rule.near.b)
        count = sum(len(ends) for ends, _n in a_hits) + sum(len(ends) for ends, _n in b_hits)
        a_spans: Iterable[tuple[int, int]]
        if count > _NUMPY_FROM:
            b_end = np.concatenate([_array(arrays, ends) for ends, _n in b_hits])
            b_start = np.concatenate([_array(arrays, ends) - n for ends, n in b_hits])
            order = np.lexsort((b_start, b_end))  # by end, then start: the order of a scan
            b_end, b_start = b_end[order], b_start[order]
            a_end = np.concatenate([_array(arrays, ends) for ends, _n in a_hits])
            a_start = np.concatenate([_array(arrays, ends) - n for ends, n in a_hits])
            first = np.searchsorted(b_end, a_start - within)
            has = first < len(b_end)
            has[has] = b_end[first[has]] <= (a_end + within + longest_b)[has]
            a_spans = zip(a_start[has].tolist(), a_end[has].tolist(), strict=True)
            ends, starts = b_end.tolist(), b_start.tolist()
        else:
            b_spans = sorted((e + 1, e + 1 - n) for b_ends, n in b_hits for e in b_ends)
            ends, starts = [e for e, _s in b_spans], [s for _e, s in b_spans]
            a_spans = [(e + 1 - n, e + 1) for a_ends, n in a_hits for e in a_ends]
        nb = len(ends)
        for s1, e1 in a_spans:
            k = bisect.bisect_left(ends, s1 - within)
            limit = e1 + within + longest_b
            while k < nb and ends[k] <= limit:
                e2, s2 = ends[k], starts[k]
                k += 1
                lo = e1 if e1 < e2 else e2
                hi = s1 if s1 > s2 else s2
                if hi - lo <= within and (s1 != s2 or e1 != e2) and not CLAUSE_END.search(text, lo, hi):
                    if keep(i, s1, e1, True):
                        s, e = min(s1, s2), max(e1, e2)
                        add((s, s - e, r, e, i))
                    break

    def _dedupe(self, text: str, hits: list[tuple[int, int, int, int, int]]) -> list[Finding]:
        """One finding per rule per overlapping region: the earliest, then the longest, wins. The hit tuples
        sort by (start, -length, rule id); Finding objects are made only for the survivors."""
        rules = self.rules
        hits.sort()
        out: list[Finding] = []
        append = out.append
        # per rank of a rule id: start and end of its last finding (-1: none yet)
        last_start = [-1] * len(rules)
        last_end = [-1] * len(rules)
        for s, _neg_len, r, e, i in hits:
            prev_end = last_end[r]
            if s < prev_end or (e == s == prev_end and last_start[r] == prev_end):
                continue
            last_start[r] = s
            last_end[r] = e
            rule = rules[i]
            append(
                Finding(rule.id, rule.category, rule.severity, s, e, text[s:e], rule.basis, rule.suggestion)
            )
        return out


_NUMPY_FROM = 400  # anchor occurrences from which windows are filtered with numpy (below, plain Python)

AnchorHits = list[tuple[list[int], int, int, int]]  # per literal of a set: (end indexes, length, lo, hi)


def _windows(base: AnchorHits, others: list[AnchorHits], point: bool) -> list[Any]:
    """Where a match can start, from the occurrences of the base anchor set: [start - hi, start - lo] (a
    single position for a point set), kept only where they meet a window of every other set."""
    wins: list[Any]
    if point:
        wins = [e + 1 - n - lo for ends, n, lo, _hi in base for e in ends]
    else:
        wins = [(e + 1 - n - hi, e + 1 - n - lo) for ends, n, lo, hi in base for e in ends]
    for other in others:
        if not wins:
            break
        spans = sorted((e + 1 - n - hi, e + 1 - n - lo) for ends, n, lo, hi in other for e in ends)
        starts = [a for a, _b in spans]
        top: list[int] = []
        m = -1
        for _a, b in spans:
            m = b if b > m else m
            top.append(m)
        kept: list[Any] = []
        for w in wins:
            w_lo, w_hi = (w, w) if point else w
            k = bisect.bisect_right(starts, w_hi) - 1
            if k >= 0 and top[k] >= w_lo:
                kept.append(w)
        wins = kept
    return wins


def _array(arrays: dict[int, Any], ends: list[int]) -> Any:
    """The end positions (exclusive) of a literal's occurrences as an array, made once per check (a
    literal such as 保险 may anchor many regexes): `arrays` maps id(ends) to it while `ends` lives."""
    arr = arrays.get(id(ends))
    if arr is None:
        arr = arrays[id(ends)] = np.array(ends, dtype=np.int64) + 1
    return arr


def _windows_numpy(
    base: AnchorHits, others: list[AnchorHits], point: bool, arrays: dict[int, Any]
) -> list[Any]:
    """_windows for many occurrences: the same windows, computed on arrays."""

    def spans(hits: AnchorHits) -> tuple[Any, Any]:
        lo_parts, hi_parts = [], []
        for ends, n, lo, hi in hits:
            arr = _array(arrays, ends) - n
            lo_parts.append(arr - hi)
            hi_parts.append(arr - lo)
        return np.concatenate(lo_parts), np.concatenate(hi_parts)

    w_lo, w_hi = spans(base)
    for other in others:
        o_lo, o_hi = spans(other)
        order = np.argsort(o_lo, kind="stable")
        o_lo, top = o_lo[order], np.maximum.accumulate(o_hi[order])
        k = np.searchsorted(o_lo, w_hi, side="right") - 1
        meets = (k >= 0) & (top[np.maximum(k, 0)] >= w_lo)
        w_lo, w_hi = w_lo[meets], w_hi[meets]
    if point:
        return w_lo.tolist()  # type: ignore[no-any-return,unused-ignore]
    return list(zip(w_lo.tolist(), w_hi.tolist(), strict=True))


_DIGIT_FILTER_FROM = 32  # windows from which the digit positions are consulted


def _digit_windows(wins: list[Any], point: bool, digits: Any, offsets: tuple[int, int]) -> list[Any]:
    """The windows [a, b] (or positions a = b) in which a match can start given that every match has a
    decimal digit at an offset in `offsets`: those with a digit in [a + lo, b + hi] (`digits` sorted)."""
    arr = np.array(wins, dtype=np.int64)
    if point:
        a = b = arr
    else:
        a, b = arr[:, 0], arr[:, 1]
    k = np.searchsorted(digits, a + offsets[0])
    has = k < len(digits)
    has[has] = digits[k[has]] <= (b + offsets[1])[has]
    return [w for w, ok in zip(wins, has.tolist(), strict=True) if ok]


@lru_cache(maxsize=1)
def _decimal_digits() -> Any:
    """A table over all code points: does the regex engine's `\\d` match it (Unicode decimal digits)."""
    table = np.zeros(0x110000, dtype=np.bool_)
    every = "".join(map(chr, range(0x110000)))
    table[[m.start() for m in re.finditer(r"\d", every)]] = True
    return table


def _regex_matches(
    text: str, pattern: _Pattern, windows: list[Any], point: bool
) -> Iterable[tuple[int, int]]:
    """The spans `pattern.regex.finditer(text)` yields, computed only where matches can start.

    Every match starts in one of the windows (an anchor literal sits at a known offset range from the match
    start). finditer is "search from the end of the previous match"; the leftmost match at or after `pos`
    is the first success among window positions >= pos, and a window is searched with an `endpos` no
    attempt inside it can look past (the pattern's reach), so each search sees what a whole-text search sees.
    A match found beyond the window is ignored (that part of the text was cut); later windows cover it.
    Patterns with unbounded reach are tried position by position with match().
    """
    regex, reach, n = pattern.regex, pattern.reach, len(text)
    if point:  # every anchor at a fixed offset: each window is one position, try match() there
        pos = 0
        for p in sorted(set(windows)):
            if p >= pos:
                m = regex.match(text, p)
                if m is not None:
                    yield m.span()
                    pos = m.end()
        return
    windows.sort()
    merged: list[tuple[int, int]] = []
    cur_s, cur_e = windows[0]
    for s, e in windows:
        if s <= cur_e + 1:
            if e > cur_e:
                cur_e = e
        else:
            merged.append((cur_s, cur_e))
            cur_s, cur_e = s, e
    merged.append((cur_s, cur_e))
    pos = 0
    for ws, we in merged:
        p = ws if ws > pos else pos
        while p <= we:
            if reach is not None:
                m = regex.search(text, p, min(n, we + reach))
                if m is None or m.start() > we:
                    break
            else:
                m = None
                while p <= we:
                    m = regex.match(text, p)
                    if m is not None:
                        break
                    p += 1
                if m is None:
                    break
            # anchored patterns cannot match empty (checked when analysed)
            yield m.span()
            p = pos = m.end()


class _Run:
    """One check of one text: lazily computed exception matches and word segmentation, kept per text."""

    def __init__(self, text: str, checker: Checker) -> None:
        self.text = text
        self.rules = checker.rules
        self.exceptions = checker._exceptions
        self._all_exceptions: dict[int, tuple[list[int], list[int]]] = {}
        self._blocks: dict[int, set[int]] = {}  # start of a Han run -> its token boundaries
        self._negated: dict[int, bool] = {}  # start -> context.negated(text, start)
        self._digits: Any = None
        self.arrays: dict[int, Any] = {}  # see _array

    def digits(self) -> Any:
        """The positions of the decimal digits of the text, sorted (a numpy array)."""
        if self._digits is None:
            codes = np.frombuffer(self.text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
            self._digits = np.flatnonzero(_decimal_digits()[codes])
        return self._digits

    def keep(self, i: int, start: int, end: int, literal: bool) -> bool:
        """All three filters must pass; the cheapest run first. negated() looks at up to a sentence of
        context per call, so its answer is kept per start position (several rules often hit there)."""
        rule = self.rules[i]
        exc = self.exceptions[i]
        if exc is not None and self._excepted(i, exc, start, end):
            return False
        if rule.negatable:
            neg = self._negated.get(start)
            if neg is None:
                neg = self._negated[start] = negated(self.text, start)
            if neg:
                return False
        if rule.word and literal:
            return self._boundary(start) and self._boundary(end)
        return True

    def _excepted(self, i: int, exc: _Pattern, start: int, end: int) -> bool:
        """Does an exception match (starting anywhere) overlap [start, end)?"""
        text, regex = self.text, exc.regex
        if exc.max_width is None or exc.reach is None:
            # unbounded: every match in the text once per rule, as match starts and a running maximum of
            # their ends; a match overlaps [start, end) iff it starts inside (start, end), or it starts at
            # or before start and ends after it
            found = self._all_exceptions.get(i)
            if found is None:
                found = self._all_exceptions[i] = _all_matches(regex, text)
            starts, max_ends = found
            k = bisect.bisect_right(starts, start)
            return (k < len(starts) and starts[k] < end) or (k > 0 and max_ends[k - 1] > start)
        p = max(0, start - exc.max_width)
        endpos = min(len(text), end + exc.reach)
        while p < end:
            m = regex.search(text, p, endpos)
            if m is None or m.start() >= end:
                return False
            s, e = m.span()
            if s < end and start < e:
                return True
            p = s + 1
        return False

    def _boundary(self, x: int) -> bool:
        """Is x a token boundary of the whole-text jieba segmentation? jieba cuts text into runs of
        `re_han_default` characters (segmented one by one) and single other characters (whitespace
        one by one, except that \\r\\n is one token), so only a position inside a run needs the run's
        segmentation."""
        text = self.text
        if x <= 0 or x >= len(text):
            return True
        if not (_HAN_CHAR.match(text, x - 1) and _HAN_CHAR.match(text, x)):
            return not (text[x - 1] == "\r" and text[x] == "\n")
        lo = x - 1
        while lo > 0 and _HAN_CHAR.match(text, lo - 1):
            lo -= 1
        bounds = self._blocks.get(lo)
        if bounds is None:
            m = _HAN_RUN.match(text, lo)
            assert m is not None
            bounds = {lo + b for _w, _s, b in _tokenizer().tokenize(m.group())}
            self._blocks[lo] = bounds
        return x in bounds


_HAN_CHAR = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&\._%\-]")  # jieba.re_han_default, one character
_HAN_RUN = re.compile(_HAN_CHAR.pattern + "+")


def _all_matches(regex: re.Pattern[str], text: str) -> tuple[list[int], list[int]]:
    """The match at every position where the pattern matches (search, then search again one further), as
    their starts and the running maximum of their ends."""
    starts: list[int] = []
    max_ends: list[int] = []
    p, top = 0, -1
    while p <= len(text):
        m = regex.search(text, p)
        if m is None:
            break
        top = max(top, m.end())
        starts.append(m.start())
        max_ends.append(top)
        p = m.start() + 1
    return starts, max_ends


@lru_cache(maxsize=1)
def default_checker() -> Checker:
    return Checker(load_rules())


def check(text: str, material_type: str = "marketing", product_line: str | None = None) -> list[Finding]:
    return default_checker().check(text, material_type, product_line)
