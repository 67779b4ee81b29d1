from __future__ import annotations

import importlib.util
import math
import re

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.utils._param_validation import InvalidParameterError

from hepclf import EventImager
from hepclf.imaging import DRAW_ORDER, OBJECT_TYPES, PRESETS, SEED_COLORS

from .._events import SEED_TYPES, random_events, small_cnn_pipeline

T = OBJECT_TYPES
ENGINES = [
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("numba") is None, reason="numba not installed"
        ),
    ),
]


def one(code, pt, eta, phi):
    return np.array([[[code, pt, eta, phi]]], dtype=float)


def reference(X, imager):
    """Pixel by pixel, from the documented geometry (not from the span formulas):
    pixel centres inside the ellipse (outline: inside the grown ellipse and not
    strictly inside the shrunk one), pT spread over the covered pixels."""
    p = {**PRESETS[imager.preset]}
    p.update({k: v for k, v in imager.get_params().items() if v is not None})
    n_eta, n_phi = (p["npix"],) * 2 if np.isscalar(p["npix"]) else p["npix"]
    lo, hi = p["eta_range"]
    sx, sy = n_eta / (hi - lo), n_phi / (2 * np.pi)
    rs = p["radius_scale"]
    rs = (rs, rs) if np.isscalar(rs) else rs
    channels = [(c,) if isinstance(c, str) else c for c in p["channels"]]
    half = p["line_width"] / 2 if p["shape"] == "outline" else 0.0
    out = np.zeros((len(X), len(channels), n_phi, n_eta))
    cc, rr = np.meshgrid(np.arange(n_eta) + 0.5, np.arange(n_phi) + 0.5)
    for i, event in enumerate(X):
        for code, pt, eta, phi in event[:, :4]:
            name = {v: k for k, v in T.items()}.get(int(code))
            ch = [j for j, c in enumerate(channels) if name in c]
            if not ch:
                continue
            met = name == "met"
            if p["outside_eta"] == "clip":
                eta = min(max(eta, lo), hi)
            eta = 0.0 if met else eta
            if p["periodic_phi"]:
                phi = (phi + np.pi) % (2 * np.pi) - np.pi
            a = max(rs[0] * math.log(pt) * sx, 0.75)
            b = max(rs[1] * math.log(pt) * sy, 0.75)
            dx = (cc - (eta - lo) * sx) / (a + half)
            dy = rr - (phi + np.pi) * sy
            if p["periodic_phi"]:
                dy = (dy + n_phi / 2) % n_phi - n_phi / 2
            band = met and p["met"] == "band"
            cover = (dy / (b + half)) ** 2 + (0 if band else dx**2) <= 1
            if half and a > half and b > half:
                dxi = (cc - (eta - lo) * sx) / (a - half)
                inner = (dy / (b - half)) ** 2 + (0 if band else dxi**2) < 1
                cover &= ~inner
            if cover.any():
                value = 1.0 if p["intensity"] == "count" else pt
                out[i, ch[0]] += cover * (value / cover.sum())
    return out


# -- known images of known inputs ----------------------------------------------------
def test_single_object_disc_hand_computed():
    # 12x12 pixels over eta (-3, 3), phi (-pi, pi); pT = e^2 and radius scales
    # chosen so the semi-axes are 1.5 pixels; centre on the centre of pixel (6, 6):
    # the 3x3 block around it (corners at sqrt(2) < 1.5), nothing at distance 2
    sx, sy = 2.0, 12 / (2 * np.pi)
    imager = EventImager(
        npix=12, radius_scale=(1.5 / (2 * sx), 1.5 / (2 * sy)), engine="numpy"
    )
    eta, phi = 6.5 / sx - 3, 6.5 / sy - np.pi
    image = imager.fit_transform(one(T["muon"], np.exp(2.0), eta, phi))
    assert image.shape == (1, 7, 12, 12)
    assert image.dtype == np.float32
    expected = np.zeros((12, 12), dtype=np.float32)
    expected[5:8, 5:8] = np.float32(np.exp(2.0) / 9)
    assert_array_equal(image[0, imager.channel_names_.index("muon")], expected)
    assert image.sum() == pytest.approx(np.exp(2.0), rel=1e-6)  # only the muon channel


