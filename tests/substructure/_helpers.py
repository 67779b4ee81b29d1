"""Synthetic jets for the substructure tests."""

from __future__ import annotations

import numpy as np


def to_epxpypz(pt, eta, phi, mass=0.0):
    """(E, px, py, pz) of particles from pt, eta, phi (and mass); pt = 0 gives zeros."""
    pt, eta, phi, mass = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (pt, eta, phi, mass))
    )
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    E = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    return np.where((pt > 0)[..., None], np.stack([E, px, py, pz], axis=-1), 0.0)


def prong_jets(
    n_jets, n_prongs, *, per_prong=8, width=0.03, separation=0.35, n_max=24, seed=0
):
    """Zero-padded ``(pt, eta, phi)`` jets made of ``n_prongs`` narrow prongs.

    The prongs sit on a circle of radius ``separation`` (one prong: at the
    centre) around a random (eta, phi) in (-1, 1) x (-pi, pi), with random
    momentum shares; each prong has ``per_prong`` constituents within ``width``.
    Jets drop a random number of their softest constituents (the rows become
    padding), so padding varies from jet to jet.
    """
    rng = np.random.default_rng(seed)
    n = n_prongs * per_prong
    angle = (
        rng.uniform(0, 2 * np.pi, (n_jets, 1))
        + 2 * np.pi * np.arange(n_prongs) / n_prongs
    )
    radius = separation if n_prongs > 1 else 0.0
    share = rng.uniform(0.3, 1.0, (n_jets, n_prongs))
    share /= share.sum(axis=1, keepdims=True)
    prong = np.repeat(np.arange(n_prongs), per_prong)
    pt = (
        500.0
        * share[:, prong]
        * rng.dirichlet(np.ones(per_prong), (n_jets, n_prongs)).reshape(n_jets, n)
    )
    eta = (
        rng.uniform(-1, 1, (n_jets, 1))
        + (radius * np.cos(angle))[:, prong]
        + rng.normal(0, width, (n_jets, n))
    )
    phi = (
        rng.uniform(-np.pi, np.pi, (n_jets, 1))
        + (radius * np.sin(angle))[:, prong]
        + rng.normal(0, width, (n_jets, n))
    )
    jets = np.stack([pt, eta, phi], axis=-1)
    order = np.argsort(-pt, axis=1)
    jets = np.take_along_axis(jets, order[..., None], axis=1)
    n_keep = rng.integers(n - per_prong // 2, n + 1, n_jets)
    jets[np.arange(n) >= n_keep[:, None]] = 0.0
    return np.concatenate([jets, np.zeros((n_jets, max(n_max - n, 0), 3))], axis=1)
