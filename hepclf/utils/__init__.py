"""Utilities shared by hepclf's sub-packages."""

from __future__ import annotations

from ._optional import import_optional

__all__ = ["import_optional"]
