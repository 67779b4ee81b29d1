"""Kinematics of generated four-momenta, written out apart from hepclf's own."""

from __future__ import annotations

import numpy as np


def kinematics(momenta):
    """pt, eta, phi and mass of ``(E, px, py, pz)`` rows (float64)."""
    momenta = np.asarray(momenta, dtype=np.float64)
    pt = np.hypot(momenta[..., 1], momenta[..., 2])
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.arcsinh(momenta[..., 3] / pt)
    phi = np.arctan2(momenta[..., 2], momenta[..., 1])
    m = np.sqrt(
        np.maximum(momenta[..., 0] ** 2 - np.sum(momenta[..., 1:] ** 2, axis=-1), 0)
    )
    return pt, eta, phi, m
