"""Domain errors. Every message exists in Chinese and English; the web layer picks by language."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldProblem:
    field: str
    zh: str
    en: str


class XiaobaoError(Exception):
    status_code = 400
    code = "error"

    def __init__(self, zh: str, en: str, *, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(en)
        self.zh = zh
        self.en = en
        self.problems = problems or []

    def message(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def to_dict(self) -> dict[str, object]:
        return {
            "error": self.code,
            "message_zh": self.zh,
            "message_en": self.en,
            "problems": [{"field": p.field, "message_zh": p.zh, "message_en": p.en} for p in self.problems],
        }


class NotFound(XiaobaoError):
    """Also used for entities outside the caller's scope: not found and forbidden look the same."""

    status_code = 404
    code = "not_found"

    def __init__(self, what: str = "记录", what_en: str = "record") -> None:
        super().__init__(f"{what}不存在或无权访问", f"{what_en} not found")


class Forbidden(XiaobaoError):
    status_code = 403
    code = "forbidden"

    def __init__(self, zh: str = "无权执行此操作", en: str = "You are not allowed to do this") -> None:
        super().__init__(zh, en)


class Unauthenticated(XiaobaoError):
    status_code = 401
    code = "unauthenticated"

    def __init__(self) -> None:
        super().__init__("请先登录", "Please sign in")


class Conflict(XiaobaoError):
    status_code = 409
    code = "conflict"


class InvalidTransition(XiaobaoError):
    status_code = 409
    code = "invalid_transition"


class ValidationFailed(XiaobaoError):
    status_code = 422
    code = "validation_failed"

    def __init__(self, problems: list[FieldProblem]) -> None:
        zh = "；".join(f"{p.field}: {p.zh}" for p in problems)
        en = "; ".join(f"{p.field}: {p.en}" for p in problems)
        super().__init__(zh, en, problems=problems)


class RateLimited(XiaobaoError):
    status_code = 429
    code = "rate_limited"


@dataclass
class ImportRowError:
    row: int
    problems: list[FieldProblem] = field(default_factory=list)
