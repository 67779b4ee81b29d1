from __future__ import annotations

import importlib.util
import warnings

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils._param_validation import InvalidParameterError

from hepclf import EnergyEncoder
from hepclf.imaging import ENCODINGS
from hepclf.imaging._hits import HIT_FEATURES

ENGINES = [
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("numba") is None, reason="numba not installed"
        ),
    ),
]
#: npix=4 over [-400, 400] mm: pixel edges at -400, -200, 0, 200, 400
SMALL = {"npix": 4, "extent": 400.0, "scale_quantile": None}


def random_hits(n=40, k=30, seed=0, n_features=7, radius=700.0):
    """Zero-padded hits ``(x, y, charge, layer, wire, stereo, drift_time)``:
    padding rows anywhere, an empty event (0), hits sharing pixels."""
    rng = np.random.default_rng(seed)
    layer = rng.integers(0, 43, (n, k)).astype(float)
    r = 60.0 + layer * (radius - 60.0) / 42
    phi = rng.uniform(-np.pi, np.pi, (n, k))
    X = np.stack(
        [
            r * np.cos(phi),
            r * np.sin(phi),
            np.round(rng.lognormal(6.0, 0.5, (n, k))),
            layer,
            rng.integers(0, 288, (n, k)).astype(float),
            (layer < 8).astype(float),
            rng.uniform(0, 400, (n, k)),
        ],
        axis=-1,
    )[..., :n_features]
    X[rng.random((n, k)) < 0.3] = 0.0
    X[0] = 0.0
    return X


def hand_event():
    """Two events: three hits (two of them in one pixel) and an empty one."""
    X = np.zeros((2, 4, 4))
    X[0, 0] = [50.0, 50.0, 100.0, 3]  # pixel (row 2, col 2)
    X[0, 1] = [150.0, 10.0, 300.0, 3]  # pixel (row 2, col 2) too
    X[0, 2] = [-300.0, -250.0, 200.0, 10]  # pixel (row 0, col 0)
    return X


# -- known images of known inputs ----------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_each_encoding_hand_computed(engine):
    X = hand_event()
    images = EnergyEncoder(encoding=list(ENCODINGS), engine=engine, **SMALL)
    images = images.fit_transform(X)
    assert images.shape == (2, 4, 4, 4)
    assert images.dtype == np.float32
    expected = np.zeros((4, 4, 4))
    for c, (shared, single) in enumerate(
        [(1.0, 1.0), (600.0, 600.0), (200.0, 200.0), (400.0, 200.0)]
    ):
        expected[c, 2, 2] = shared  # two hits: binary 1, total/average once, sum
        expected[c, 0, 0] = single
    assert_array_equal(images[0], expected)
    assert_array_equal(images[1], 0.0)  # the empty event


@pytest.mark.parametrize("engine", ENGINES)
def test_channels_stack_in_the_given_order(engine):
    X = hand_event()
    both = EnergyEncoder(encoding=("per_hit", "binary"), engine=engine, **SMALL)
    one = EnergyEncoder(encoding="per_hit", engine=engine, **SMALL)
    images = both.fit_transform(X)
    assert both.channel_names_ == ["per_hit", "binary"]
    assert_array_equal(images[:, :1], one.fit_transform(X))
    assert set(np.unique(images[:, 1])) == {0.0, 1.0}


