"""Export fitted taggers to ONNX, to run them from C++ with ONNX Runtime.

``export_onnx`` writes a fitted ``CNNClassifier``, or a whole
``Pipeline(JetImager, CNNClassifier)``, as one ONNX graph from padded jet
constituents (or images) to class probabilities. Needs the ``onnx`` extra
(``pip install "hepclf[onnx]"``).
"""

from __future__ import annotations

from ._jet_graph import JetImageModule
from ._onnx import OnnxExportError, export_onnx, read_metadata

__all__ = ["JetImageModule", "OnnxExportError", "export_onnx", "read_metadata"]
