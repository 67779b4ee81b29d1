"""Networks and the skorch-based classifier.

- :class:`CNNClassifier`: a skorch ``NeuralNetClassifier`` that takes a module
  by registered name or class and infers its input shape and classes at fit;
- the registered modules :class:`JetCNN` (``"jetcnn"``), :class:`ResNet`
  (``"resnet"``), :class:`ParticleTransformer` (``"particle_transformer"``)
  :class:`TransferNet` (``"transfer"``, ImageNet backbones),
  :class:`ObjectTransformer` (``"object_transformer"``, over event objects) and
  the classic :class:`LeNet5` (``"lenet5"``), :class:`AlexNet` (``"alexnet"``),
  :class:`VGG` (``"vgg"``) and :class:`InceptionNet` (``"inception"``);
  :func:`register_module` adds more;
- :func:`summary`: a network's layers, output shapes and parameter counts;
- :class:`CNNRegressor`: its regression counterpart (``NeuralNetRegressor``),
  one or several real targets per image;
- :func:`augment_images`: the training-time augmentation (flips, quarter
  turns, small rotations, zoom, noise) behind their ``augment_*`` parameters;
- :class:`ArrayLoader`, the batch iterator over in-memory arrays;
- :class:`InputKind` and :func:`register_input_kind`: what a module takes
  (images unless it declares another kind), with the checks that fit it.
"""

from __future__ import annotations

from ._augment import augment_images
from ._classic import VGG, AlexNet, InceptionNet, LeNet5
from ._classifier import CNNClassifier
from ._inputs import InputKind, get_input_kind, register_input_kind
from ._loader import ArrayLoader
from ._modules import JetCNN, ResNet, get_module, register_module, registered_modules
from ._objects import ObjectTransformer
from ._particle import ParticleTransformer
from ._regressor import CNNRegressor
from ._summary import ModelSummary, summary
from ._transfer import BACKBONES, TransferNet

__all__ = [
    "BACKBONES",
    "VGG",
    "AlexNet",
    "ArrayLoader",
    "CNNClassifier",
    "CNNRegressor",
    "InceptionNet",
    "InputKind",
    "JetCNN",
    "LeNet5",
    "ModelSummary",
    "ObjectTransformer",
    "ParticleTransformer",
    "ResNet",
    "TransferNet",
    "augment_images",
    "get_input_kind",
    "get_module",
    "register_input_kind",
    "register_module",
    "registered_modules",
    "summary",
]