@pytest.mark.parametrize("engine", ENGINES)
def test_unrolled_geometry_rows_are_layers_columns_azimuth(engine):
    X = hand_event()
    X[0, 3] = [0.0, -100.0, 50.0, 3]  # phi = -pi/2, layer 3
    encoder = EnergyEncoder(
        encoding=["binary", "per_hit"],
        geometry="unrolled",
        npix=8,
        n_layers=12,
        scale_quantile=None,
        engine=engine,
    )
    images = encoder.fit_transform(X)
    assert images.shape == (2, 2, 12, 8)
    expected = np.zeros((12, 8))
    # phi bins of pi/4 from -pi: phi = pi/4 -> 5, atan2(10, 150) -> 4,
    # atan2(-250, -300) = -2.45 -> 0, -pi/2 -> 2
    expected[3, 5] = 100.0
    expected[3, 4] = 300.0
    expected[10, 0] = 200.0
    expected[3, 2] = 50.0
    assert_array_equal(images[0, 1], expected)
    assert_array_equal(images[0, 0], expected > 0)
    assert_array_equal(images[1], 0.0)
    assert_allclose(encoder.column_edges_, np.linspace(-np.pi, np.pi, 9))
    assert_array_equal(encoder.row_edges_, np.arange(13))


@pytest.mark.parametrize("engine", ENGINES)
def test_unrolled_keeps_layers_at_the_same_place_apart(engine):
    # an axial and a stereo layer hit at the same (x, y): two rows, not one pixel
    X = np.array([[[100.0, 0.0, 10.0, 7, 0, 1, 0], [100.0, 0.0, 20.0, 8, 0, 0, 0]]])
    images = EnergyEncoder(
        geometry="unrolled", npix=4, scale_quantile=None, engine=engine
    ).fit_transform(X)
    assert images[0, 0, 7].sum() == 10.0
    assert images[0, 0, 8].sum() == 20.0
    xy = EnergyEncoder(npix=4, scale_quantile=None, engine=engine).fit_transform(X)
    assert np.count_nonzero(xy) == 1
    assert xy.sum() == 30.0


@pytest.mark.parametrize("engine", ENGINES)
def test_pixel_edges_follow_histogram2d(engine):
    # on edges (including +extent and phi = pi) and everywhere else
    X = random_hits(60, seed=1, n_features=3, radius=390.0)
    X[1, :6] = [
        [0.0, 0.0, 5.0],  # a hit at the origin (not padding: it has charge)
        [200.0, -200.0, 7.0],
        [400.0, 400.0, 9.0],
        [-400.0, 399.9, 11.0],
        [-100.0, 0.0, 13.0],  # phi = pi exactly
        [0.0, -400.0, 17.0],
    ]
    encoder = EnergyEncoder(npix=4, extent=400.0, scale_quantile=None, engine=engine)
    images = encoder.fit_transform(X)
    for i, event in enumerate(X):
        present = np.any(event[:, :3] != 0, axis=1)
        x, y, q = event[present, :3].T
        hist, _, _ = np.histogram2d(y, x, bins=4, range=[[-400, 400]] * 2, weights=q)
        assert_allclose(images[i, 0], hist, rtol=1e-6)
    unrolled = EnergyEncoder(
        geometry="unrolled", npix=8, n_layers=1, scale_quantile=None, engine=engine
    )
    # phi = atan2(+0, -100) = pi: the last column; atan2(-0, -100) = -pi: the first
    edge = np.array([[[-100.0, 0.0, 13.0, 0.0], [-100.0, -0.0, 7.0, 0.0]]])
    images = unrolled.fit_transform(edge)
    assert images[0, 0, 0, -1] == 13.0
    assert images[0, 0, 0, 0] == 7.0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("geometry", ["xy", "unrolled"])
def test_charge_and_hits_are_conserved(engine, geometry):
    X = random_hits(30, seed=15)
    encoder = EnergyEncoder(
        encoding=["binary", "per_hit"],
        geometry=geometry,
        scale_quantile=None,
        engine=engine,
    )
    images = encoder.fit_transform(X).astype(np.float64)
    present = np.any(X[..., :3] != 0, axis=-1)
    assert_allclose(images[:, 1].sum(axis=(1, 2)), X[..., 2].sum(axis=1), rtol=1e-6)
    # a pixel with a hit is on in the binary channel, and only those
    assert_array_equal(images[:, 0] > 0, images[:, 1] > 0)
    assert (images[:, 0].sum(axis=(1, 2)) <= present.sum(axis=1)).all()
    if geometry == "unrolled":  # each layer's charge lands in its own row
        for i in range(len(X)):
            per_layer = np.bincount(
                X[i, present[i], 3].astype(int), X[i, present[i], 2], minlength=43
            )
            assert_allclose(images[i, 1].sum(axis=1), per_layer, rtol=1e-6)


