"""Transformers that turn particle-physics data into images."""

from __future__ import annotations

from ._event import DRAW_ORDER, OBJECT_TYPES, PRESETS, SEED_COLORS, EventImager
from ._event_graph import EventImageModule
from ._hits import ENCODINGS, EnergyEncoder
from ._jet import JetImager
from ._jet_graph import JetImageModule

__all__ = [
    "DRAW_ORDER",
    "ENCODINGS",
    "OBJECT_TYPES",
    "PRESETS",
    "SEED_COLORS",
    "EnergyEncoder",
    "EventImageModule",
    "EventImager",
    "JetImageModule",
    "JetImager",
]
