from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from hepclf.inspection import most_confused, plot_misclassified_gallery, plot_saliency

from .test_errors import PROBA, GivenProba, Y

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def pictures(n=9):
    """Image i is filled with the value i, so a panel tells which sample it shows."""
    return np.arange(n, dtype=float)[:, None, None, None] * np.ones((n, 2, 3, 4))


def test_gallery_shows_the_selected_samples():
    clf = GivenProba().fit()
    images = pictures()
    axes = plot_misclassified_gallery(clf, PROBA, Y, n=3, images=images, channel=1)
    assert axes.shape == (3, 3)
    confused = most_confused(clf, PROBA, Y, n=3)
    for row, ((true, predicted), indices) in zip(axes, confused.items(), strict=True):
        shown = [ax for ax in row if ax.get_images()]
        assert len(shown) == len(indices)
        for ax, i in zip(shown, indices, strict=True):
            assert_array_equal(ax.get_images()[0].get_array(), images[i, 1])
            title = ax.get_title()
            assert f"#{i}:" in title
            assert f"true {true}" in title
            assert f"predicted {predicted}" in title
            assert f"p = {PROBA[i].max():.2f}" in title
        for ax in row[len(indices) :]:
            assert not ax.axison
    assert axes[0, 0].get_title() == "#3: true e\npredicted gamma (p = 0.95)"


def test_gallery_titles_take_display_labels():
    # integer labels, as the challenge files give them, and their names
    clf = GivenProba(classes=(11, 22, 13)).fit()
    y = np.array([11, 11, 11, 11, 22, 22, 22, 13, 22])
    axes = plot_misclassified_gallery(
        clf, PROBA, y, n=3, images=pictures(), display_labels=["e", "gamma", "mu"]
    )
    assert axes[0, 0].get_title() == "#3: true e\npredicted gamma (p = 0.95)"
    assert axes[2, 0].get_title() == "#6: true gamma\npredicted mu (p = 0.55)"
    # the selection still takes the labels
    axes = plot_misclassified_gallery(
        clf, PROBA, y, true=22, images=pictures(), display_labels=["e", "gamma", "mu"]
    )
    assert axes[0, 0].get_title() == "#8: true gamma\npredicted e (p = 0.99)"
    with pytest.raises(ValueError, match="one name per class"):
        plot_misclassified_gallery(
            clf, PROBA, y, images=pictures(), display_labels=["e", "gamma"]
        )


def test_gallery_draws_the_network_input_of_a_pipeline(patch_classifier, patch_data):
    X, y = patch_data
    X = X[:40].copy()
    y = y[:40].copy()
    y[[0, 3]] = ["photon", "electron"]  # two deliberate label errors
    flat = X.reshape(len(X), -1)
    pipe = make_pipeline(
        FunctionTransformer(lambda a: a.reshape(len(a), 1, 12, 12)), patch_classifier
    )
    pipe[0].fit(flat)
    axes = plot_misclassified_gallery(pipe, flat, y, n=2)
    drawn = {
        ax.get_title().split(":")[0]: ax.get_images()[0].get_array()
        for ax in axes.ravel()
        if ax.get_images()
    }
    assert set(drawn) == {"#0", "#3"}
    assert_allclose(drawn["#0"], X[0, 0])
    assert_allclose(drawn["#3"], X[3, 0])


def test_gallery_without_errors_says_so():
    clf = GivenProba().fit()
    right = clf.classes_[PROBA.argmax(axis=1)]
    axes = plot_misclassified_gallery(clf, PROBA, right, images=pictures())
    assert axes.shape == (1, 1)
    assert axes[0, 0].texts[0].get_text() == "no misclassified samples"


def test_gallery_bad_input():
    clf = GivenProba().fit()
    with pytest.raises(ValueError, match="pass images= for input that is not images"):
        plot_misclassified_gallery(clf, PROBA, Y)  # the input is a table
    with pytest.raises(ValueError, match="channel 2 out of range"):
        plot_misclassified_gallery(clf, PROBA, Y, images=pictures(), channel=2)
    with pytest.raises(ValueError, match="one image per sample"):
        plot_misclassified_gallery(clf, PROBA, Y, images=pictures(4))


def test_saliency_overlay():
    rng = np.random.default_rng(0)
    image = rng.random((2, 5, 5))
    attribution = rng.normal(size=(2, 5, 5))
    attribution[1, 0, 0] = 0.0
    ax = plot_saliency(image, attribution, channel=1, title="photon 7")
    base, layer = ax.get_images()
    assert_array_equal(base.get_array(), image[1])
    shown = layer.get_array()
    assert_allclose(shown.data[~shown.mask], np.abs(attribution[1])[~shown.mask])
    assert shown.mask[0, 0]  # zero attribution is transparent
    assert shown.mask.sum() == 1
    assert ax.get_title() == "photon 7"

    ax = plot_saliency(image[0], attribution[0], signed=True)
    layer = ax.get_images()[1]
    assert_allclose(layer.get_array(), attribution[0])
    low, high = layer.get_clim()
    assert low == -high == -np.abs(attribution[0]).max()


def test_saliency_overlay_bad_input():
    with pytest.raises(ValueError, match="plot_saliency: image and attribution"):
        plot_saliency(np.zeros((3, 3)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="channel 1 out of range"):
        plot_saliency(np.zeros((1, 3, 3)), np.zeros((1, 3, 3)), channel=1)