@pytest.mark.slow
def test_simulated_events_encode_every_hit():
    from hepclf.datasets import make_drift_chamber_events

    events = make_drift_chamber_events("jpsi_mumu", 4, random_state=0, progress=False)
    for geometry in ("xy", "unrolled"):
        encoder = EnergyEncoder(geometry=geometry, scale_quantile=None)
        images = encoder.fit_transform(events.hits)
        assert encoder.n_outside_ == 0
        assert_allclose(
            images.sum(axis=(1, 2, 3)), events.hits[..., 2].sum(axis=1), rtol=1e-6
        )


@pytest.mark.parametrize("engine", ENGINES)
def test_empty_events_give_zero_images(engine):
    X = np.zeros((3, 5, 3))
    X[1, 2] = [10.0, 10.0, 50.0]
    encoder = EnergyEncoder(encoding=list(ENCODINGS), npix=8, engine=engine)
    images = encoder.fit_transform(X)
    assert_array_equal(images[[0, 2]], 0.0)
    assert (images[1] > 0).sum() == 4
    # scales come from events with hits only: one event, one hit
    assert_array_equal(encoder.scale_, [1.0, 50.0, 50.0, 50.0])


@pytest.mark.parametrize("engine", ENGINES)
def test_padding_rows_ragged_and_awkward_change_nothing(engine):
    X = random_hits(12, seed=2)
    encoder = EnergyEncoder(encoding=list(ENCODINGS), npix=16, engine=engine).fit(X)
    expected = encoder.transform(X)
    shuffled = X[:, np.random.default_rng(3).permutation(X.shape[1])]
    assert_array_equal(encoder.transform(shuffled[:, :, :]), expected)
    ragged = [e[np.any(e[:, :3] != 0, axis=1)] for e in X]
    assert_array_equal(encoder.transform(ragged), expected)
    ak = pytest.importorskip("awkward")
    assert_array_equal(
        encoder.transform(ak.Array([r.tolist() for r in ragged])), expected
    )
    records = ak.Array(
        [[dict(zip(HIT_FEATURES, row, strict=True)) for row in r] for r in ragged]
    )
    assert_array_equal(encoder.transform(records), expected)


def test_numba_and_numpy_engines_agree_bitwise():
    pytest.importorskip("numba")
    X = random_hits(80, seed=4).astype(np.float32)
    X[5, 3, :2] = [900.0, 0.0]  # beyond the extent
    for params in (
        {"geometry": "xy", "outside": "clip"},
        {"geometry": "xy", "outside": "drop"},
        {"geometry": "unrolled", "npix": 40},
    ):
        kw = {"encoding": list(ENCODINGS), "npix": 24, **params}
        a = EnergyEncoder(engine="numpy", **kw).fit(X)
        b = EnergyEncoder(engine="numba", **kw).fit(X)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            assert_array_equal(a.transform(X), b.transform(X))


def test_chunks_and_dtypes_give_the_same_images():
    X = random_hits(50, seed=5)
    full = EnergyEncoder(encoding=list(ENCODINGS), engine="numpy").fit(X)
    expected = full.transform(X)
    chunked = clone(full).set_params(chunk_size=7).fit(X)
    assert_array_equal(chunked.transform(X), expected)
    assert_array_equal(chunked.scale_, full.scale_)
    whole = np.round(X)
    assert_array_equal(
        full.fit(whole).transform(whole.astype(np.int32)),
        full.transform(whole.astype(np.float32)),
    )