@pytest.mark.parametrize("pt", [20.0, 55.0, 150.0, 900.0])
def test_radius_grows_with_log_pt(pt):
    # radius 0.14 ln(pT) in eta units: the centre row of a disc centred on a
    # pixel centre spans 2 floor(a) + 1 pixels, a = 0.14 ln(pT) px per eta unit
    imager = EventImager(npix=(120, 90), engine="numpy")
    sx = 120 / 6
    image = imager.fit_transform(one(T["jet"], pt, 30.5 / sx - 3, 0.0))[0, 4]
    a = 0.14 * math.log(pt) * sx
    row = image[np.argmax((image > 0).sum(axis=1))]
    assert (row > 0).sum() == 2 * math.floor(a) + 1
    assert np.flatnonzero(row)[[0, -1]].tolist() == [
        30 - math.floor(a),
        30 + math.floor(a),
    ]


def test_disc_matches_pixel_by_pixel_reference():
    X = random_events(40, seed=1)
    for params in (
        {},
        {"npix": (50, 30), "radius_scale": (0.1, 0.25), "intensity": "count"},
        {"shape": "outline", "line_width": 2.0, "met": "eta0"},
        {"periodic_phi": False, "outside_eta": "crop", "npix": 40},
        {"channels": [("electron", "muon"), "jet", "met"], "shape": "outline"},
    ):
        imager = EventImager(engine="numpy", **params)
        with _quiet():
            got = imager.fit_transform(X)
        want = reference(X, imager)
        assert_array_equal(got != 0, want != 0, err_msg=str(params))
        assert_allclose(got, want, rtol=1e-6, atol=1e-9, err_msg=str(params))


class _quiet:
    """Ignore the 'outside the canvas' warning of crop mode."""

    def __enter__(self):
        import warnings

        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.filterwarnings("ignore", "EventImager: .* outside the canvas")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def test_ring_has_a_hole_and_a_line_width():
    # semi-axes 6 px, line 2 px: pixels with 5 <= distance <= 7 from the centre
    sx = 64 / 6
    imager = EventImager(
        shape="outline",
        line_width=2.0,
        radius_scale=6 / (math.log(100.0) * sx),
        npix=(64, 64),
        periodic_phi=False,
        engine="numpy",
    )
    eta, phi = 32.5 / sx - 3, 0.0
    image = imager.fit_transform(one(T["electron"], 100.0, eta, phi))[0, 0]
    # a circle of radius 6 in eta units is an ellipse in pixels: phi semi-axis
    # 6 sy / sx; the ring lies between the ellipses grown and shrunk by 1 px
    sy = 64 / (2 * np.pi)
    b = 6 * sy / sx
    cc, rr = np.meshgrid(np.arange(64) + 0.5, np.arange(64) + 0.5)
    dx, dy = cc - 32.5, rr - np.pi * sy
    ring = ((dx / 7) ** 2 + (dy / (b + 1)) ** 2 <= 1) & ~(
        (dx / 5) ** 2 + (dy / (b - 1)) ** 2 < 1
    )
    assert_array_equal(image > 0, ring)
    assert image[32, 32] == 0  # the centre is empty
    assert image.sum() == pytest.approx(100.0, rel=1e-6)


