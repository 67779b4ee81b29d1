"""Particle-level inputs: jet constituents as sequences for set and sequence networks."""

from __future__ import annotations

from ._sequencer import ConstituentSequencer

__all__ = ["ConstituentSequencer"]
