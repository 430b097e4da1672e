"""Imports every module's tables so Base.metadata is complete (for Alembic and test setup)."""

from __future__ import annotations

from xiaobao.auth import tables as _auth  # noqa: F401
from xiaobao.claims import tables as _claims  # noqa: F401
from xiaobao.complaints import tables as _complaints  # noqa: F401
from xiaobao.core import audit as _audit  # noqa: F401
from xiaobao.core.db import Base
from xiaobao.jobs import tables as _jobs  # noqa: F401
from xiaobao.notifications import tables as _notifications  # noqa: F401
from xiaobao.radar import tables as _radar  # noqa: F401
from xiaobao.review import tables as _review  # noqa: F401
from xiaobao.tasks import tables as _tasks  # noqa: F401

metadata = Base.metadata