# -- the normalisation -----------------------------------------------------------------
def test_scales_are_quantiles_of_the_training_values():
    X = random_hits(60, seed=6)
    present = np.any(X[..., :3] != 0, axis=-1)
    q = np.where(present, X[..., 2], 0.0)
    n = present.sum(axis=1)
    has = n > 0
    total = q.sum(axis=1)[has]
    average = total / n[has]
    for quantile in (0.5, 0.99, 1.0):
        encoder = EnergyEncoder(encoding=list(ENCODINGS), scale_quantile=quantile)
        encoder.fit(X)
        assert_allclose(
            encoder.scale_,
            [
                1.0,
                np.quantile(total, quantile),
                np.quantile(average, quantile),
                np.quantile(X[..., 2][present], quantile),
            ],
            rtol=1e-12,
        )
    images = encoder.transform(X)  # scale_quantile=1: the maximum is 1
    assert_allclose(images.reshape(len(X), 4, -1).max(axis=(0, 2)), 1.0, rtol=1e-6)


def test_charge_channels_need_fit_and_binary_does_not():
    X = random_hits(5, seed=7)
    with pytest.raises(NotFittedError):
        EnergyEncoder(encoding="total").transform(X)
    assert_array_equal(
        EnergyEncoder(encoding="binary").transform(X),
        EnergyEncoder(encoding="binary").fit(X).transform(X),
    )
    raw = EnergyEncoder(encoding="per_hit", scale_quantile=None)
    assert_array_equal(raw.transform(X), clone(raw).fit(X).transform(X))
    assert EnergyEncoder().__sklearn_tags__().requires_fit
    assert not EnergyEncoder(encoding="binary").__sklearn_tags__().requires_fit
    fitted = EnergyEncoder(encoding="total").fit(X)
    with pytest.raises(ValueError, match="no scale for \\['per_hit'\\]; call fit"):
        fitted.set_params(encoding="per_hit").transform(X)


def flatten(images):
    return images.reshape(len(images), -1)


