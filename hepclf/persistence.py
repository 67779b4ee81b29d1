"""Save and load taggers without pickle: JSON for parameters, safetensors for weights.

``joblib.dump``/``joblib.load`` work for every hepclf estimator, but unpickling
runs whatever code the file names, so a pickle must only be loaded from a
trusted source. :func:`save_model` writes a zip archive that holds only data:

* ``manifest.json``: the format version, the hepclf version and the estimator
  tree (class names from an allow-list, parameters, fitted attributes);
* ``<step>.safetensors``: the weights of each ``CNNClassifier`` module;
* ``<step>.history.json``: its training history.

:func:`load_model` rebuilds the estimator from allow-listed classes only, and
loads the weights with safetensors: a file from an untrusted source can at worst
fail to load. Weights are stored on the CPU, so a model trained on CUDA loads on
a CPU-only machine (and vice versa).
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from ._version import __version__
from .models import ArrayLoader, CNNClassifier, registered_modules

__all__ = ["load_model", "save_model"]

FORMAT = "hepclf-model"
FORMAT_VERSION = 1


def _saveable_estimators() -> dict[str, type]:
    """List hepclf's public estimators (from discovery) and Pipeline, by file name.

    An estimator opts out with a class attribute ``_save_model_unsupported``
    that says why (and what to save instead).
    """
    from .utils.discovery import all_estimators

    estimators = {
        f"hepclf.{name}": cls
        for name, cls in all_estimators()
        if not getattr(cls, "_save_model_unsupported", None)
    }
    return {**estimators, "sklearn.pipeline.Pipeline": Pipeline}


#: Classes that may appear as parameter values, by the name written to the file.
CLASSES = {
    **{
        f"torch.nn.{c.__name__}": c
        for c in (torch.nn.CrossEntropyLoss, torch.nn.NLLLoss)
    },
    **{
        f"torch.optim.{c.__name__}": c
        for c in (
            torch.optim.Adam,
            torch.optim.AdamW,
            torch.optim.SGD,
            torch.optim.RMSprop,
            torch.optim.Adagrad,
            torch.optim.NAdam,
            torch.optim.RAdam,
        )
    },
    "hepclf.models.ArrayLoader": ArrayLoader,
    "skorch.dataset.Dataset": __import__(
        "skorch.dataset", fromlist=["Dataset"]
    ).Dataset,
}

#: Parameters that only steer training and cannot be stored as data; they are
#: saved as None (the saved model predicts identically) and listed in the file.
TRAINING_ONLY = ("callbacks", "train_split")

#: skorch's own bookkeeping attributes, rebuilt by ``initialize()``.
SKORCH_INTERNALS = frozenset(
    {
        "prefixes_",
        "cuda_dependent_attributes_",
        "initialized_",
        "virtual_params_",
        "history_",
    }
)


def _class_name(cls, where):
    for name, known in CLASSES.items():
        if cls is known:
            return name
    for name, module in registered_modules().items():
        if cls is module:
            return f"hepclf.module:{name}"
    raise ValueError(
        f"save_model: {where} is {cls!r}, which cannot be stored safely; use a "
        "registered module (hepclf.models.register_module) or a torch.nn/torch.optim "
        f"class from {sorted(CLASSES)}; or save with joblib"
    )


def _encode(value, where):
    """JSON-representable form of a parameter value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, float) and not np.isfinite(value):
            return {"__float__": repr(value)}
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return _encode(value.item(), where)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, where) for v in value]}
    if isinstance(value, list):
        return [_encode(v, where) for v in value]
    if isinstance(value, np.ndarray):
        return {"__array__": _encode(value.tolist(), where), "dtype": str(value.dtype)}
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            return {
                "__dict_items__": [
                    [_encode(k, where), _encode(v, where)] for k, v in value.items()
                ]
            }
        return {k: _encode(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, type):
        return {"__class__": _class_name(value, where)}
    if isinstance(value, torch.device):
        return str(value)
    raise ValueError(
        f"save_model: {where} = {value!r} cannot be stored safely (only numbers, "
        "strings, sequences, dicts, arrays and allow-listed classes); save with joblib"
    )


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__float__" in value:
        return float(value["__float__"])
    if "__array__" in value:
        return np.asarray(_decode(value["__array__"]), dtype=value["dtype"])
    if "__dict_items__" in value:
        return {_decode(k): _decode(v) for k, v in value["__dict_items__"]}
    if "__class__" in value:
        name = value["__class__"]
        if name.startswith("hepclf.module:"):
            module = name.split(":", 1)[1]
            modules = registered_modules()
            if module not in modules:
                raise ValueError(
                    f"load_model: the file needs the module {module!r}, which is not "
                    "registered here; import the code that registers it first"
                )
            return modules[module]
        if name not in CLASSES:
            raise ValueError(
                f"load_model: the file names a class not on the allow-list: {name}"
            )
        return CLASSES[name]
    return {k: _decode(v) for k, v in value.items()}


def _estimator_name(estimator, where):
    estimators = _saveable_estimators()
    for name, cls in estimators.items():
        if type(estimator) is cls:
            return name
    why = getattr(type(estimator), "_save_model_unsupported", None)
    raise ValueError(
        f"save_model: {where} is a {type(estimator).__name__}, which cannot be saved "
        f"without pickle ({why or f'supported: {sorted(estimators)}'}); save it "
        "with joblib"
    )


def _describe(estimator, where, archive):
    """Describe one estimator as a manifest node; weights and history go to ``archive``."""
    name = _estimator_name(estimator, where)
    if isinstance(estimator, Pipeline):
        return {
            "class": name,
            "params": {"memory": None, "verbose": bool(estimator.verbose)},
            "steps": [
                [step, _describe(est, f"{where}.{step}", archive)]
                for step, est in estimator.steps
            ],
        }
    params = estimator.get_params(deep=False)
    node = {"class": name, "params": {}}
    dropped = []
    for key, value in params.items():
        if key in TRAINING_ONLY and value is not None:
            dropped.append(f"{key}={value!r}")
            value = None
        node["params"][key] = _encode(value, f"{where}.{key}")
    if dropped:
        node["dropped_training_only_params"] = dropped
    fitted = {
        key: _encode(value, f"{where}.{key}")
        for key, value in vars(estimator).items()
        if key.endswith("_")
        and not key.startswith("_")
        and key not in SKORCH_INTERNALS
        and _is_data(value)
    }
    node["fitted"] = fitted
    if isinstance(estimator, CNNClassifier) and estimator.initialized_:
        from safetensors.torch import save

        state = {
            k: v.detach().cpu().contiguous()
            for k, v in estimator.module_.state_dict().items()
        }
        weights = f"{where}.safetensors"
        archive[weights] = save(state)
        history = f"{where}.history.json"
        archive[history] = json.dumps(estimator.history_.to_list()).encode()
        node["weights"], node["history"] = weights, history
    return node


def _is_data(value):
    if isinstance(value, (np.ndarray, tuple, list, int, float, str, bool, np.number)):
        try:
            _encode(value, "")
        except ValueError:
            return False
        return True
    return False


def save_model(estimator, path):
    """Save a fitted (or unfitted) hepclf estimator or Pipeline without pickle.

    Parameters
    ----------
    estimator : JetImager, SubstructureFeatures, CNNClassifier or Pipeline of them
        What to save.
    path : str or path-like
        The zip archive to write (conventionally ``*.hepclf``).

    Returns
    -------
    path : pathlib.Path
        Where the archive was written.

    Raises
    ------
    ValueError
        A step or parameter cannot be stored as data (the message names it);
        use joblib for such models.

    Notes
    -----
    ``callbacks`` and ``train_split`` of a ``CNNClassifier`` only steer
    training and may hold arbitrary objects; they are stored as None and
    listed under ``dropped_training_only_params`` in the manifest. The
    optimiser state is not stored: continue training from a skorch checkpoint.
    """
    archive: dict[str, bytes] = {}
    tree = _describe(estimator, "model", archive)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "hepclf_version": __version__,
        "estimator": tree,
    }
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1))
        for name, blob in archive.items():
            zf.writestr(name, blob)
    tmp.replace(path)
    return path


