"""Job definitions, registered in code: a name, an interval and a function ``fn(container, now) -> summary``.

Jobs must be idempotent: a job can run again after a crash (the schedule row is still due), and a
``concurrent`` job may run in several workers at once, which then split its work (each claims its items
with SELECT ... FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container

JobFn = Callable[["Container", datetime], dict[str, Any]]


@dataclass(frozen=True)
class JobDef:
    name: str
    interval_seconds: int
    fn: JobFn
    title_zh: str
    title_en: str
    concurrent: bool = False
    """True: workers that find the job running elsewhere join in (the job splits its work by row locks)."""

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 64:
            raise ValueError(f"job name must have 1 to 64 characters, got {self.name!r}")
        if self.interval_seconds < 1:
            raise ValueError(f"interval_seconds must be >= 1, got {self.interval_seconds}")

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en


class JobRegistry:
    """The container's job definitions (in registration order) and, for the single in-process runner,
    which job it is running right now."""

    def __init__(self) -> None:
        self._jobs: dict[str, JobDef] = {}
        self._lock = threading.Lock()
        self._running: set[str] = set()

    def register(self, job: JobDef) -> JobDef:
        if job.name in self._jobs:
            raise ValueError(f"job {job.name!r} is already registered")
        self._jobs[job.name] = job
        return job

    def get(self, name: str) -> JobDef | None:
        return self._jobs.get(name)

    def all(self) -> list[JobDef]:
        return list(self._jobs.values())

    def names(self) -> list[str]:
        return list(self._jobs)

    def interval(self, job: JobDef, overrides: dict[str, int]) -> int:
        return max(1, int(overrides.get(job.name, job.interval_seconds)))

    def started(self, name: str) -> None:
        with self._lock:
            self._running.add(name)

    def finished(self, name: str) -> None:
        with self._lock:
            self._running.discard(name)

    def running_here(self) -> frozenset[str]:
        with self._lock:
            return frozenset(self._running)


def next_run(finished_at: datetime, interval_seconds: int) -> datetime:
    return finished_at + timedelta(seconds=interval_seconds)


def error_text(exc: BaseException, limit: int = 4000) -> str:
    """The exception and the tail of its traceback, short enough for the admin page."""
    text = "".join(traceback.format_exception(exc))
    return text if len(text) <= limit else "…" + text[-limit:]
