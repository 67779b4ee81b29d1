"""Utilities shared by hepclf's sub-packages, whatever their data kind.

:func:`import_optional` imports an optional dependency with an error that
names the extra to install; :mod:`hepclf.utils.discovery` lists the public
estimators and functions.
"""

from __future__ import annotations

from ._optional import import_optional

__all__ = ["import_optional"]