# -- the seed preset -----------------------------------------------------------------------
def test_seed_preset_values():
    imager = EventImager(preset="seed").fit(one(T["jet"], 50.0, 0.0, 0.0))
    assert imager.n_channels_ == 3
    assert imager.channel_names_ == ["red", "green", "blue"]
    assert len(imager.eta_edges_) == len(imager.phi_edges_) == 225
    # diameter log_1.1(pT) px: radius per ln(pT) = 1 / (2 ln 1.1) px, 224 px for
    # 6 eta units and 2 pi rad
    rs = PRESETS["seed"]["radius_scale"]
    assert rs[0] * 224 / 6 == pytest.approx(1 / (2 * math.log(1.1)))
    assert rs[1] * 224 / (2 * np.pi) == pytest.approx(1 / (2 * math.log(1.1)))
    assert PRESETS["seed"]["line_width"] == pytest.approx(4 * 56 / 72)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "rgb"),
    [
        ("electron", (0, 0, 255)),
        ("muon", (0, 128, 0)),
        ("bjet", (255, 0, 0)),
        ("jet", (255, 125, 125)),
        ("met", (0, 0, 0)),
    ],
)
def test_seed_colours_and_diameter(engine, name, rgb):
    # centred on the centre of pixel column 112 (eta) and row 112 (phi)
    eta, phi = 112.5 / (224 / 6) - 3, 112.5 / (224 / (2 * np.pi)) - np.pi
    pt = 1.1**40  # diameter 40 px
    image = EventImager(preset="seed", engine=engine).fit_transform(
        one(T[name], pt, 0.0 if name == "met" else eta, phi)
    )[0]
    assert image.shape == (3, 224, 224)
    colours = {tuple(c) for c in image.reshape(3, -1).T.tolist()}
    assert colours == {(255.0, 255.0, 255.0), tuple(map(float, rgb))}
    drawn = (image != 255).any(axis=0) if name != "met" else (image == 0).all(axis=0)
    centre_row = np.flatnonzero(drawn[112])
    # ring of diameter 40 and width 3.11 px: |x - 112.5| within 20 -+ 1.56
    u0 = 112.5 if name != "met" else 112.0  # MET is at eta = 0 exactly
    x = centre_row + 0.5 - u0
    assert np.all((np.abs(x) >= 20 - 1.5556) & (np.abs(x) <= 20 + 1.5556))
    # pixel centres at 19, 20, 21 px from the centre (18.5 ... 21.5 for MET)
    assert len(centre_row) == (8 if name == "met" else 6)
    assert not drawn[112, 100:125].any()  # hollow


def test_seed_preset_neither_wraps_nor_clips():
    # a 200 GeV ring (diameter log_1.1(200) = 55.6 px) near phi = pi, and one
    # centred beyond the canvas at eta = 3.3 (pixel column 235.2)
    X = np.array(
        [[[T["jet"], 200.0, 0.0, np.pi - 0.05]], [[T["jet"], 200.0, 3.3, 0.0]]]
    )
    drawn = (EventImager(preset="seed").fit_transform(X) != 255).any(axis=1)
    assert drawn[0, -1].any()  # the ring reaches the top row
    assert not drawn[0, :100].any()  # and does not continue at the bottom
    columns = np.flatnonzero(drawn[1].any(axis=0))
    assert columns.max() == 223  # cut at the right edge
    assert columns.min() > 200  # drawn where it is (clipped to the edge: ~195)


def test_seed_draw_order_paints_later_types_on_top():
    # electron, jet and MET at the same place: MET on top, then the jet
    X = np.array(
        [
            [
                [T["met"], 200.0, 0.0, 0.0],
                [T["jet"], 200.0, 0.0, 0.0],
                [T["electron"], 200.0, 0.0, 0.0],
                [T["bjet"], 60.0, 0.0, 0.0],
            ]
        ]
    )
    image = EventImager(preset="seed", engine="numpy").fit_transform(X)[0]
    colours = {tuple(c) for c in image.reshape(3, -1).T.tolist()}
    assert (0.0, 0.0, 0.0) in colours  # MET
    assert (0.0, 0.0, 255.0) not in colours  # the electron is painted over
    assert (255.0, 0.0, 0.0) in colours  # the smaller b-jet ring is visible
    # MET drawn last: the MET ring is entirely black
    met_only = EventImager(preset="seed").fit_transform(X[:, :1])[0]
    assert np.all(image[:, (met_only == 0).all(axis=0)] == 0)
    assert DRAW_ORDER["met"] > DRAW_ORDER["jet"] > DRAW_ORDER["electron"]


