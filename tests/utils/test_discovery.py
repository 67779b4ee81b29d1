from __future__ import annotations

import inspect

from sklearn.base import BaseEstimator

import hepclf
from hepclf.persistence import _saveable_estimators
from hepclf.utils.discovery import all_estimators, all_functions, all_objects


def test_all_estimators_finds_every_public_estimator():
    names = [name for name, _ in all_estimators()]
    assert names == sorted(names)
    assert {
        "AcceleratedCNNClassifier",
        "CNNClassifier",
        "ConstituentSequencer",
        "JetImager",
        "SubstructureFeatures",
    } <= set(names)
    for _, cls in all_estimators():
        assert issubclass(cls, BaseEstimator)
    # class names are unique: persistence writes "hepclf.<name>"
    assert len(set(names)) == len(names)


def test_objects_are_listed_once_under_their_subpackage():
    names = [name for name, _ in all_objects()]
    assert "hepclf.imaging.JetImager" in names
    assert "hepclf.JetImager" not in names  # the top-level re-export
    assert len({id(obj) for _, obj in all_objects()}) == len(names)
    # private modules and the command line are not API
    assert not any("._" in name or name.startswith("hepclf.cli") for name in names)


def test_functions_and_classes_from_top_level_all_are_found():
    found = {id(obj) for _, obj in all_objects()}
    for name in hepclf.__all__:
        obj = getattr(hepclf, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert id(obj) in found, name
    assert ("hepclf.metrics.roc_auc", hepclf.metrics.roc_auc) in all_functions()


def test_persistence_allow_list_follows_discovery():
    allowed = _saveable_estimators()
    assert allowed["sklearn.pipeline.Pipeline"].__name__ == "Pipeline"
    for name, cls in all_estimators():
        opted_out = getattr(cls, "_save_model_unsupported", None)
        assert (f"hepclf.{name}" in allowed) == (not opted_out), name
    assert "hepclf.AcceleratedCNNClassifier" not in allowed