def test_normalisation_fitted_on_training_folds_only():
    X = random_hits(60, seed=8)
    X[30:, :, 2] *= 3.0  # the second half has three times the charge
    y = np.arange(60) % 2
    pipe = make_pipeline(
        EnergyEncoder(encoding=["total", "average", "per_hit"], npix=8),
        FunctionTransformer(flatten),
        LogisticRegression(max_iter=50),
    )
    cv = KFold(3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LogisticRegression's convergence
        result = cross_validate(pipe, X, y, cv=cv, return_estimator=True)
    scales = [est[0].scale_ for est in result["estimator"]]
    for (train, _), scale in zip(cv.split(X), scales, strict=True):
        own = EnergyEncoder(encoding=["total", "average", "per_hit"]).fit(X[train])
        assert_array_equal(scale, own.scale_)
    # the folds see different charges, hence different scales
    assert not np.allclose(scales[0], scales[2])
    whole = EnergyEncoder(encoding=["total", "average", "per_hit"]).fit(X).scale_
    assert all(not np.allclose(s, whole) for s in scales)


# -- hits beyond the extent ---------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_hits_beyond_the_extent_are_clipped_and_counted(engine):
    X = hand_event()
    X[0, 3] = [900.0, -50.0, 40.0, 1]  # beyond x = +400: clipped to column 3
    X[1, 0] = [0.0, -1e4, 5.0, 2]  # beyond y = -400: row 0
    encoder = EnergyEncoder(encoding="per_hit", engine=engine, **SMALL).fit(X)
    assert encoder.n_outside_ == 2
    assert_array_equal(encoder.count_outside(X), [1, 1])
    with pytest.warns(
        UserWarning,
        match=r"2 hit\(s\) lie beyond the extent .* "
        r"clipped to the border pixels .*events 0, 1\)",
    ):
        images = encoder.transform(X)
    assert images[0, 0, 1, 3] == 40.0
    assert images[1, 0, 0, 2] == 5.0
    assert images.sum() == 600.0 + 45.0  # nothing lost


@pytest.mark.parametrize("engine", ENGINES)
def test_hits_beyond_the_extent_dropped_and_counted(engine):
    X = hand_event()
    X[0, 3] = [900.0, -50.0, 40.0, 1]
    encoder = EnergyEncoder(
        encoding=["per_hit", "total"], outside="drop", engine=engine, **SMALL
    ).fit(X)
    assert encoder.n_outside_ == 1
    with pytest.warns(UserWarning, match=r"1 hit\(s\) .* left out of the images"):
        images = encoder.transform(X)
    assert images[0, 0].sum() == 600.0  # the dropped hit is not drawn ...
    assert images[0, 1].max() == 640.0  # ... but its charge is in the total


def test_unrolled_has_no_extent():
    X = hand_event()
    X[0, 3] = [5000.0, 0.0, 40.0, 1]
    encoder = EnergyEncoder(geometry="unrolled", scale_quantile=None).fit(X)
    assert encoder.n_outside_ == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert encoder.transform(X).sum() == 640.0


# -- errors ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "value", "match"),
    [
        ((3, 1, 0), np.nan, "EnergyEncoder: the input contains NaN values"),
        ((3, 1, 2), np.inf, "EnergyEncoder: the input contains inf values"),
        ((4, 2, 2), -5.0, r"EnergyEncoder: negative charge in event 4 \(hit 2: -5\)"),
    ],
)
def test_bad_values_raise_naming_the_event(where, value, match):
    X = random_hits(6, seed=9)
    X[where[:2]] = [1.0, 1.0, 1.0, 1, 1, 1, 1]
    X[where] = value
    with pytest.raises(ValueError, match=match):
        EnergyEncoder().fit(X)
    with pytest.raises(ValueError, match=match):
        EnergyEncoder(encoding="binary").transform(X)


@pytest.mark.parametrize(
    ("layer", "match"),
    [
        (43.0, r"layer 43 of hit 1 in event 2 is not a whole number in \[0, 43\)"),
        (-1.0, "layer -1 of hit 1 in event 2"),
        (2.5, "layer 2.5 of hit 1 in event 2"),
    ],
)
def test_bad_layers_raise_for_the_unrolled_geometry(layer, match):
    X = random_hits(6, seed=10)
    X[2, 1, :4] = [100.0, 0.0, 10.0, layer]
    with pytest.raises(ValueError, match=match):
        EnergyEncoder(geometry="unrolled").fit(X)
    EnergyEncoder(geometry="xy").fit(X)  # the xy image does not use layers


def test_unrolled_needs_the_layer_feature():
    X = random_hits(4, seed=11, n_features=3)
    with pytest.raises(ValueError, match="geometry='unrolled' needs the layer feature"):
        EnergyEncoder(geometry="unrolled").fit(X)


def test_feature_count_and_rank():
    X = random_hits(4, seed=12)
    with pytest.raises(ValueError, match="expected 3 or 4 or 5 or 6 or 7 features"):
        EnergyEncoder().fit(X[..., :2])
    with pytest.raises(ValueError, match="shape"):
        EnergyEncoder().fit(X.reshape(4, -1))
    fitted = EnergyEncoder().fit(X)
    with pytest.raises(ValueError, match="X has 3 features per hit, but"):
        fitted.transform(X[..., :3])


