"""Export fitted taggers to ONNX, to run them from C++ with ONNX Runtime.

``export_onnx`` writes a fitted ``CNNClassifier``, or a whole
``Pipeline(imager, CNNClassifier)`` whose imager has a registered export graph
(:func:`register_graph`; ``JetImager`` has one), as one ONNX graph from padded jet
constituents (or images) to class probabilities. Needs the ``onnx`` extra
(``pip install "hepclf[onnx]"``).
"""

from __future__ import annotations

from ._onnx import OnnxExportError, export_onnx, read_metadata
from ._registry import register_graph

__all__ = ["OnnxExportError", "export_onnx", "read_metadata", "register_graph"]
