"""Complaint classification as data: business lines, causes, channels, demands and special groups.

The default table lives in `data/taxonomy.yaml` (interim, modelled on the regulator's bulletins).
GB/T 43568-2023 Annex A codes can replace it: write a file of the same shape and call `load_taxonomy(path)`.

Codes are unique within a kind (the same code, e.g. ``other``, may appear in several kinds). Complaints are
classified with leaf codes; parents group leaves in dropdowns and roll up in statistics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "taxonomy.yaml"

KINDS: tuple[str, ...] = ("business_lines", "causes", "channels", "demands", "special_groups")
"""Kinds every taxonomy file must define (more may be present)."""

KIND_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "business_lines": ("险种", "Business line"),
        "causes": ("投诉原因", "Cause"),
        "channels": ("投诉渠道", "Channel"),
        "demands": ("投诉诉求", "Demand"),
        "special_groups": ("特殊群体", "Special group"),
    }
)

_METADATA_KEYS = frozenset({"version", "source", "description"})
_ENTRY_KEYS = frozenset({"code", "zh", "en", "children"})
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")
_MAX_DEPTH = 2


class TaxonomyError(ValueError):
    """A taxonomy file is malformed; the message names the file and the offending entry."""


@dataclass(frozen=True)
class Term:
    """One classification entry. `parent` is the parent's code (None at the top level)."""

    kind: str
    code: str
    zh: str
    en: str
    parent: str | None = None
    children: tuple[Term, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), hash=False, compare=False)
    """Extra attributes from the file (e.g. ``regulator``, ``age_min``), read-only."""

    @property
    def is_leaf(self) -> bool:
        return not self.children

    @property
    def regulator(self) -> bool:
        """Channels only: complaints arriving this way were forwarded by the regulator (监管转办)."""
        return bool(self.attrs.get("regulator", False))

    def label(self, lang: str = "zh") -> str:
        return self.en if lang.lower().startswith("en") else self.zh

    def walk(self) -> Iterator[Term]:
        """This term and its descendants, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass(frozen=True)
class ChoiceGroup:
    """Options for one <optgroup>; `label`/`code` are None for a run of ungrouped top-level leaves."""

    label: str | None
    code: str | None
    options: tuple[tuple[str, str], ...]


class Taxonomy:
    """An immutable, indexed classification table. Build with `load_taxonomy` or `Taxonomy.from_mapping`."""

    def __init__(
        self,
        kinds: Mapping[str, tuple[Term, ...]],
        *,
        version: str = "",
        source: str = "",
    ) -> None:
        self.version = version
        self.source = source
        self._roots: dict[str, tuple[Term, ...]] = dict(kinds)
        self._index: dict[str, dict[str, Term]] = {
            kind: {t.code: t for root in roots for t in root.walk()} for kind, roots in self._roots.items()
        }

    # ---- construction -----------------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Any, *, origin: str = "<mapping>") -> Taxonomy:
        """Validate a parsed YAML document and build the taxonomy; raise `TaxonomyError` naming the entry."""
        if not isinstance(data, dict):
            raise TaxonomyError(f"{origin}: expected a mapping of kinds at the top level")
        missing = [k for k in KINDS if k not in data]
        if missing:
            raise TaxonomyError(f"{origin}: missing kind(s): {', '.join(missing)}")
        kinds: dict[str, tuple[Term, ...]] = {}
        for kind, entries in data.items():
            if kind in _METADATA_KEYS:
                continue
            if not isinstance(kind, str):
                raise TaxonomyError(f"{origin}: kind names must be strings, got {kind!r}")
            kinds[kind] = _parse_kind(kind, entries, origin)
        return cls(kinds, version=str(data.get("version", "")), source=str(data.get("source", "")))

    # ---- lookups ----------------------------------------------------------------------------------

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self._roots)

    def _kind(self, kind: str) -> dict[str, Term]:
        try:
            return self._index[kind]
        except KeyError:
            raise KeyError(f"unknown taxonomy kind {kind!r}; known: {', '.join(self._roots)}") from None

    def roots(self, kind: str) -> tuple[Term, ...]:
        """Top-level terms of a kind, in file order."""
        self._kind(kind)
        return self._roots[kind]

    def terms(self, kind: str) -> tuple[Term, ...]:
        """Every term of a kind (parents and leaves), depth first in file order."""
        return tuple(self._kind(kind).values())

    def term(self, kind: str, code: str) -> Term:
        """The term for a code; KeyError if unknown."""
        terms = self._kind(kind)
        try:
            return terms[code]
        except KeyError:
            raise KeyError(f"unknown {kind} code {code!r}") from None

    def get(self, kind: str, code: str | None) -> Term | None:
        if code is None:
            return None
        return self._kind(kind).get(code)

    def is_valid(self, kind: str, code: str | None, *, leaf_only: bool = False) -> bool:
        """Whether `code` exists in `kind` (and, with leaf_only, has no children). Unknown kind: False."""
        if code is None or kind not in self._index:
            return False
        t = self._index[kind].get(code)
        return t is not None and (t.is_leaf or not leaf_only)

    def label(self, kind: str, code: str, lang: str = "zh") -> str:
        """Display label in "zh" or "en" (anything else falls back to zh).

        An unknown code is returned as is, so records classified under a replaced taxonomy still display.
        """
        t = self._kind(kind).get(code)
        return t.label(lang) if t is not None else code

    def leaves(self, kind: str) -> tuple[Term, ...]:
        """Terms without children: the codes a complaint is classified with."""
        return tuple(t for t in self._kind(kind).values() if t.is_leaf)

    def leaf_codes(self, kind: str) -> tuple[str, ...]:
        return tuple(t.code for t in self.leaves(kind))

    def children_of(self, kind: str, code: str) -> tuple[Term, ...]:
        """Direct children of a code (empty for a leaf); KeyError if unknown."""
        return self.term(kind, code).children

    def parent_of(self, code: str, kind: str | None = None) -> str | None:
        """Parent code of `code` (None at the top level).

        Without `kind`, every kind is searched; KeyError if the code is unknown, ValueError if kinds disagree
        about its parent (pass `kind` then).
        """
        kinds = [kind] if kind is not None else list(self._index)
        parents: set[str | None] = set()
        found = False
        for k in kinds:
            t = self._kind(k).get(code)
            if t is not None:
                found = True
                parents.add(t.parent)
        if not found:
            where = kind if kind is not None else "any kind"
            raise KeyError(f"unknown code {code!r} in {where}")
        if len(parents) > 1:
            raise ValueError(f"code {code!r} has different parents in different kinds; pass kind=")
        return parents.pop()

    def root_of(self, kind: str, code: str) -> str:
        """Top-level ancestor code (the code itself at the top level); for roll-up statistics."""
        t = self.term(kind, code)
        while t.parent is not None:
            t = self.term(kind, t.parent)
        return t.code

    def regulator_channels(self) -> frozenset[str]:
        """Channel codes marked `regulator: true` (监管转办)."""
        return frozenset(t.code for t in self.terms("channels") if t.regulator)

    def choices(self, kind: str, lang: str = "zh") -> list[ChoiceGroup]:
        """Leaf options for a form dropdown, grouped by parent, in file order.

        A parent becomes a group of its leaves; consecutive top-level leaves share one unlabelled group.
        """
        groups: list[ChoiceGroup] = []
        loose: list[tuple[str, str]] = []
        for root in self.roots(kind):
            if root.is_leaf:
                loose.append((root.code, root.label(lang)))
                continue
            if loose:
                groups.append(ChoiceGroup(None, None, tuple(loose)))
                loose = []
            options = tuple((t.code, t.label(lang)) for t in root.walk() if t.is_leaf)
            groups.append(ChoiceGroup(root.label(lang), root.code, options))
        if loose:
            groups.append(ChoiceGroup(None, None, tuple(loose)))
        return groups

    def flat_choices(self, kind: str, lang: str = "zh") -> list[tuple[str, str]]:
        """Leaf options as (code, "parent / leaf" label) pairs, for places without optgroups."""
        out: list[tuple[str, str]] = []
        for t in self.leaves(kind):
            if t.parent is None:
                out.append((t.code, t.label(lang)))
            else:
                out.append((t.code, f"{self.label(kind, t.parent, lang)} / {t.label(lang)}"))
        return out

    def __repr__(self) -> str:
        sizes = ", ".join(f"{k}={len(v)}" for k, v in self._index.items())
        return f"Taxonomy(version={self.version!r}, {sizes})"


def _parse_kind(kind: str, entries: Any, origin: str) -> tuple[Term, ...]:
    if not isinstance(entries, list) or not entries:
        raise TaxonomyError(f"{origin}: {kind} must be a non-empty list of entries")
    seen: dict[str, str] = {}
    return tuple(
        _parse_entry(kind, entry, f"{kind}[{i}]", None, 1, seen, origin) for i, entry in enumerate(entries)
    )


def _parse_entry(
    kind: str, entry: Any, where: str, parent: str | None, depth: int, seen: dict[str, str], origin: str
) -> Term:
    if not isinstance(entry, dict):
        raise TaxonomyError(f"{origin}: {where} must be a mapping with code, zh and en, got {entry!r}")
    code = entry.get("code")
    if code is None:
        raise TaxonomyError(f"{origin}: {where} has no code")
    if not isinstance(code, str):
        raise TaxonomyError(
            f'{origin}: {where} code {code!r} must be a string (quote numeric codes, e.g. "0101")'
        )
    where = f"{where} (code {code!r})"
    if not _CODE_RE.match(code):
        raise TaxonomyError(f"{origin}: {where}: code may only contain letters, digits, '.', '_' and '-'")
    for lang in ("zh", "en"):
        value = entry.get(lang)
        if not isinstance(value, str) or not value.strip():
            raise TaxonomyError(f"{origin}: {where} is missing its {lang!r} label")
    if code in seen:
        raise TaxonomyError(
            f"{origin}: duplicate {kind} code {code!r} at {where}, first defined at {seen[code]}"
        )
    seen[code] = where
    raw_children = entry.get("children") or []
    if not isinstance(raw_children, list):
        raise TaxonomyError(f"{origin}: {where}: children must be a list")
    if raw_children and depth >= _MAX_DEPTH:
        raise TaxonomyError(f"{origin}: {where}: at most {_MAX_DEPTH} levels are supported")
    children = tuple(
        _parse_entry(kind, child, f"{where}.children[{i}]", code, depth + 1, seen, origin)
        for i, child in enumerate(raw_children)
    )
    attrs = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
    if "regulator" in attrs and not isinstance(attrs["regulator"], bool):
        raise TaxonomyError(f"{origin}: {where}: regulator must be true or false")
    return Term(
        kind=kind,
        code=code,
        zh=entry["zh"].strip(),
        en=entry["en"].strip(),
        parent=parent,
        children=children,
        attrs=MappingProxyType(attrs),
    )


def _load_file(path: Path) -> Taxonomy:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise TaxonomyError(f"cannot read taxonomy file {path}: {e}") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise TaxonomyError(f"{path}: invalid YAML: {e}") from e
    return Taxonomy.from_mapping(data, origin=str(path))


@lru_cache(maxsize=1)
def _default() -> Taxonomy:
    return _load_file(DEFAULT_PATH)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """The taxonomy from `path`, or the packaged default (parsed once and cached) when path is None."""
    if path is None:
        return _default()
    return _load_file(Path(path))
