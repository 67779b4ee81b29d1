"""hepclf: classify particle-physics data with convolutional neural networks.

Transformers turn jets, events or detector hits into images; skorch-wrapped
PyTorch CNNs classify them; the chain is one scikit-learn ``Pipeline``.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from .export import export_onnx
from .imaging import JetImager
from .models import CNNClassifier
from .particles import ConstituentSequencer
from .persistence import load_model, save_model
from .substructure import SubstructureFeatures

__all__ = [
    "CNNClassifier",
    "ConstituentSequencer",
    "JetImager",
    "SubstructureFeatures",
    "__version__",
    "export_onnx",
    "load_model",
    "save_model",
]
