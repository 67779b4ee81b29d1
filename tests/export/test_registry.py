"""The export registry: each transformer declares its graph, or why it has none."""

from __future__ import annotations

import pytest
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, ConstituentSequencer, JetImager, SubstructureFeatures
from hepclf.export import OnnxExportError, export_onnx, register_graph
from hepclf.export._registry import _GRAPHS, graph_for
from hepclf.imaging import JetImageModule


class _Pixels(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


@pytest.fixture
def registry():
    saved = dict(_GRAPHS)
    yield
    _GRAPHS.clear()
    _GRAPHS.update(saved)


def test_jet_imager_declares_its_graph():
    assert graph_for(JetImager()) == (JetImageModule, None)


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (ConstituentSequencer(), "particle-level networks"),
        (SubstructureFeatures(), "FastJet"),
        (_Pixels(), "no export graph is registered for _Pixels"),
    ],
)
def test_steps_without_a_graph_say_why(step, reason):
    graph, why = graph_for(step)
    assert graph is None
    assert reason in why


def test_a_registered_reason_reaches_the_user(registry):
    register_graph(_Pixels, reason="its pixels come from a lookup table")
    pipe = make_pipeline(_Pixels(), CNNClassifier())
    with pytest.raises(
        OnnxExportError,
        match=r"step '_pixels' \(_Pixels\) cannot be exported: its pixels come",
    ):
        export_onnx(pipe)


def test_a_graph_registered_by_name_is_imported_when_needed(registry):
    register_graph(_Pixels, "hepclf.imaging._jet_graph:JetImageModule")
    assert graph_for(_Pixels()) == (JetImageModule, None)


def test_register_graph_needs_a_graph_or_a_reason():
    with pytest.raises(TypeError, match="either a graph or a reason"):
        register_graph(_Pixels)
    with pytest.raises(TypeError, match="either a graph or a reason"):
        register_graph(_Pixels, JetImageModule, reason="both")
