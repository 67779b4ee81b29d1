"""Property-based tests of EventImager (hypothesis)."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose, assert_array_equal

from hepclf import EventImager
from hepclf.imaging import OBJECT_TYPES

CODES = list(OBJECT_TYPES.values())
NPIX = 24


@st.composite
def events(draw, max_events=4, max_objects=8):
    """Zero-padded (type, pt, eta, phi) events: objects far beyond the canvas in
    eta, phi anywhere (also beyond +-pi), pT from 1 to 1e4 GeV."""
    n = draw(st.integers(1, max_events))
    k = draw(st.integers(1, max_objects))
    codes = draw(arrays(np.int64, (n, k), elements=st.sampled_from([0, *CODES])))
    pt = draw(arrays(np.float64, (n, k), elements=st.floats(1.0, 1e4)))
    eta = draw(arrays(np.float64, (n, k), elements=st.floats(-8.0, 8.0)))
    phi = draw(arrays(np.float64, (n, k), elements=st.floats(-10.0, 10.0)))
    X = np.stack([codes.astype(float), pt, eta, phi], axis=-1)
    X[codes == 0, 1:] = 0.0
    return X


SETTINGS = settings(max_examples=30, deadline=None)


@SETTINGS
@given(X=events(), intensity=st.sampled_from(["pt", "count"]))
def test_each_channel_sums_to_its_objects(X, intensity):
    image = EventImager(npix=NPIX, intensity=intensity, engine="numpy").fit_transform(X)
    value = X[..., 1] if intensity == "pt" else (X[..., 0] != 0).astype(float)
    for c, code in enumerate(CODES):
        want = np.where(X[..., 0] == code, value, 0.0).sum(axis=1)
        assert_allclose(image[:, c].sum(axis=(1, 2)), want, rtol=1e-5)


@SETTINGS
@given(X=events(max_events=2), shape=st.sampled_from(["disc", "outline"]))
def test_an_event_is_the_sum_of_its_objects(X, shape):
    imager = EventImager(npix=NPIX, shape=shape, line_width=1.5, engine="numpy")
    image = imager.fit_transform(X)
    total = np.zeros_like(image, dtype=np.float64)
    for slot in range(X.shape[1]):
        alone = np.zeros_like(X[:, :1])
        alone[:, 0] = X[:, slot]
        total += imager.transform(alone)
    assert_allclose(image, total, rtol=1e-5, atol=1e-5)


@SETTINGS
@given(X=events(), data=st.data())
def test_object_order_and_padding_change_nothing_but_rounding(X, data):
    imager = EventImager(npix=NPIX, engine="numpy")
    image = imager.fit_transform(X)
    order = data.draw(st.permutations(range(X.shape[1])))
    shuffled = X[:, order]
    assert_allclose(imager.transform(shuffled), image, rtol=1e-5, atol=1e-5)
    # padding rows appended: bit for bit the same
    padded = np.concatenate([X, np.zeros((len(X), 3, 4))], axis=1)
    assert_array_equal(imager.transform(padded), image)


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="no numba")
@SETTINGS
@given(
    X=events(),
    params=st.sampled_from(
        [
            {},
            {"shape": "outline", "met": "eta0"},
            {"periodic_phi": False, "outside_eta": "crop", "intensity": "count"},
            {"channels": [("jet", "bjet"), "met"], "radius_scale": (0.3, 0.1)},
        ]
    ),
)
def test_engines_agree_bitwise(X, params):
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "EventImager: .* outside the canvas")
        a = EventImager(npix=NPIX, engine="numpy", **params).fit_transform(X)
        b = EventImager(npix=NPIX, engine="numba", **params).fit_transform(X)
    assert_array_equal(a, b)
