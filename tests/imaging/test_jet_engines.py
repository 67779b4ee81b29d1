"""The numba and NumPy engines of JetImager give the same images and errors."""

from __future__ import annotations

import builtins
import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf import JetImager
from hepclf.datasets import load_top_tagging

pytest.importorskip("numba")

from .test_jet import random_jets


def both(X, **params):
    a = JetImager(engine="numba", **params).fit_transform(X)
    b = JetImager(engine="numpy", **params).fit_transform(X)
    return a, b


@pytest.mark.parametrize(
    ("center", "rotate", "flip", "normalize"),
    list(itertools.product([True, False], repeat=4)),
)
def test_engines_agree_on_every_option(center, rotate, flip, normalize):
    X = random_jets(300, seed=3, spread=0.5)
    X[7] = 0.0  # an empty jet
    kw = {"center": center, "rotate": rotate, "flip": flip, "normalize": normalize}
    a, b = both(X, input_format="ptetaphi", intensity=("pt", "energy", "count"), **kw)
    assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("n_jets", [5, 3000])  # serial and parallel kernels
def test_engines_agree_on_real_jets(n_jets):
    X, _ = load_top_tagging(split="test")
    X = np.concatenate([X] * 3)[:n_jets]
    a, b = both(X, npix=(33, 25), eta_range=(-1.2, 0.8))
    # same formulas, same float64 arithmetic, same summation order: bit-identical
    assert_array_equal(a, b)


def test_engines_agree_at_the_phi_seam():
    # phi = atan2(-1.4e-16, -1.11) is -pi to double precision: a float32 phi
    # would wrap it to +pi and into the top row
    row = np.array([[[1.3257194, -1.110126, -1.3595122e-16, -0.62780863]]], np.float32)
    kw = {
        "center": False,
        "rotate": False,
        "flip": False,
        "npix": (16, 12),
        "phi_range": (-np.pi, np.pi),
    }
    a, b = both(row, **kw)
    assert_array_equal(a, b)
    assert a[0, 0, 0].sum() > 0  # the bottom row


@pytest.mark.parametrize(
    ("fmt", "index", "value", "match"),
    [
        ("ptetaphi", (4, 1, 0), -2.0, "negative transverse momentum in jet 4"),
        ("ptetaphi", (2, 0, 3), -1.0, "negative mass in jet 2"),
    ],
)
def test_engines_raise_the_same_errors(fmt, index, value, match):
    X = np.concatenate([random_jets(6, seed=1), np.full((6, 30, 1), 0.1)], axis=-1)
    X[index] = value
    for engine in ("numba", "numpy"):
        with pytest.raises(ValueError, match=match):
            JetImager(input_format=fmt, engine=engine).fit_transform(X)


def test_engine_numba_without_numba(monkeypatch):
    real_import = builtins.__import__

    def no_numba(name, *args, **kwargs):
        if (
            name.endswith("_jet_numba")
            or name == "numba"
            or (args and "numba" in str(args[2]))
        ):
            raise ImportError("no numba")
        return real_import(name, *args, **kwargs)

    X = random_jets(4, seed=2)
    monkeypatch.setattr(builtins, "__import__", no_numba)
    with pytest.raises(ImportError, match=r"hepclf\[fast\]"):
        JetImager(input_format="ptetaphi", engine="numba").fit_transform(X)
    # "auto" falls back to NumPy, with the NumPy engine's images
    auto = JetImager(input_format="ptetaphi", engine="auto")
    assert auto._numba_kernel() is None
    assert_array_equal(
        auto.fit_transform(X),
        JetImager(input_format="ptetaphi", engine="numpy").fit_transform(X),
    )
