"""Sequences for set and sequence networks: jet constituents as four-momentum lists."""

from __future__ import annotations

from ._sequencer import ConstituentSequencer

__all__ = ["ConstituentSequencer"]
