"""Wiring called by `bootstrap()`: linkable entities, the built-in deadline tracks, the delivery job."""

from __future__ import annotations

from typing import TYPE_CHECKING

from xiaobao.notifications import delivery, entities, tracks
from xiaobao.notifications.reminders import register_track

if TYPE_CHECKING:
    from xiaobao.bootstrap import Container


def register(container: Container) -> None:
    entities.register_entity("complaint", entities.complaint_entity, "投诉", "complaint")
    for track in tracks.BUILT_IN:
        register_track(container, track)
    delivery.register(container)
