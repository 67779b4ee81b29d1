"""Import optional dependencies with an error that names the extra to install.

:func:`import_optional` imports any of them; :func:`import_fastjet` also
silences the banner FastJet prints at its first clustering.
"""

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
    "torchvision": "transfer",
    "timm": "transfer",
    "captum": "explain",
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


#: Whether FastJet's banner has been silenced in this process.
_fastjet_banner_silenced = False


def import_fastjet() -> ModuleType:
    """Import FastJet (the ``generate`` extra) with its banner silenced.

    FastJet prints a banner to stdout at the first clustering of a process;
    the first call here turns it off (the scikit-hep ``fastjet`` package's
    ``ClusterSequence.set_fastjet_banner_stream(None)``), later calls only
    import.

    Returns
    -------
    fastjet : module
        The imported ``fastjet`` module.
    """
    global _fastjet_banner_silenced
    fastjet = import_optional("fastjet")
    if not _fastjet_banner_silenced:
        swig = getattr(fastjet, "_swig", None)
        sequence = getattr(swig, "ClusterSequence", None)
        if hasattr(sequence, "set_fastjet_banner_stream"):
            sequence.set_fastjet_banner_stream(None)
        _fastjet_banner_silenced = True
    return fastjet
