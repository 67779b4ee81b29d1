"""Property-based tests of JetImager (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from numpy.testing import assert_allclose

from hepclf import JetImager

RAW = {"center": False, "rotate": False, "flip": False, "normalize": False}
NPIX = 20
HALF = 1.0
PIXEL = 2 * HALF / NPIX


@st.composite
def jets(draw, max_jets=4, max_constituents=12, spread=0.6):
    """Zero-padded (pt, eta, phi) jets; some constituents fall outside the window."""
    n_jets = draw(st.integers(1, max_jets))
    n_items = draw(st.integers(1, max_constituents))
    pt = draw(arrays(np.float64, (n_jets, n_items), elements=st.floats(0.5, 500.0)))
    eta = draw(
        arrays(np.float64, (n_jets, n_items), elements=st.floats(-spread, spread))
    )
    phi = draw(
        arrays(np.float64, (n_jets, n_items), elements=st.floats(-spread, spread))
    )
    keep = draw(arrays(np.bool_, (n_jets, n_items)))
    out = np.stack([pt, eta, phi], axis=-1)
    out[~keep] = 0.0
    return out


def imager(**kw):
    params = {"npix": NPIX, "input_format": "ptetaphi", **kw}
    return JetImager(**params)


@settings(max_examples=60, deadline=None)
@given(jets(spread=1.5))
def test_total_intensity_is_in_window_pt(X):
    img = imager(**RAW).fit_transform(X)
    pt, eta, phi = X[..., 0], X[..., 1], X[..., 2]
    inside = (pt > 0) & (eta >= -HALF) & (eta < HALF) & (phi >= -HALF) & (phi < HALF)
    assert_allclose(
        img.sum(axis=(1, 2, 3)), np.where(inside, pt, 0).sum(axis=1), rtol=1e-5
    )


@settings(max_examples=40, deadline=None)
@given(jets(spread=1.5), st.sampled_from(["energy", "count"]))
def test_total_intensity_energy_and_count(X, kind):
    img = imager(intensity=kind, **RAW).fit_transform(X)
    pt, eta, phi = X[..., 0], X[..., 1], X[..., 2]
    inside = (pt > 0) & (eta >= -HALF) & (eta < HALF) & (phi >= -HALF) & (phi < HALF)
    per_item = pt * np.cosh(eta) if kind == "energy" else (pt > 0).astype(float)
    assert_allclose(
        img.sum(axis=(1, 2, 3)), np.where(inside, per_item, 0).sum(axis=1), rtol=1e-5
    )


@settings(max_examples=40, deadline=None)
@given(jets(spread=0.5), st.integers(-5, 5))
def test_eta_shift_shifts_uncentred_image(X, k):
    # constituents sit at pixel centres so that shifting never crosses an edge ambiguously
    X = X.copy()
    X[..., 1] = np.where(
        X[..., 0] > 0, (np.floor(X[..., 1] / PIXEL) + 0.5) * PIXEL, 0.0
    )
    X[..., 2] = np.where(
        X[..., 0] > 0, (np.floor(X[..., 2] / PIXEL) + 0.5) * PIXEL, 0.0
    )
    shifted = X.copy()
    shifted[..., 1] = np.where(X[..., 0] > 0, X[..., 1] + k * PIXEL, 0.0)
    wide = {
        "eta_range": (-2.0, 2.0),
        "npix": (2 * NPIX, NPIX),
    }  # nothing leaves the window
    a = imager(**RAW, **wide).fit_transform(X)
    b = imager(**RAW, **wide).fit_transform(shifted)
    assert_allclose(np.roll(a, k, axis=3), b, atol=1e-4)


@settings(max_examples=40, deadline=None)
@given(jets(), st.randoms(use_true_random=False))
def test_permuting_constituents_changes_nothing(X, rnd):
    order = list(range(X.shape[1]))
    rnd.shuffle(order)
    # odd npix: the centroid, where degenerate jets put constituents, is a pixel
    # centre; on an edge, summing in another order could move it by one pixel
    for kw in (RAW, {"npix": 21}):
        assert_allclose(
            imager(**kw).fit_transform(X[:, order]),
            imager(**kw).fit_transform(X),
            atol=1e-5,
        )


@settings(max_examples=40, deadline=None)
@given(jets(), st.integers(1, 10), st.integers(0, 10))
def test_padding_rows_change_nothing(X, n_pad, position):
    position = min(position, X.shape[1])
    padded = np.insert(X, [position] * n_pad, 0.0, axis=1)
    for kw in (RAW, {}):
        assert_allclose(
            imager(**kw).fit_transform(padded), imager(**kw).fit_transform(X), atol=1e-6
        )


@settings(max_examples=60, deadline=None)
@given(
    jets(spread=1.5),
    st.fixed_dictionaries(
        {"center": st.booleans(), "rotate": st.booleans(), "flip": st.booleans()}
    ),
    st.sampled_from(["pt", "energy", "count"]),
)
def test_normalised_image_is_raw_image_over_its_sum(X, preprocessing, kind):
    raw = imager(**preprocessing, intensity=kind, normalize=False).fit_transform(X)
    normalised = imager(**preprocessing, intensity=kind).fit_transform(X)
    total = raw.astype(np.float64).sum(axis=(1, 2, 3), keepdims=True)
    expected = np.divide(raw, total, out=np.zeros(raw.shape), where=total > 0)
    # pixel by pixel, to float32 rounding (the raw image is itself rounded once)
    assert_allclose(normalised, expected, rtol=4 * np.finfo(np.float32).eps, atol=0)
    assert_allclose(normalised.sum(axis=(1, 2, 3)), (total > 0).ravel(), rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(jets(), st.floats(-np.pi, np.pi))
def test_centred_images_do_not_depend_on_jet_position(X, phi0):
    moved = X.copy()
    valid = X[..., 0] > 0
    moved[..., 1] = np.where(valid, X[..., 1] + 0.7, 0.0)
    moved[..., 2] = np.where(
        valid, np.mod(X[..., 2] + phi0 + np.pi, 2 * np.pi) - np.pi, 0.0
    )
    # un-normalised, odd npix (the centroid is a pixel centre): pixel by pixel
    a = imager(npix=21, normalize=False).fit_transform(X)
    b = imager(npix=21, normalize=False).fit_transform(moved)
    assert_allclose(a, b, rtol=1e-5, atol=1e-5 * a.max(initial=0))
