"""numpydoc validation of the public API's docstrings."""

from __future__ import annotations

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import hepclf
import hepclf.datasets
import hepclf.metrics
import hepclf.plotting
import hepclf.substructure

CHECKS = {
    "PR01",  # parameters not documented
    "PR02",  # unknown parameters documented
    "PR03",  # wrong order
    "PR07",  # parameter without description
    "PR10",  # colon spacing
    "RT03",  # return value without description
    "GL08",  # no docstring
    "SS01",  # no summary
    "YD01",  # no yields section
}


def public_names():
    names = []
    for cls in (
        "JetImager",
        "CNNClassifier",
        "SubstructureFeatures",
        "ConstituentSequencer",
    ):
        names.append(f"hepclf.{cls}")
        for method in ("fit", "transform", "predict", "predict_proba", "partial_fit"):
            if method in vars(getattr(hepclf, cls)):
                names.append(f"hepclf.{cls}.{method}")
    names += ["hepclf.save_model", "hepclf.load_model"]
    for module in (
        hepclf.metrics,
        hepclf.plotting,
        hepclf.datasets,
        hepclf.substructure,
    ):
        for name in module.__all__:
            if callable(getattr(module, name)) and not name.endswith("_scorer"):
                names.append(f"{module.__name__}.{name}")
    names += [
        f"hepclf.models.{n}"
        for n in ("JetCNN", "ResNet", "register_module", "get_module")
    ]
    names += [
        f"hepclf.export.{n}" for n in ("export_onnx", "read_metadata", "JetImageModule")
    ]
    names += [
        f"hepclf.parallel.{n}"
        for n in (
            "transform_dask",
            "TorchThreads",
            "limit_torch_threads",
            "AcceleratedCNNClassifier",
        )
    ]
    return names


@pytest.mark.parametrize("name", public_names())
def test_docstring(name):
    errors = [
        f"{code}: {msg}"
        for code, msg in numpydoc_validate.validate(name)["errors"]
        if code in CHECKS
    ]
    assert not errors, "\n".join(errors)
