from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from hepclf.metrics import roc_curve
from hepclf.plotting import (
    plot_confusion_matrix,
    plot_mean_images,
    plot_roc,
    plot_training_history,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def scores(seed=0, n=400):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(n // 2), np.ones(n // 2)].astype(int)
    return y, y + rng.normal(0, 0.7, n)


def test_plot_roc_draws_the_curves():
    y, s = scores()
    _, s2 = scores(1)
    ax = plot_roc(y, {"a": s, "b": s2}, kind="roc")
    eps_s, eps_b, _ = roc_curve(y, s)
    line = ax.get_lines()[0]
    assert_allclose(line.get_xdata(), eps_b)
    assert_allclose(line.get_ydata(), eps_s)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[0].startswith("a (AUC = 0.")
    assert labels[1].startswith("b (AUC")


def test_plot_rejection_log_scale():
    y, s = scores()
    ax = plot_roc(y, s)
    assert ax.get_yscale() == "log"
    _eps_s, eps_b, _ = roc_curve(y, s)
    keep = eps_b > 0
    assert_allclose(ax.get_lines()[0].get_ydata(), 1 / eps_b[keep])
    with pytest.raises(ValueError, match="kind"):
        plot_roc(y, s, kind="pie")


def test_plot_mean_images_shows_class_means():
    rng = np.random.default_rng(0)
    images = rng.random((30, 1, 6, 6))
    y = np.arange(30) % 3
    axes = plot_mean_images(images, y, log=False)
    assert len(axes) == 3
    for k, ax in enumerate(axes):
        assert_allclose(ax.get_images()[0].get_array(), images[y == k, 0].mean(axis=0))
    with pytest.raises(ValueError, match="samples"):
        plot_mean_images(images, y[:5])


def test_plot_confusion_matrix_rows_sum_to_one():
    y_true = np.array(["e", "e", "e", "mu", "mu", "gamma"])
    y_pred = np.array(["e", "gamma", "e", "mu", "mu", "e"])
    display = plot_confusion_matrix(y_true, y_pred)
    assert_allclose(display.confusion_matrix.sum(axis=1), 1.0)
    assert_allclose(
        display.confusion_matrix[0], [2 / 3, 1 / 3, 0]
    )  # labels sorted: e, gamma, mu


def test_plot_training_history_from_a_pipeline(top_sample):
    from sklearn.pipeline import make_pipeline

    from hepclf import CNNClassifier, JetImager

    X, y = top_sample
    pipe = make_pipeline(
        JetImager(npix=16), CNNClassifier(max_epochs=2, random_state=0)
    )
    pipe.fit(X[:200], y[:200])
    ax = plot_training_history(pipe)
    line = ax.get_lines()[0]
    assert_allclose(line.get_ydata(), pipe[-1].history_[:, "train_loss"])
    assert line.get_label() == "train_loss"


def test_mplhep_style_is_local():
    pytest.importorskip("mplhep")
    y, s = scores()
    before = dict(plt.rcParams)
    ax = plot_roc(y, s, style="mplhep")
    assert ax.get_lines()
    assert ax.figure.get_figwidth() == 6  # drawn inside the style, our figure size
    assert dict(plt.rcParams) == before  # the global style is untouched
    with pytest.raises(ValueError, match="style"):
        plot_roc(y, s, style="atlas")
