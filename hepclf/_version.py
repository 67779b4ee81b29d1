"""The version of hepclf (read by hatch at build time, imported by the package)."""

from __future__ import annotations

__version__ = "0.1.0.dev0"
