"""CNN modules and the skorch-based classifier."""

from __future__ import annotations

from ._classifier import CNNClassifier
from ._modules import JetCNN, ResNet, get_module, register_module

__all__ = ["CNNClassifier", "JetCNN", "ResNet", "get_module", "register_module"]
