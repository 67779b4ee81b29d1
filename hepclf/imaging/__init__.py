"""Transformers that turn particle-physics data into images."""

from __future__ import annotations

from ._jet import JetImager
from ._jet_graph import JetImageModule

__all__ = ["JetImageModule", "JetImager"]
