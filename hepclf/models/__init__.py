"""CNN modules and the skorch-based classifier."""

from __future__ import annotations

from ._classifier import CNNClassifier
from ._modules import JetCNN, ResNet, get_module, register_module
from ._particle import ParticleTransformer

__all__ = [
    "CNNClassifier",
    "JetCNN",
    "ParticleTransformer",
    "ResNet",
    "get_module",
    "register_module",
]
