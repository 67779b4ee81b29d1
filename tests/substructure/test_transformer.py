from __future__ import annotations

import pickle
import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from hepclf.substructure import (
    FEATURES,
    SubstructureFeatures,
    jet_mass,
    nsubjettiness,
    softdrop_mass,
)

from ._helpers import prong_jets

PTETAPHI = {"input_format": "ptetaphi"}


@pytest.fixture(scope="module")
def jets():
    return np.concatenate(
        [prong_jets(10, k, width=0.05, seed=20 + k) for k in (1, 2, 3)]
    )


def test_columns_match_the_functions(jets):
    out = SubstructureFeatures(**PTETAPHI).fit_transform(jets)
    assert out.shape == (len(jets), 7)
    assert out.dtype == np.float64
    tau = nsubjettiness(jets, **PTETAPHI)
    expected = np.column_stack(
        [
            jet_mass(jets, **PTETAPHI),
            softdrop_mass(jets, **PTETAPHI),
            tau,
            tau[:, 1] / tau[:, 0],
            tau[:, 2] / tau[:, 1],
        ]
    )
    assert_allclose(out, expected, rtol=1e-12)
    assert_array_equal(SubstructureFeatures().get_feature_names_out(), FEATURES)


def test_feature_subset_order_and_parameters(jets):
    sf = SubstructureFeatures(
        features=["tau32", "mass"], beta=2.0, r0=1.0, chunk_size=7, **PTETAPHI
    )
    out = sf.fit_transform(jets)
    tau = nsubjettiness(jets, n=(2, 3), beta=2.0, r0=1.0, **PTETAPHI)
    assert_allclose(
        out, np.column_stack([tau[:, 1] / tau[:, 0], jet_mass(jets, **PTETAPHI)])
    )
    assert_array_equal(sf.get_feature_names_out(), ["tau32", "mass"])
    sd = SubstructureFeatures(
        features=("softdrop_mass",), z_cut=0.2, softdrop_beta=1.0, r0=0.5, **PTETAPHI
    )
    assert_allclose(
        sd.fit_transform(jets)[:, 0],
        softdrop_mass(jets, z_cut=0.2, beta=1.0, r0=0.5, **PTETAPHI),
    )


def test_ratios_define_zero_over_zero_as_zero():
    single = np.array([[[100.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    out = SubstructureFeatures(features=["tau1", "tau2", "tau21", "tau32"], **PTETAPHI)
    assert_array_equal(out.fit_transform(single), [[0.0, 0.0, 0.0, 0.0]])


def test_mass_only_needs_no_fastjet(monkeypatch, jets):
    monkeypatch.setitem(sys.modules, "fastjet", None)
    out = SubstructureFeatures(features=["mass"], **PTETAPHI).fit_transform(jets)
    assert_allclose(out[:, 0], jet_mass(jets, **PTETAPHI))
    with pytest.raises(ImportError, match=r"hepclf\[generate\]"):
        SubstructureFeatures(**PTETAPHI).fit_transform(jets)


def test_classifies_one_prong_against_three_prong_jets():
    one, three = prong_jets(150, 1, seed=1), prong_jets(150, 3, seed=2)
    X = np.concatenate([one, three])
    y = np.repeat([0, 1], 150)
    order = np.random.default_rng(0).permutation(len(y))
    pipe = make_pipeline(
        SubstructureFeatures(input_format="ptetaphi"),
        HistGradientBoostingClassifier(max_iter=30, random_state=0),
    )
    scores = cross_val_score(pipe, X[order], y[order], scoring="roc_auc", cv=3)
    assert scores.min() > 0.9


def test_transform_needs_no_fit_and_fit_returns_self(jets):
    sf = SubstructureFeatures(**PTETAPHI)
    out = sf.transform(jets)
    assert sf.fit(jets) is sf
    assert_array_equal(sf.transform(jets), out)
    tags = sf.__sklearn_tags__()
    assert not tags.requires_fit
    assert tags.input_tags.three_d_array
    assert not tags.input_tags.two_d_array


def test_clone_get_params_and_pickle(jets):
    features = ["mass", "tau21"]
    sf = SubstructureFeatures(features=features, z_cut=0.2, empty="nan")
    params = sf.get_params()
    assert params["features"] is features
    assert params["z_cut"] == 0.2
    assert params["empty"] == "nan"
    assert set(params) == {
        "features",
        "beta",
        "r0",
        "z_cut",
        "softdrop_beta",
        "input_format",
        "empty",
        "chunk_size",
    }
    twin = clone(sf).set_params(input_format="ptetaphi")
    assert twin.features == features
    assert sf.input_format == "epxpypz"
    again = pickle.loads(pickle.dumps(twin))
    assert_array_equal(again.transform(jets), twin.transform(jets))


def test_pandas_output(jets):
    pd = pytest.importorskip("pandas")
    sf = SubstructureFeatures(features=["mass", "tau2"], **PTETAPHI)
    frame = sf.set_output(transform="pandas").fit_transform(jets)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["mass", "tau2"]


def test_empty_jets_raise_or_give_nan(jets):
    X = jets.copy()
    X[13] = 0.0
    with pytest.raises(
        ValueError, match=r"SubstructureFeatures: jet 13 has no constituents"
    ):
        SubstructureFeatures(**PTETAPHI).fit(X)
    with pytest.raises(ValueError, match="jet 13"):
        SubstructureFeatures(features=["mass"], chunk_size=4, **PTETAPHI).transform(X)
    out = SubstructureFeatures(empty="nan", chunk_size=4, **PTETAPHI).fit_transform(X)
    assert np.isnan(out[13]).all()
    assert not np.isnan(np.delete(out, 13, axis=0)).any()


@pytest.mark.parametrize(
    ("X", "match"),
    [
        (
            np.array([[[100.0, np.nan, 0.0]]]),
            "SubstructureFeatures: the input contains NaN",
        ),
        (np.zeros((3, 4)), "3-D"),
        (np.ones((1, 2, 5)), "expected 3 or 4 features"),
    ],
)
def test_bad_input_raises_clear_error(X, match):
    with pytest.raises(ValueError, match=match):
        SubstructureFeatures(**PTETAPHI).fit(X)
    with pytest.raises(ValueError, match=match):
        SubstructureFeatures(**PTETAPHI).transform(X)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"features": ["mass", "nope"]}, InvalidParameterError, "'features' parameter"),
        ({"features": []}, InvalidParameterError, "'features' parameter"),
        ({"features": ["mass", "mass"]}, ValueError, "distinct"),
        ({"features": "mass"}, InvalidParameterError, "'features' parameter"),
        ({"beta": 0}, InvalidParameterError, "'beta' parameter"),
        ({"r0": -1.0}, InvalidParameterError, "'r0' parameter"),
        ({"z_cut": 1.5}, InvalidParameterError, "'z_cut' parameter"),
        ({"softdrop_beta": -0.5}, InvalidParameterError, "'softdrop_beta' parameter"),
        (
            {"input_format": "ptetaphim"},
            InvalidParameterError,
            "'input_format' parameter",
        ),
        ({"empty": "drop"}, InvalidParameterError, "'empty' parameter"),
        ({"chunk_size": 0}, InvalidParameterError, "'chunk_size' parameter"),
    ],
)
def test_bad_parameters_raise(params, error, match, jets):
    with pytest.raises(error, match=match):
        SubstructureFeatures(**params).fit(jets)
    with pytest.raises(error, match=match):
        SubstructureFeatures(**params).transform(jets)
