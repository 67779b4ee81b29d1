"""hepclf: classify particle-physics data with convolutional neural networks.

Transformers turn jets and collision events into images (detector hits and
liquid-argon images are coming); skorch-wrapped
PyTorch CNNs classify them; the chain is one scikit-learn ``Pipeline``.
"""

from __future__ import annotations

from ._version import __version__
from .export import export_onnx
from .imaging import EnergyEncoder, EventImager, JetImager
from .models import CNNClassifier, CNNRegressor
from .persistence import load_model, save_model
from .sequences import ConstituentSequencer
from .substructure import EventFeatures, SubstructureFeatures

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
