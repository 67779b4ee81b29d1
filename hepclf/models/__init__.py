"""Networks and the skorch-based classifier.

- :class:`CNNClassifier`: a skorch ``NeuralNetClassifier`` that takes a module
  by registered name or class and infers its input shape and classes at fit;
- the registered modules :class:`JetCNN` (``"jetcnn"``), :class:`ResNet`
  (``"resnet"``), :class:`ParticleTransformer` (``"particle_transformer"``)
  :class:`TransferNet` (``"transfer"``, ImageNet backbones) and
  :class:`ObjectTransformer` (``"object_transformer"``, over event objects);
  :func:`register_module` adds more;
- :class:`ArrayLoader`, the batch iterator over in-memory arrays;
- :class:`InputKind` and :func:`register_input_kind`: what a module takes
  (images unless it declares another kind), with the checks that fit it.
"""

from __future__ import annotations

from ._classifier import CNNClassifier
from ._inputs import InputKind, get_input_kind, register_input_kind
from ._loader import ArrayLoader
from ._modules import JetCNN, ResNet, get_module, register_module, registered_modules
from ._objects import ObjectTransformer
from ._particle import ParticleTransformer
from ._transfer import BACKBONES, TransferNet

__all__ = [
    "BACKBONES",
    "ArrayLoader",
    "CNNClassifier",
    "InputKind",
    "JetCNN",
    "ObjectTransformer",
    "ParticleTransformer",
    "ResNet",
    "TransferNet",
    "get_input_kind",
    "get_module",
    "register_input_kind",
    "register_module",
    "registered_modules",
]