def _build(node, zf, path):
    name = node.get("class")
    estimators = _saveable_estimators()
    if name not in estimators:
        raise ValueError(
            f"load_model: {path} names an estimator not on the allow-list: {name}"
        )
    cls = estimators[name]
    params = _decode(node.get("params", {}))
    if cls is Pipeline:
        steps = [(step, _build(child, zf, path)) for step, child in node["steps"]]
        return Pipeline(steps, **params)
    device = params.get("device")
    if (
        isinstance(device, str)
        and device.startswith("cuda")
        and not torch.cuda.is_available()
    ):
        warnings.warn(
            f"load_model: {path} was saved with device={device!r} but no CUDA device is "
            "available; loading on the CPU (device='cpu')",
            UserWarning,
            stacklevel=3,
        )
        params["device"] = "cpu"
    estimator = cls(**params)
    fitted = _decode(node.get("fitted", {}))
    for key, value in fitted.items():
        setattr(estimator, key, value)
    if "weights" in node:
        from safetensors.torch import load

        estimator.initialize()
        estimator.module_.load_state_dict(load(zf.read(node["weights"])))
        from skorch.history import History

        estimator.history_ = History(json.loads(zf.read(node["history"])))
    return estimator


def load_model(path):
    """Load an estimator written by :func:`save_model`; never unpickles anything.

    Parameters
    ----------
    path : str or path-like
        The archive.

    Returns
    -------
    estimator : estimator or Pipeline
        The saved estimator, fitted if it was saved fitted.

    Raises
    ------
    ValueError
        The file is not a hepclf model archive, is damaged, or names a class
        that is not on the allow-list (the message names the file and the
        problem).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                manifest = json.loads(zf.read("manifest.json"))
            except KeyError:
                raise ValueError(
                    f"{path}: not a hepclf model archive (no manifest.json)"
                ) from None
            if manifest.get("format") != FORMAT:
                raise ValueError(f"{path}: not a hepclf model archive")
            if manifest.get("format_version", 0) > FORMAT_VERSION:
                raise ValueError(
                    f"{path}: written by hepclf {manifest.get('hepclf_version')} in format "
                    f"version {manifest['format_version']}; this hepclf reads up to "
                    f"{FORMAT_VERSION}; upgrade hepclf"
                )
            return _build(manifest["estimator"], zf, path)
    except (
        zipfile.BadZipFile,
        json.JSONDecodeError,
        EOFError,
        io.UnsupportedOperation,
    ) as exc:
        raise ValueError(
            f"{path}: damaged or not a hepclf model archive ({exc})"
        ) from exc
