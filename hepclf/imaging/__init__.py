"""Transformers that turn particle-physics data into images."""

from __future__ import annotations

from ._jet import JetImager

__all__ = ["JetImager"]