def test_huge_charges_beyond_float32_are_refused():
    X = hand_event()
    X[0, 0, 2] = 1e300
    with pytest.raises(ValueError, match="the per_hit charge of event 0 is 1e"):
        EnergyEncoder(scale_quantile=None, engine="numpy").transform(X)
    if importlib.util.find_spec("numba"):
        with pytest.raises(ValueError, match="the per_hit charge of event 0 is 1e"):
            EnergyEncoder(scale_quantile=None, engine="numba").transform(X)


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"encoding": "energy"}, "encoding"),
        ({"encoding": []}, "encoding"),
        ({"npix": 0}, "npix"),
        ({"extent": 0.0}, "extent"),
        ({"geometry": "rz"}, "geometry"),
        ({"n_layers": 0}, "n_layers"),
        ({"outside": "keep"}, "outside"),
        ({"scale_quantile": 0.0}, "scale_quantile"),
        ({"scale_quantile": 1.5}, "scale_quantile"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"engine": "cuda"}, "engine"),
    ],
)
def test_bad_parameters_raise_naming_the_parameter(params, name):
    X = hand_event()
    pattern = f"The '{name}' parameter of EnergyEncoder must be"
    with pytest.raises(InvalidParameterError, match=pattern):
        EnergyEncoder(**params).fit(X)
    with pytest.raises(InvalidParameterError, match=pattern):
        EnergyEncoder(**params).transform(X)


# -- with the rest of hepclf ----------------------------------------------------------
def test_transform_dask_gives_the_same_images():
    da = pytest.importorskip("dask.array")
    from hepclf.parallel import transform_dask

    X = random_hits(30, seed=13)
    encoder = EnergyEncoder(encoding=["binary", "per_hit"], npix=16).fit(X)
    lazy = transform_dask(encoder, da.from_array(X, chunks=(7, 30, 7)))
    assert lazy.shape == (30, 2, 16, 16)
    assert lazy.dtype == np.float32
    assert_array_equal(lazy.compute(), encoder.transform(X))


def separable_hits(n=80, seed=14):
    """Class 1: hits on the right half, twice the charge; class 0: the left."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = random_hits(n, k=20, seed=seed)
    X[:, :, 0] = np.abs(X[:, :, 0]) * np.where(y == 1, 1.0, -1.0)[:, None]
    X[y == 1, :, 2] *= 2.0
    present = rng.random((n, 20)) > 0.3
    X[~present] = 0.0
    return X, y


def cnn_pipeline(**encoder):
    torch = pytest.importorskip("torch")
    from hepclf import CNNClassifier

    torch.set_num_threads(1)
    return make_pipeline(
        EnergyEncoder(npix=16, **encoder),
        CNNClassifier(
            max_epochs=4,
            batch_size=16,
            lr=3e-3,
            random_state=0,
            module__conv_blocks=((4,),),
            module__pool_size=2,
            module__dense=(8,),
            module__dropout=0.0,
        ),
    )


def test_pipeline_with_cnn_cross_val_and_grid_search():
    from sklearn.model_selection import GridSearchCV, cross_val_score

    X, y = separable_hits()
    scores = cross_val_score(cnn_pipeline(), X, y, scoring="roc_auc", cv=2)
    assert scores.min() > 0.9
    grid = GridSearchCV(
        cnn_pipeline(),
        {"energyencoder__encoding": ["binary", "per_hit"]},
        scoring="roc_auc",
        cv=2,
    ).fit(X, y)
    assert set(grid.cv_results_["param_energyencoder__encoding"]) == {
        "binary",
        "per_hit",
    }
    assert grid.best_score_ > 0.9


def test_joblib_and_save_model_round_trips(tmp_path):
    from hepclf import load_model, save_model

    X, y = separable_hits(40)
    pipe = cnn_pipeline(encoding=["binary", "total", "per_hit"]).fit(X, y)
    proba = pipe.predict_proba(X)
    joblib.dump(pipe, tmp_path / "hits.joblib")
    assert_array_equal(joblib.load(tmp_path / "hits.joblib").predict_proba(X), proba)
    path = save_model(pipe, tmp_path / "hits.hepclf")
    loaded = load_model(path)
    assert_array_equal(loaded[0].scale_, pipe[0].scale_)
    assert_array_equal(loaded.predict_proba(X), proba)
