"""Import optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

#: Which extra of ``hepclf`` provides each optional top-level module.
EXTRAS = {
    "pythia8mc": "generate",
    "fastjet": "generate",
    "awkward": "root",
    "uproot": "root",
    "matplotlib": "plot",
    "mplhep": "plot",
    "numba": "fast",
    "dask": "dask",
    "distributed": "dask",
    "dask_awkward": "dask",
    "accelerate": "accelerate",
    "onnx": "onnx",
    "onnxruntime": "onnx",
    "onnxscript": "onnx",
}


def import_optional(name: str, extra: str | None = None) -> ModuleType:
    """Import ``name`` or raise an ImportError naming the hepclf extra.

    Parameters
    ----------
    name : str
        Module to import, e.g. ``"fastjet"`` or ``"matplotlib.pyplot"``.
    extra : str, optional
        The extra that installs it. Looked up in :data:`EXTRAS` by default.

    Returns
    -------
    module : module
        The imported module.
    """
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        top = name.split(".")[0]
        extra = extra or EXTRAS.get(top)
        hint = f'pip install "hepclf[{extra}]"' if extra else f"pip install {top}"
        raise ImportError(
            f"{name!r} is needed for this feature but could not be imported "
            f"({exc}); install it with: {hint}"
        ) from exc
