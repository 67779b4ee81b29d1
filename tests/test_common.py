"""The scikit-learn estimator contract, for every public hepclf estimator.

sklearn's ``parametrize_with_checks`` builds 2-D ``(n_samples, n_features)``
data; hepclf's imagers, ``SubstructureFeatures`` and ``ConstituentSequencer`` take
3-D padded objects and
``CNNClassifier`` takes 4-D images, so (as their tags declare) sklearn skips its
data-driven checks for them. This module runs

* every sklearn check that needs no data, through sklearn itself;
* the data-driven checks rewritten for 3-D/4-D input, on real jets and images.

The list in ``docs/user_guide/estimator_checks.rst`` says which sklearn check
maps to which test here, and why the rest cannot apply.
"""

from __future__ import annotations

import pickle
import warnings

import joblib
import numpy as np
import pytest
import sklearn.utils.estimator_checks as sk_checks
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from hepclf import (
    CNNClassifier,
    ConstituentSequencer,
    EventImager,
    JetImager,
    SubstructureFeatures,
)
from hepclf.utils.discovery import all_estimators

from .imaging.test_event import random_events
from .imaging.test_hits import random_hits

TINY = {
    "max_epochs": 2,
    "batch_size": 32,
    "random_state": 0,
    "module__conv_blocks": ((4,),),
    "module__pool_size": 2,
    "module__dense": (8,),
    "module__dropout": 0.0,
}

#: Small, fast settings and the data kind of every estimator that discovery
#: finds (``test_every_estimator_is_checked`` fails for one without a line here).
INIT_PARAMS = {
    "JetImager": ({"npix": 16}, "jets"),
    "EventImager": ({"npix": 16}, "events"),
    "EnergyEncoder": ({"npix": 16, "encoding": ("binary", "total", "per_hit")}, "hits"),
    "EventFeatures": ({"missing": -1.0}, "central_events"),
    "SubstructureFeatures": ({}, "jets"),
    "ConstituentSequencer": ({"max_particles": 32}, "jets"),
    "CNNClassifier": (TINY, "images"),
    # regression on the 0/1 labels of the same images
    "CNNRegressor": (TINY, "images"),
}

#: Discovered estimators that these checks do not build, each with its reason.
NOT_CHECKED_HERE = {
    "AcceleratedCNNClassifier": (
        "needs a live accelerate.Accelerator as a parameter; it is CNNClassifier's "
        "subclass, and tests/parallel/test_accelerate.py runs its clone, get_params, "
        "fit and predict checks with one"
    ),
}

ESTIMATORS = {
    name: (lambda cls=cls, params=INIT_PARAMS[name][0]: cls(**params))
    for name, cls in all_estimators()
    if name in INIT_PARAMS
}


def test_every_estimator_is_checked():
    discovered = {name for name, _ in all_estimators()}
    assert discovered == set(INIT_PARAMS) | set(NOT_CHECKED_HERE)


DATA_FREE_CHECKS = [
    "check_estimator_cloneable",
    "check_estimator_repr",
    "check_no_attributes_set_in_init",
    "check_parameters_default_constructible",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_tags_renamed",
    "check_valid_tag_types",
    "check_mixin_order",
    "check_do_not_raise_errors_in_init_or_set_params",
]

EXPECTED_FAILURES = {
    ("CNNClassifier", "check_no_attributes_set_in_init"): (
        AssertionError,
        "skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_",
    ),
    ("CNNClassifier", "check_set_params"): (
        UserWarning,
        (
            "skorch's set_params(callbacks=...) initialises the callbacks at once, so an "
            "invalid value fails in set_params rather than in fit"
        ),
    ),
}
# CNNRegressor is a skorch network too
EXPECTED_FAILURES |= {
    ("CNNRegressor", check): reason
    for (name, check), reason in EXPECTED_FAILURES.items()
    if name == "CNNClassifier"
}


@pytest.mark.parametrize("check", DATA_FREE_CHECKS)
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_sklearn_data_free_checks(name, check):
    estimator = ESTIMATORS[name]()
    expected = EXPECTED_FAILURES.get((name, check))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sk_checks.SkipTestWarning)
        if expected:
            error, reason = expected
            with pytest.raises(error):
                getattr(sk_checks, check)(name, estimator)
            pytest.xfail(reason)
        getattr(sk_checks, check)(name, estimator)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_tags_declare_non_2d_input(name):
    tags = ESTIMATORS[name]().__sklearn_tags__()
    assert not tags.input_tags.two_d_array
    assert tags.input_tags.three_d_array


# -- data-driven checks, rewritten for 3-D jets and 4-D images ----------------------


@pytest.fixture(scope="module")
def data(top_sample):
    X, y = top_sample
    X, y = X[:120], y[:120]
    images = JetImager(npix=16).fit_transform(X)
    events = random_events(len(X), k=10, seed=0)
    # the same events at |eta| < 0.02: test_input_dtypes' x1000 keeps their
    # invariant masses finite
    central = events.copy()
    central[..., 2] *= 0.003
    return {
        "jets": (X, y),
        "images": (images, y),
        "events": (events, y),
        "central_events": (central, y),
        # (x, y, charge) with x, y in m: test_input_dtypes' x1000 gives mm
        "hits": (random_hits(len(X), k=20, n_features=3) * [1e-3, 1e-3, 1.0], y),
    }


def inputs(name, data):
    return data[INIT_PARAMS[name][1]]


