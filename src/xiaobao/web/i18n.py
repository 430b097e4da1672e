"""UI language: Simplified Chinese by default, English available. Templates write the Chinese
text and wrap it in `_()`; the English catalog maps it. A missing English entry falls back to
Chinese, and a unit test lists any that are missing."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

LANGS = ("zh", "en")


@lru_cache
def catalog() -> dict[str, str]:
    data = yaml.safe_load((Path(__file__).parent / "i18n_en.yaml").read_text(encoding="utf-8")) or {}
    return {str(k): str(v) for k, v in data.items()}


def translate(text: str, lang: str) -> str:
    if lang == "zh":
        return text
    return catalog().get(text, text)


def pick(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en
