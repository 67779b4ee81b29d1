"""hepclf: classify particle-physics data with convolutional neural networks.

Transformers turn jets, collision events and detector hits into images
(liquid-argon particle images arrive as images); skorch-wrapped PyTorch
networks classify them; the chain is one scikit-learn ``Pipeline``.

The names below and the sub-packages are imported on first use, so that
``import hepclf`` and the ``hepclf`` command's help do not wait for torch.
"""

from __future__ import annotations

import functools
import importlib

from ._version import __version__

#: Public name -> the sub-module that defines it.
_NAMES = {
    "CNNClassifier": "models",
    "CNNRegressor": "models",
    "ConstituentSequencer": "sequences",
    "EnergyEncoder": "imaging",
    "EventFeatures": "substructure",
    "EventImager": "imaging",
    "JetImager": "imaging",
    "SubstructureFeatures": "substructure",
    "export_onnx": "export",
    "load_model": "persistence",
    "save_model": "persistence",
}

__all__ = [
    "CNNClassifier",
    "CNNRegressor",
    "ConstituentSequencer",
    "EnergyEncoder",
    "EventFeatures",
    "EventImager",
    "JetImager",
    "SubstructureFeatures",
    "__version__",
    "export_onnx",
    "load_model",
    "save_model",
]


@functools.cache
def _submodules():
    """Read the sub-packages and modules off the package folder, when first asked.

    Not at import: ``pkgutil`` (with ``inspect`` and ``typing``) would cost
    ``import hepclf`` about 10 ms, most of its own start-up.
    """
    import pkgutil

    return frozenset(
        m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")
    )


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(f".{_NAMES[name]}", __name__), name)
    elif name in _submodules():
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_NAMES, *_submodules()})