def output(estimator, X):
    if hasattr(estimator, "predict_proba"):
        return estimator.predict_proba(X)
    if hasattr(estimator, "predict"):  # a regressor
        return estimator.predict(X)
    return estimator.transform(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_fit_returns_self_and_keeps_params(name, data):
    # check_estimators_fit_returns_self, check_dont_overwrite_parameters,
    # check_estimators_overwrite_params
    X, y = inputs(name, data)
    estimator = ESTIMATORS[name]()
    before = joblib.hash(estimator.get_params())
    assert estimator.fit(X, y) is estimator
    assert joblib.hash(estimator.get_params()) == before


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_fit_idempotent_and_clone_of_fitted(name, data):
    # check_fit_idempotent
    X, y = inputs(name, data)
    estimator = ESTIMATORS[name]()
    first = output(estimator.fit(X, y), X)
    assert_allclose(output(estimator.fit(X, y), X), first, atol=1e-6)
    assert_allclose(output(clone(estimator).fit(X, y), X), first, atol=1e-6)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_pickle_round_trip(name, data):
    # check_estimators_pickle (also with readonly input: check_readonly_memmap_input)
    X, y = inputs(name, data)
    estimator = ESTIMATORS[name]().fit(X, y)
    loaded = pickle.loads(pickle.dumps(estimator))
    readonly = X.copy()
    readonly.setflags(write=False)
    assert_array_equal(output(loaded, readonly), output(estimator, X))


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_sample_order_and_subset_invariance(name, data):
    # check_methods_sample_order_invariance, check_methods_subset_invariance
    X, y = inputs(name, data)
    estimator = ESTIMATORS[name]().fit(X, y)
    full = output(estimator, X)
    order = np.random.default_rng(0).permutation(len(X))
    assert_allclose(output(estimator, X[order]), full[order], atol=1e-6)
    assert_allclose(output(estimator, X[10:20]), full[10:20], atol=1e-6)
    assert len(full) == len(X)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64])
def test_input_dtypes(name, data, dtype):
    # check_estimators_dtypes, check_transformer_preserve_dtypes: float32 and
    # integer input give what the same numbers in float64 give (outputs are
    # float32 images for the CNN, float64 features for SubstructureFeatures).
    # The data are whole numbers that every dtype holds exactly: momenta in MeV,
    # pixel intensities times 1000 (event objects: pT, eta and phi times 1000,
    # the type codes as they are).
    X, y = inputs(name, data)
    exact = np.round(X.astype(np.float64) * 1000.0)
    if INIT_PARAMS[name][1] in ("events", "central_events"):
        exact[..., 0] = X[..., 0]  # the object type codes stay
    assert np.abs(exact).max() < 2**24  # exact in float32
    assert np.count_nonzero(exact) > 0.9 * np.count_nonzero(X)
    expected = output(ESTIMATORS[name]().fit(exact, y), exact)
    assert np.isfinite(expected).all()
    X_dtype = exact.astype(dtype)
    estimator = ESTIMATORS[name]().fit(X_dtype, y)
    out = output(estimator, X_dtype)
    assert out.dtype == expected.dtype
    assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_nan_inf_and_empty_input(name, data):
    # check_estimators_nan_inf, check_estimators_empty_data_messages
    X, y = inputs(name, data)
    bad = X.copy()
    bad[3, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        ESTIMATORS[name]().fit(bad, y)
    bad[3, 0, 0] = np.inf
    with pytest.raises(ValueError, match="inf"):
        ESTIMATORS[name]().fit(bad, y)
    with pytest.raises(ValueError, match="empty"):
        ESTIMATORS[name]().fit(X[:0], y[:0])


@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_wrong_rank_raises(name, data):
    # check_fit1d, check_fit2d_predict1d
    X, y = inputs(name, data)
    with pytest.raises(ValueError, match="shape"):
        ESTIMATORS[name]().fit(X.reshape(len(X), -1), y)


def test_classifier_unfitted_and_one_label(data):
    # check_estimators_unfitted, check_classifiers_one_label
    X, _y = data["images"]
    with pytest.raises(NotFittedError):
        CNNClassifier(**TINY).predict(X)
    with pytest.raises(ValueError, match="single class"):
        CNNClassifier(**TINY).fit(X, np.zeros(len(X)))


def test_classifier_classes_and_labels(data):
    # check_classifiers_classes, check_classifiers_train (label types)
    X, y = data["images"]
    for labels in (y, y.astype(float), np.array(["qcd", "top"])[y], y + 10):
        clf = CNNClassifier(**TINY).fit(X, labels)
        assert_array_equal(clf.classes_, np.unique(labels))
        assert set(clf.predict(X)) <= set(np.unique(labels))


def test_classifier_mismatched_lengths(data):
    # check_fit_check_is_fitted, check_supervised_y_2d (y of the wrong shape)
    X, y = data["images"]
    with pytest.raises(ValueError, match="samples but y has"):
        CNNClassifier(**TINY).fit(X, y[:-1])
    with pytest.raises(ValueError, match="1-D"):
        CNNClassifier(**TINY).fit(X, np.stack([y, y], axis=1))


def test_transformers_work_unfitted(data):
    # check_transformers_unfitted_stateless: the transformers are stateless
    X, _ = data["jets"]
    assert_array_equal(
        JetImager(npix=16).transform(X), JetImager(npix=16).fit(X).transform(X)
    )
    assert_allclose(
        SubstructureFeatures().transform(X), SubstructureFeatures().fit(X).transform(X)
    )
    assert_array_equal(
        ConstituentSequencer().transform(X), ConstituentSequencer().fit(X).transform(X)
    )
    events, _ = data["events"]
    assert_array_equal(
        EventImager(npix=16).transform(events),
        EventImager(npix=16).fit(events).transform(events),
    )
