"""JetImageModule (JetImager's arithmetic in torch) against JetImager.transform,
in torch and through ONNX Runtime, for every option combination.

The reference is JetImager's NumPy engine, whose float64 arithmetic the graph
reproduces; the numba engine (used by ``engine="auto"`` when numba is
installed) sums pixels in float32 and is compared with a tolerance."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

from hepclf import JetImager
from hepclf.export._onnx import _to_onnx
from hepclf.imaging import JetImageModule
from hepclf.kinematics._torch import asinh, atan2

from .conftest import rotate_to_seam, straddling_fraction

BOOLS = list(itertools.product([True, False], repeat=4))  # center rotate flip normalize


def _ids(flags):
    return "-".join(
        name if on else f"no{name}"
        for name, on in zip(
            ("center", "rotate", "flip", "normalize"), flags, strict=True
        )
    )


def make_random_jets(n_jets=300, n=20, seed=0):
    """Random jets (pt, eta, phi, mass): padding between rows, an empty jet,
    one-constituent jets, jets straddling phi = +-pi, exact zeros of phi."""
    rng = np.random.default_rng(seed)
    pt = rng.exponential(30.0, (n_jets, n))
    eta = rng.normal(0, 1.0, (n_jets, 1)) + rng.normal(0, 0.25, (n_jets, n))
    phi = rng.uniform(-np.pi, np.pi, (n_jets, 1)) + rng.normal(0, 0.25, (n_jets, n))
    phi[: n_jets // 3] += np.pi - phi[: n_jets // 3, :1]  # centred on phi = pi
    phi = (phi + np.pi) % (2 * np.pi) - np.pi
    mass = rng.exponential(0.3, (n_jets, n))
    pt[rng.random((n_jets, n)) < 0.25] = 0.0  # padding rows anywhere
    pt[0] = 0.0  # no constituents
    pt[1, 1:] = 0.0  # one constituent
    pt[2, :-1] = 0.0  # one constituent, in the last row
    X = np.stack([pt, eta, phi, mass], axis=-1)
    X[pt == 0] = 0.0
    return X


def to_epxpypz(X):
    pt, eta, phi, mass = np.moveaxis(X.astype(np.float64), -1, 0)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    E = np.sqrt(px**2 + py**2 + pz**2 + mass**2)
    out = np.stack([E, px, py, pz], axis=-1)
    out[pt == 0] = 0.0
    return out.astype(np.float32)


def to_ptetaphi(X):
    E, px, py, pz = np.moveaxis(X.astype(np.float64), -1, 0)
    pt = np.hypot(px, py)
    present = pt > 0
    safe = np.where(present, pt, 1.0)
    mass = np.sqrt(np.maximum(E**2 - pt**2 - pz**2, 0.0))
    out = np.stack([pt, np.arcsinh(pz / safe), np.arctan2(py, px), mass], axis=-1)
    out[~present] = 0.0
    return out.astype(np.float32)


def imagers(center, rotate, flip, normalize):
    """The imagers tested for one combination of the switches."""
    wide = (
        {} if center else {"eta_range": (-3.0, 3.0), "phi_range": (-math.pi, math.pi)}
    )
    flags = {
        "center": center,
        "rotate": rotate,
        "flip": flip,
        "normalize": normalize,
        "engine": "numpy",
    }
    return {
        "epxpypz-pt-rect": (
            JetImager(npix=(16, 12), **wide, **flags),
            "epxpypz",
        ),
        "ptetaphi-3ch": (
            JetImager(
                npix=15,
                input_format="ptetaphi",
                intensity=("pt", "energy", "count"),
                **({"eta_range": (-0.8, 1.2)} | wide),
                **flags,
            ),
            "ptetaphi",
        ),
    }


EXTRA = {
    "default-40": (JetImager(engine="numpy"), "epxpypz"),
    "epxpypz-energy-count": (
        JetImager(npix=(9, 20), intensity=["energy", "count"], engine="numpy"),
        "epxpypz",
    ),
    "ptetaphi3-energy": (
        JetImager(npix=10, input_format="ptetaphi", intensity="energy", engine="numpy"),
        "ptetaphi3",
    ),
}


def all_imagers():
    out = {}
    for flags in BOOLS:
        for key, value in imagers(*flags).items():
            out[f"{key}-{_ids(flags)}"] = value
    out.update(EXTRA)
    return out


#: through ONNX Runtime in the default run (each export takes seconds): every
#: branch of JetImageModule on and off, both formats; all of them with -m slow
FAST = [
    "epxpypz-pt-rect-center-rotate-flip-normalize",
    "ptetaphi-3ch-nocenter-norotate-noflip-nonormalize",
    "epxpypz-pt-rect-nocenter-rotate-noflip-normalize",
    "ptetaphi-3ch-center-norotate-flip-nonormalize",
    *EXTRA,
]


class _Many(torch.nn.Module):
    """Every imager at once, so one export covers all combinations."""

    def __init__(self, table):
        super().__init__()
        self.kinds = [kind for _, kind in table.values()]
        self.images = torch.nn.ModuleList(
            JetImageModule(im, n_features=3 if kind == "ptetaphi3" else 4)
            for im, kind in table.values()
        )

    def forward(self, epxpypz, ptetaphi, ptetaphi3):
        inputs = {"epxpypz": epxpypz, "ptetaphi": ptetaphi, "ptetaphi3": ptetaphi3}
        return tuple(m(inputs[k]) for m, k in zip(self.images, self.kinds, strict=True))


@pytest.fixture(scope="module")
def table():
    return all_imagers()


def make_session(table):
    X = make_random_jets(n_jets=4, n=6)
    examples = [to_epxpypz(X), X.astype(np.float32), X[..., :3].astype(np.float32)]
    dims = [
        {0: torch.export.Dim(f"batch_{i}"), 1: torch.export.Dim(f"n_{i}")}
        for i in range(3)
    ]
    model = _to_onnx(
        _Many(table),
        examples,
        ["epxpypz", "ptetaphi", "ptetaphi3"],
        list(table),
        dims,
        18,
        "test imagers",
    )
    return ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )


@pytest.fixture(scope="module")
def fast_table(table):
    return {name: table[name] for name in FAST}


@pytest.fixture(scope="module")
def session(fast_table):
    return make_session(fast_table)


def _inputs(X_ptetaphi, X_epxpypz):
    return {
        "epxpypz": X_epxpypz,
        "ptetaphi": X_ptetaphi,
        "ptetaphi3": np.ascontiguousarray(X_ptetaphi[..., :3]),
    }


def _expected(table, inputs):
    return {
        name: im.fit(inputs[kind]).transform(inputs[kind])
        for name, (im, kind) in table.items()
    }


def assert_same_images(got, want, name):
    assert got.dtype == np.float32
    assert got.shape == want.shape, name
    moved = int(np.sum((got != 0) != (want != 0)))
    assert moved == 0, f"{name}: {moved} pixels differ in occupancy"
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7, err_msg=name)


@pytest.fixture(scope="module")
def random_inputs():
    X = make_random_jets()
    return _inputs(X.astype(np.float32), to_epxpypz(X))


@pytest.fixture(scope="module")
def real_inputs():
    from hepclf.datasets import load_top_tagging

    X, _ = load_top_tagging(split="val", n_constituents=120)
    return _inputs(to_ptetaphi(X), X)


def check_session(table, session, inputs):
    want = _expected(table, inputs)
    got = dict(zip(table, session.run(None, inputs), strict=True))
    for name in table:
        assert_same_images(got[name], want[name], name)


@pytest.mark.parametrize("data", ["random_inputs", "real_inputs"])
def test_onnx_images_equal_jetimager(fast_table, session, data, request):
    check_session(fast_table, session, request.getfixturevalue(data))


def test_bundled_sample_pixel_by_pixel(session):
    """All 5,000 bundled jets, as they are and turned to straddle phi = +-pi,
    through the default JetImager: the same pixels, the same float32 values."""
    from hepclf.datasets import load_top_tagging

    X, _ = load_top_tagging()
    for jets in (X, rotate_to_seam(X, seed=1)):
        inputs = _inputs(np.zeros((1, 1, 4), np.float32), jets)
        inputs["ptetaphi3"] = np.zeros((1, 1, 3), np.float32)
        (got,) = session.run(["default-40"], inputs)
        want = JetImager(engine="numpy").fit_transform(jets)
        assert_same_images(got, want, "default-40")
        # measured with onnxruntime 1.32: identical (0 differing values)
        assert np.mean(got != want) < 1e-5
        # the default engine (numba when installed: float32 pixel sums)
        auto = JetImager().fit_transform(jets)
        assert np.array_equal(got != 0, auto != 0)
        np.testing.assert_allclose(got, auto, rtol=0, atol=5e-7)
    assert straddling_fraction(jets) > 0.9


@pytest.mark.slow
def test_onnx_images_equal_jetimager_for_every_option(
    table, random_inputs, real_inputs
):
    session = make_session(table)
    for inputs in (random_inputs, real_inputs):
        check_session(table, session, inputs)


@pytest.mark.parametrize("name", list(all_imagers()))
def test_torch_module_equals_jetimager(table, random_inputs, name):
    imager, kind = table[name]
    X = random_inputs[kind]
    got = JetImageModule(imager, n_features=X.shape[-1])(torch.from_numpy(X)).numpy()
    assert_same_images(got, imager.fit(X).transform(X), name)


def test_float64_input(table):
    """float64 constituents are imaged from their float64 values, as JetImager does."""
    imager, _ = table["epxpypz-energy-count"]
    X = to_epxpypz(make_random_jets(seed=3)).astype(np.float64)
    X[..., 1:] *= 1 + 1e-9  # values a float32 cannot hold
    got = JetImageModule(imager)(torch.from_numpy(X)).numpy()
    assert_same_images(got, imager.fit(X).transform(X), "float64")


def test_padding_rows_contribute_nothing(session, random_inputs):
    """Moving the padding rows around, or adding more, changes no image."""
    inputs = random_inputs
    rng = np.random.default_rng(5)
    shuffled = {}
    for key, X in inputs.items():
        wider = np.concatenate([X, np.zeros_like(X[:, :7])], axis=1)
        order = np.argsort(
            np.where(wider[..., 1 if key == "epxpypz" else 0] != 0, 0, 1)
            + rng.random(wider.shape[:2]) * 0.5,
            axis=1,
            kind="stable",
        )
        shuffled[key] = np.ascontiguousarray(
            np.take_along_axis(wider, order[..., None], 1)
        )
    a = session.run(None, inputs)
    b = session.run(None, shuffled)
    for name, x, y in zip(list(session.get_outputs()), a, b, strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name.name)


def test_all_padding_batch_gives_zero_images(session):
    inputs = _inputs(np.zeros((3, 5, 4), np.float32), np.zeros((3, 5, 4), np.float32))
    for image in session.run(None, inputs):
        assert not image.any()


def test_single_jet_batch(fast_table, session, random_inputs):
    """Batch of one and a constituent axis of one (dynamic axes)."""
    inputs = {k: np.ascontiguousarray(v[2:3, -1:]) for k, v in random_inputs.items()}
    check_session(fast_table, session, inputs)


def test_atan2_matches_numpy_including_signed_zeros():
    rng = np.random.default_rng(0)
    y = rng.normal(size=20000) * rng.choice([1e-6, 1.0, 1e4], 20000)
    x = rng.normal(size=20000)
    specials = np.array([0.0, -0.0, 1.0, -1.0, 3.0, -2.0])
    yy, xx = (a.ravel() for a in np.meshgrid(specials, specials))
    y, x = np.concatenate([y, yy]), np.concatenate([x, xx])
    got = atan2(torch.from_numpy(y), torch.from_numpy(x)).numpy()
    want = np.arctan2(y, x)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    exact = (y == 0) | (x == 0)
    np.testing.assert_array_equal(got[exact], want[exact])


def test_asinh_matches_numpy():
    u = np.concatenate([np.linspace(-50, 50, 10001), [0.0, -0.0, 1e-30, 1e12]])
    got = asinh(torch.from_numpy(u)).numpy()
    np.testing.assert_allclose(got, np.arcsinh(u), rtol=1e-15, atol=1e-15)


def test_wrong_n_features_is_rejected():
    with pytest.raises(ValueError, match="n_features=3 does not fit"):
        JetImageModule(JetImager(), n_features=3)