def seed_matplotlib(event):
    """The seed's drawing (images.py drawEventJson) as an RGB array with row 0 at
    phi = -pi: a 4 x 4 in figure saved at 56 dpi, one anti-aliased Ellipse per
    object; each pixel is then given the nearest colour of the seed's palette
    (a pixel more than half covered by a line takes the line's colour)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse

    fig = Figure(figsize=(4, 4), dpi=56, frameon=False)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.axis([-3, 3, -math.pi, math.pi])
    ax.set_axis_off()
    names = {v: k for k, v in T.items()}
    order = sorted(range(len(event)), key=lambda i: DRAW_ORDER[names[event[i, 0]]])
    for i in order:
        code, pt, eta, phi = event[i]
        name = names[int(code)]
        s = math.log(pt, 11 / 10)
        ax.add_artist(
            Ellipse(
                (0.0 if name == "met" else eta, phi),
                width=s * 6 / 224,
                height=s * 2 * math.pi / 224,
                facecolor="none",
                edgecolor=np.array(SEED_COLORS[name]) / 255,
                lw=4,
            )
        )
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba(), dtype=np.float64)
    alpha = rgba[..., 3:] / 255
    rgb = (rgba[..., :3] * alpha + 255 * (1 - alpha))[::-1]  # on white
    palette = np.array(list(SEED_COLORS.values()), dtype=np.float64)
    nearest = np.argmin(((rgb[..., None, :] - palette) ** 2).sum(axis=-1), axis=-1)
    return palette[nearest].transpose(2, 0, 1)


def test_seed_preset_reproduces_the_matplotlib_drawing():
    pytest.importorskip("matplotlib")
    # a single ring: the same pixels but for a few on its edges
    eta, phi = 112.5 / (224 / 6) - 3, 112.5 / (224 / (2 * np.pi)) - np.pi
    X = one(T["electron"], 1.1**40, eta, phi)
    ours = EventImager(preset="seed", engine="numpy").fit_transform(X)[0] != 255
    theirs = seed_matplotlib(X[0]) != 255
    assert (ours & theirs).sum() / (ours | theirs).sum() > 0.9  # measured 0.94
    # random events: rings overlapping in the seed's drawing order
    X = random_events(6, seed=3, eta_sigma=1.0, types=SEED_TYPES)
    X[..., 3] = np.clip(X[..., 3], -2.5, 2.5)  # no wrap-around in the seed
    ours = EventImager(preset="seed", engine="numpy").fit_transform(X)
    for event, image in zip(X[1:], ours[1:], strict=True):
        theirs = seed_matplotlib(event[event[:, 0] != 0])
        same = np.all(theirs == image, axis=0)
        drawn = np.any(theirs != 255, axis=0) | np.any(image != 255, axis=0)
        # identical but on the rings' edges (Agg's anti-aliased Bezier path
        # against our pixel-centre test): measured 99.0-99.4 % of all pixels,
        # 82-91 % of the drawn ones
        assert same.mean() > 0.985
        assert same[drawn].mean() > 0.75


def test_preset_fills_only_unset_parameters():
    X = one(T["muon"], 40.0, 0.0, 0.0)
    image = EventImager(preset="seed", npix=(100, 80)).fit_transform(X)
    assert image.shape == (1, 3, 80, 100)
    image = EventImager(preset="seed", channels=("muon", "jet")).fit_transform(X)
    assert image.shape == (1, 2, 224, 224)
    assert EventImager().get_params()["npix"] is None  # nothing stored back


# -- phi wrap-around, eta edges, MET ------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_wraparound_across_pi(engine):
    # a disc at phi = pi - 0.1 continues at the bottom; the same disc at
    # phi = -0.1 is the same picture moved by half the canvas
    imager = EventImager(npix=64, engine=engine)
    top = imager.fit_transform(one(T["jet"], 80.0, 0.33, np.pi - 0.1))[0, 4]
    middle = imager.fit_transform(one(T["jet"], 80.0, 0.33, -0.1))[0, 4]
    assert top[0].any()
    assert top[-1].any()
    assert_array_equal(top > 0, np.roll(middle > 0, 32, axis=0))
    assert top.sum() == pytest.approx(80.0, rel=1e-6)
    # phi given beyond pi is wrapped first
    beyond = imager.fit_transform(one(T["jet"], 80.0, 0.33, np.pi - 0.1 + 2 * np.pi))
    assert_array_equal(beyond[0, 4] > 0, top > 0)


def test_no_wraparound_cuts_the_disc_at_the_edge():
    imager = EventImager(npix=64, periodic_phi=False, engine="numpy")
    image = imager.fit_transform(one(T["jet"], 80.0, 0.33, np.pi - 0.1))[0, 4]
    assert image[-1].any()
    assert not image[0].any()
    assert image.sum() == pytest.approx(80.0, rel=1e-6)  # spread over what is drawn
    wrapped = EventImager(npix=64).fit_transform(one(T["jet"], 80.0, 0.33, 3.04))
    assert (image > 0).sum() < (wrapped[0, 4] > 0).sum()


@pytest.mark.parametrize("engine", ENGINES)
def test_objects_beyond_eta_are_clipped_and_counted(engine):
    X = np.array(
        [
            [[T["jet"], 60.0, 4.2, 0.5], [T["muon"], 30.0, -7.0, -1.0]],
            [[T["jet"], 60.0, 1.0, 0.5], [T["met"], 30.0, 99.0, 1.0]],
        ]
    )
    imager = EventImager(npix=32, engine=engine).fit(X)
    assert imager.n_outside_ == {
        "electron": 0,
        "muon": 1,
        "tau": 0,
        "photon": 0,
        "jet": 1,
        "bjet": 0,
    }
    assert_array_equal(imager.count_outside(X), [2, 0])  # MET has no eta
    image = imager.transform(X)
    jet, muon = image[0, 4], image[0, 1]
    assert jet[:, -1].any()
    assert not jet[:, :16].any()
    assert muon[:, 0].any()
    assert not muon[:, 16:].any()
    assert_allclose(image.sum(axis=(2, 3))[0, [1, 4]], [30.0, 60.0], rtol=1e-6)
    # clipped to the edge: the same image as an object on the edge
    edge = imager.transform(np.array([[[T["jet"], 60.0, 3.0, 0.5]]]))
    assert_array_equal(edge[0, 4], jet)


@pytest.mark.parametrize("engine", ENGINES)
def test_crop_draws_what_is_on_the_canvas_and_warns_for_lost_objects(engine):
    imager = EventImager(npix=32, outside_eta="crop", engine=engine)
    partly = imager.fit_transform(one(T["jet"], 60.0, 3.2, 0.5))[0, 4]
    assert partly.any()
    assert partly.sum() == pytest.approx(60.0, rel=1e-6)
    clipped = EventImager(npix=32).fit_transform(one(T["jet"], 60.0, 3.2, 0.5))[0, 4]
    assert (partly > 0).sum() < (clipped > 0).sum()
    X = np.array([[[T["jet"], 60.0, 0.0, 0.0]], [[T["jet"], 60.0, 9.0, 0.0]]])
    with pytest.warns(UserWarning, match=r"1 object\(s\) lie entirely outside .*1\)"):
        image = imager.fit_transform(X)
    assert image[0].any()
    assert not image[1].any()
    assert imager.n_outside_["jet"] == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_met_band_and_met_at_eta0(engine):
    band = EventImager(npix=32, engine=engine)
    a = band.fit_transform(one(T["met"], 50.0, 0.0, 1.0))[0, 6]
    b = band.fit_transform(one(T["met"], 50.0, 2.7, 1.0))[0, 6]  # eta ignored
    assert_array_equal(a, b)
    rows = np.flatnonzero(a.any(axis=1))
    assert np.all(a[rows] > 0)  # whole rows: a band across eta
    centre_row = int((1.0 + np.pi) * 32 / (2 * np.pi))
    assert rows.min() <= centre_row <= rows.max()
    assert a.sum() == pytest.approx(50.0, rel=1e-6)
    disc = EventImager(npix=32, met="eta0", engine=engine)
    c = disc.fit_transform(one(T["met"], 50.0, 2.7, 1.0))[0, 6]
    jet = disc.fit_transform(one(T["jet"], 50.0, 0.0, 1.0))[0, 4]
    assert_array_equal(c, jet)  # a disc at eta = 0, like any object there


# -- channels, intensity, padding, input forms -----------------------------------------
def test_one_channel_per_type_and_grouped_channels():
    X = random_events(30, seed=4)
    imager = EventImager(npix=24, engine="numpy").fit(X)
    assert imager.channel_names_ == list(T)
    image = imager.transform(X)
    for c, code in enumerate(T.values()):
        alone = np.where((X[..., :1] == code), X, 0.0)
        assert_allclose(image[:, c], imager.transform(alone)[:, c], rtol=1e-6)
        assert not imager.transform(alone)[:, np.arange(7) != c].any()
    grouped = EventImager(
        npix=24, channels=[("electron", "muon"), ("jet", "bjet")], engine="numpy"
    ).fit(X)
    assert grouped.channel_names_ == ["electron+muon", "jet+bjet"]
    g = grouped.transform(X)
    assert_allclose(g[:, 0], image[:, 0] + image[:, 1], rtol=1e-6, atol=1e-6)
    assert_allclose(g[:, 1], image[:, 4] + image[:, 5], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("intensity", ["pt", "count"])
def test_intensity_is_conserved(engine, intensity):
    X = random_events(80, seed=5, eta_sigma=2.5)  # many beyond the canvas
    image = EventImager(intensity=intensity, engine=engine).fit_transform(X)
    value = X[..., 1] if intensity == "pt" else (X[..., 0] != 0).astype(float)
    for c, code in enumerate(T.values()):
        want = np.where(X[..., 0] == code, value, 0.0).sum(axis=1)
        assert_allclose(image[:, c].sum(axis=(1, 2)), want, rtol=1e-5)


@pytest.mark.parametrize("engine", ENGINES)
def test_padding_rows_and_ragged_and_awkward_change_nothing(engine):
    X = random_events(25, seed=6)
    imager = EventImager(npix=32, engine=engine)
    want = imager.fit_transform(X)
    # padding moved in front of the objects and extra padding columns
    order = np.argsort(X[..., 0] != 0, axis=1, kind="stable")
    moved = np.take_along_axis(X, order[..., None], axis=1)
    wider = np.concatenate([moved, np.zeros((25, 5, 4))], axis=1)
    assert_array_equal(imager.transform(wider), want)
    ragged = [event[event[:, 0] != 0] for event in X]
    assert_array_equal(imager.transform(ragged), want)
    ak = pytest.importorskip("awkward")
    records = ak.Array(
        [
            [dict(zip(("type", "pt", "eta", "phi"), row, strict=True)) for row in e]
            for e in (r.tolist() for r in ragged)
        ]
    )
    assert_array_equal(imager.transform(records), want)
    assert_array_equal(imager.transform(ak.Array(ragged)), want)
    # a fifth column is ignored
    extra = np.concatenate([X, np.full((25, 10, 1), 7.0)], axis=-1)
    assert_array_equal(imager.transform(extra), want)


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_event_gives_empty_image(engine):
    X = random_events(5, seed=7)
    assert not (X[0, :, 0] != 0).any()
    assert not EventImager(engine=engine).fit_transform(X)[0].any()
    Xs = random_events(5, seed=7, types=SEED_TYPES)
    seed = EventImager(preset="seed", engine=engine).fit_transform(Xs)
    assert np.all(seed[0] == 255)  # the background
    assert np.all(seed[:, 0, 0, 0] >= 0)


def test_float32_int_and_chunked_input_agree():
    X = random_events(50, seed=8)
    X32 = X.astype(np.float32)
    want = EventImager(engine="numpy").fit_transform(X32.astype(np.float64))
    got = EventImager(engine="numpy", chunk_size=7).fit_transform(X32)
    assert got.dtype == np.float32
    assert_array_equal(got, want)
    whole = np.round(X)
    assert_array_equal(
        EventImager(engine="numpy").fit_transform(whole.astype(np.int64)),
        EventImager(engine="numpy").fit_transform(whole),
    )


@pytest.mark.skipif(importlib.util.find_spec("numba") is None, reason="no numba")
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"preset": "seed"},
        {"shape": "outline", "line_width": 2.5, "met": "eta0"},
        {"periodic_phi": False, "outside_eta": "crop", "intensity": "count"},
        {"npix": (40, 20), "radius_scale": (0.1, 0.4), "channels": ["jet", "met"]},
        {"preset": "seed", "channels": [("electron", "muon"), "jet", "met"]},
        {"shape": "outline", "radius_scale": 3.0},  # larger than the canvas
    ],
)
def test_numba_and_numpy_engines_agree_bitwise(params):
    types = SEED_TYPES if params.get("preset") == "seed" else None
    X = random_events(120, seed=9, eta_sigma=2.0, types=types).astype(np.float32)
    with _quiet():
        a = EventImager(engine="numpy", **params).fit_transform(X)
        b = EventImager(engine="numba", **params).fit_transform(X)
    assert_array_equal(a, b)


def test_fit_attributes_and_stateless_transform():
    X = random_events(10, seed=10)
    imager = EventImager(npix=(30, 20))
    assert_array_equal(imager.transform(X), clone(imager).fit(X).transform(X))
    imager.fit(X)
    assert imager.n_channels_ == 7
    assert_allclose(imager.eta_edges_, np.linspace(-3, 3, 31))
    assert_allclose(imager.phi_edges_, np.linspace(-np.pi, np.pi, 21))
    assert set(imager.n_outside_) == set(T) - {"met"}


def test_huge_pt_covers_the_canvas_or_is_refused():
    X = one(T["jet"], 1e300, 0.0, 0.0)
    image = EventImager(npix=16, intensity="count", engine="numpy").fit_transform(X)
    assert (image[0, 4] > 0).all()  # a radius far beyond the canvas
    assert image.sum() == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError, match=r"1e\+300 GeV in event 0 is beyond float32"):
        EventImager(npix=16).fit_transform(X)


# -- errors -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("X", "match"),
    [
        (one(9, 10.0, 0.0, 0.0), "unknown object type code 9 in event 0"),
        (one(-1, 10.0, 0.0, 0.0), "unknown object type code -1"),
        (one(2.5, 10.0, 0.0, 0.0), "type codes must be whole numbers, got 2.5"),
        (one(T["jet"], -5.0, 0.0, 0.0), "negative transverse momentum in event 0"),
        (one(T["jet"], 0.0, 0.0, 0.0), "a jet (type 5) has zero pT in event 0"),
        (one(0, 10.0, 0.0, 0.0), "a padding row (type 0) has non-zero pT"),
        (one(T["jet"], np.nan, 0.0, 0.0), "contains NaN"),
        (one(T["jet"], 10.0, np.inf, 0.0), "contains inf"),
        (np.ones((3, 4)), "expected a 3-D array"),
        (np.ones((3, 2, 3)), "expected 4 or 5 features per object, got 3"),
        (np.zeros((0, 2, 4)), "empty"),
    ],
)
def test_bad_input_raises_clear_error(X, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        EventImager().fit(X)
    with pytest.raises(ValueError, match=re.escape(match)):
        EventImager().transform(X)


def test_bad_event_named_in_the_error():
    X = random_events(20, seed=11)
    X[13, 2] = [T["jet"], -1.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="negative transverse momentum in event 13"):
        EventImager().transform(X)


def test_rgb_needs_a_colour_for_every_type():
    with pytest.raises(ValueError, match="no colour for photon objects"):
        EventImager(preset="seed").fit(one(T["photon"], 30.0, 0.0, 0.0))
    colors = {**SEED_COLORS, "photon": (255, 255, 0)}
    image = EventImager(preset="seed", colors=colors).fit_transform(
        one(T["photon"], 30.0, 0.0, 0.0)
    )
    assert {tuple(c) for c in image[0].reshape(3, -1).T.tolist()} == {
        (255.0, 255.0, 255.0),
        (255.0, 255.0, 0.0),
    }


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"preset": "cms"}, "preset"),
        ({"npix": 0}, "npix"),
        ({"eta_range": (3, -3)}, "eta_range"),
        ({"channels": ("jet", "jet")}, "channels"),
        ({"channels": ("jet", ("muon", "jet"))}, "channels"),
        ({"channels": ("gluon",)}, "channels"),
        ({"channels": "jet"}, "channels"),
        ({"intensity": "energy"}, "intensity"),
        ({"shape": "square"}, "shape"),
        ({"radius_scale": -1.0}, "radius_scale"),
        ({"line_width": 0.5}, "line_width"),
        ({"met": "disc"}, "met"),
        ({"periodic_phi": "yes"}, "periodic_phi"),
        ({"outside_eta": "drop"}, "outside_eta"),
        ({"colors": {"jet": (300, 0, 0)}}, "colors"),
        ({"colors": {"gluon": (0, 0, 0)}}, "colors"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"engine": "cuda"}, "engine"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(params, name):
    X = one(T["jet"], 30.0, 0.0, 0.0)
    pattern = f"The '{name}' parameter of EventImager must be"
    with pytest.raises(InvalidParameterError, match=pattern):
        EventImager(**params).fit(X)
    with pytest.raises(InvalidParameterError, match=pattern):
        EventImager(**params).transform(X)


# -- with the rest of hepclf ----------------------------------------------------------------
def test_transform_dask_gives_the_same_images():
    da = pytest.importorskip("dask.array")
    from hepclf.parallel import transform_dask

    X = random_events(30, seed=12)
    imager = EventImager(npix=16)
    lazy = transform_dask(imager, da.from_array(X, chunks=(7, 10, 4)))
    assert lazy.shape == (30, 7, 16, 16)
    assert lazy.dtype == np.float32
    assert_array_equal(lazy.compute(), imager.transform(X))


def test_transform_dask_awkward():
    dak = pytest.importorskip("dask_awkward")
    ak = pytest.importorskip("awkward")
    from hepclf.parallel import transform_dask

    X = random_events(12, seed=13)
    ragged = [
        [dict(zip(("type", "pt", "eta", "phi"), row, strict=True)) for row in e]
        for e in (r[r[:, 0] != 0].tolist() for r in X)
    ]
    lazy = transform_dask(
        EventImager(npix=16), dak.from_awkward(ak.Array(ragged), npartitions=3)
    )
    assert_array_equal(lazy.compute(), EventImager(npix=16).transform(X))


def test_pipeline_with_cnn_classifier_and_save_model(tmp_path):
    pytest.importorskip("torch")
    from hepclf import load_model, save_model

    rng = np.random.default_rng(14)
    X = random_events(90, seed=14)
    y = rng.integers(0, 3, 90)
    X[y == 2, 1, :] = [T["electron"], 80.0, 0.0, 0.0]  # a class with an electron
    pipe = small_cnn_pipeline(EventImager(npix=16)).fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (90, 3)
    path = save_model(pipe, tmp_path / "events.hepclf")
    assert_allclose(load_model(path).predict_proba(X), proba, rtol=1e-6)
