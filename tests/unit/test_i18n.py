"""Every Chinese UI string wrapped in _() in a template has an English translation, and templates do not
bypass the catalog with inline Chinese/English pairs."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from xiaobao.web.i18n import catalog
from xiaobao.web.templating import MODULE_TEMPLATE_DIRS

SRC = Path(__file__).resolve().parents[2] / "src" / "xiaobao"
CALL = re.compile(r"""_\(\s*(["'])(.+?)\1\s*\)""")
CJK = re.compile(r"[\u4e00-\u9fff]")
INLINE_PAIR = re.compile(
    r"""\b\w+\(\s*(["'])([^"'\n]*[\u4e00-\u9fff][^"'\n]*)\1\s*,\s*(["'])([^"'\n]*)\3\s*\)"""
)


def template_strings() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in SRC.rglob("*.html"):
        for m in CALL.finditer(path.read_text(encoding="utf-8")):
            if CJK.search(m.group(2)):
                found.setdefault(m.group(2), str(path.relative_to(SRC)))
    return found


def test_every_template_string_has_english() -> None:
    missing = {s: where for s, where in template_strings().items() if s not in catalog()}
    assert not missing, "add to src/xiaobao/web/i18n_en.yaml:\n" + "\n".join(
        f"{s}  ({w})" for s, w in missing.items()
    )


def test_catalog_has_no_duplicate_keys() -> None:
    path = SRC / "web" / "i18n_en.yaml"
    keys = [
        line.split(":", 1)[0].strip().strip("'\"")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith((" ", "#")) and ":" in line
    ]
    dupes = {k for k in keys if keys.count(k) > 1}
    assert not dupes, f"duplicate keys in i18n_en.yaml: {sorted(dupes)}"
    assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict)


def test_every_module_template_folder_is_scanned() -> None:
    """The check reads every template under src/xiaobao, so each module's folder registered in
    web/templating.py (complaints, claims, review, radar ...) is covered."""
    scanned = {p.resolve() for p in SRC.rglob("*.html")}
    for folder in MODULE_TEMPLATE_DIRS:
        files = {p.resolve() for p in folder.rglob("*.html")}
        assert files, f"no templates in {folder}"
        assert files <= scanned, f"{folder} is outside {SRC}"


def test_templates_translate_through_the_catalog() -> None:
    """UI text is _("中文") with an English catalog entry; an inline pair such as t("中文", "English")
    escapes the check above, so none is allowed."""
    inline = [
        f"{path.relative_to(SRC)}: {m.group(0)}"
        for path in SRC.rglob("*.html")
        for m in INLINE_PAIR.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not inline, "use _() and i18n_en.yaml instead of:\n" + "\n".join(inline)
