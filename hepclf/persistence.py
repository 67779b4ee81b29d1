"""Save and load taggers without pickle: JSON for parameters, safetensors for weights.

``joblib.dump``/``joblib.load`` work for every hepclf estimator, but unpickling
runs whatever code the file names, so a pickle must only be loaded from a
trusted source. :func:`save_model` writes a zip archive that holds only data:

* ``manifest.json``: the format version, the hepclf version and the estimator
  tree (class names from an allow-list, parameters, fitted attributes);
* ``<step>.safetensors``: the weights of each network's module (``CNNClassifier``,
  ``CNNRegressor``);
* ``<step>.history.json``: its training history.

:func:`load_model` rebuilds the estimator from allow-listed classes only, and
loads the weights with safetensors. It validates the whole archive before it
builds anything (classes, parameter names and constraints, weight names and
shapes), and refuses parameters that could name a path or hold objects, so a
file from an untrusted source can at worst fail to load, with a ``ValueError``,
having touched nothing on disk. Weights are stored on the CPU, so a model
trained on CUDA loads on a CPU-only machine (and vice versa).
"""

from __future__ import annotations

import inspect
import io
import json
import re
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNet

from ._version import __version__
from .models import ArrayLoader, registered_modules

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
        for c in (
            torch.nn.CrossEntropyLoss,
            torch.nn.NLLLoss,
            torch.nn.MSELoss,
            torch.nn.L1Loss,
            torch.nn.SmoothL1Loss,
            torch.nn.HuberLoss,
        )
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

#: Parameters that only steer training (or the loading of skorch checkpoints) and
#: may hold objects or paths; they are saved as None (the saved model predicts
#: identically) and listed in the file, and load_model refuses a file that sets
#: them.
TRAINING_ONLY = ("callbacks", "train_split", "checkpoint_dir", "torch_load_kwargs")

#: Of those, the plain values that archives written before load_model refused them
#: hold (a path, a dict of options): load_model ignores them with a warning, so
#: those files still load, and never uses them.
IGNORED_ON_LOAD = ("checkpoint_dir", "torch_load_kwargs")

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
    if isinstance(estimator, NeuralNet) and estimator.initialized_:
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
    ``callbacks``, ``train_split``, ``checkpoint_dir`` and
    ``torch_load_kwargs`` of a ``CNNClassifier`` only steer training (or the
    loading of skorch checkpoints) and may hold objects or paths; they are
    stored as None and listed under ``dropped_training_only_params`` in the
    manifest. The optimiser state is not stored: continue training from a
    skorch checkpoint.
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


# -- loading ------------------------------------------------------------------------
#
# load_model works in two phases. _check_node reads and validates the whole
# archive (manifest, weights, history) into a plan of plain data and allow-listed
# classes, constructing nothing; only then does _build construct the estimators
# and initialise the networks. A hostile file therefore fails in the first phase,
# before any estimator exists, and nothing it names can reach the disk: the
# parameters that could (checkpoint_dir, Pipeline's memory) or that could carry
# objects (callbacks, train_split, torch_load_kwargs) must be null.


class _Invalid(ValueError):
    """A problem with the archive at ``where`` (load_model adds the file name)."""

    def __init__(self, where, problem):
        super().__init__(f"{where}: {problem}")


#: Keys of the manifest and of its estimator nodes.
_MANIFEST_KEYS = frozenset({"format", "format_version", "hepclf_version", "estimator"})
_PIPELINE_KEYS = frozenset({"class", "params", "steps"})
_NODE_KEYS = frozenset(
    {"class", "params", "fitted", "weights", "history", "dropped_training_only_params"}
)

#: The tagged JSON objects ``_encode`` writes, and the keys each has.
_MARKERS = {
    "__tuple__": frozenset({"__tuple__"}),
    "__float__": frozenset({"__float__"}),
    "__array__": frozenset({"__array__", "dtype"}),
    "__dict_items__": frozenset({"__dict_items__"}),
    "__class__": frozenset({"__class__"}),
}

#: Largest array item in the manifest, in bytes: a dtype such as ``"<U999999999"``
#: must not make a one-element list allocate gigabytes.
_MAX_ITEMSIZE = 1 << 16

#: Constraints on the skorch parameters of a network that have none of their own,
#: for values read from a file.
_NET_CONSTRAINTS = {
    "lr": [Interval(Real, 0, None, closed="left")],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
    "verbose": ["verbose"],
    "warm_start": ["boolean"],
    "compile": ["boolean"],
    "use_caching": ["boolean", StrOptions({"auto"})],
    "predict_nonlinearity": [StrOptions({"auto"}), None],
}

#: The ``<prefix>__<name>`` parameters a network may take from a file (not
#: ``callbacks__*`` or ``compile__*``).
_NET_PREFIXES = (
    "module",
    "criterion",
    "optimizer",
    "iterator_train",
    "iterator_valid",
    "dataset",
)

#: Arguments skorch passes itself, never through ``<prefix>__<name>``.
_SUPPLIED_BY_SKORCH = frozenset({"params", "dataset", "X", "y"})


def _kind(value):
    return {dict: "an object", list: "a list", str: "a string"}.get(
        type(value), type(value).__name__
    )


def _is_net(cls):
    return isinstance(cls, type) and issubclass(cls, NeuralNet)


def _decode(value, where, classes=None):
    """Return the Python value of a manifest entry; check its form on the way.

    ``classes`` maps the class names this entry may hold (at its top level
    only) to the classes; any other class, anywhere, is refused.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [_decode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, dict):  # json.loads gives nothing else
        raise _Invalid(where, f"unexpected value {value!r}")
    tags = [key for key in value if key in _MARKERS]
    if not tags:
        return {k: _decode(v, f"{where}[{k!r}]") for k, v in value.items()}
    tag = tags[0]
    if set(value) != _MARKERS[tag]:
        raise _Invalid(
            where,
            f"a {tag} entry has exactly the keys {sorted(_MARKERS[tag])}, "
            f"got {sorted(value)}",
        )
    body = value[tag]
    if tag == "__tuple__":
        if not isinstance(body, list):
            raise _Invalid(where, f"__tuple__ must hold a list, got {_kind(body)}")
        return tuple(_decode(v, f"{where}[{i}]") for i, v in enumerate(body))
    if tag == "__float__":
        if not (isinstance(body, str) and body.lower() in {"nan", "inf", "-inf"}):
            raise _Invalid(
                where, f"__float__ must be 'nan', 'inf' or '-inf', got {body!r}"
            )
        return float(body)
    if tag == "__array__":
        return _decode_array(body, value["dtype"], where)
    if tag == "__dict_items__":
        if not (
            isinstance(body, list)
            and all(isinstance(item, list) and len(item) == 2 for item in body)
        ):
            raise _Invalid(where, "__dict_items__ must be a list of [key, value] pairs")
        try:
            return {
                _decode(k, where): _decode(v, f"{where}[{i}]")
                for i, (k, v) in enumerate(body)
            }
        except TypeError as exc:  # an unhashable key
            raise _Invalid(where, f"bad __dict_items__ key ({exc})") from None
    return _decode_class(body, where, classes or {})


def _decode_array(body, dtype, where):
    if not isinstance(dtype, str):
        raise _Invalid(where, f"an array's dtype must be a string, got {_kind(dtype)}")
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise _Invalid(where, f"unknown dtype {dtype!r} ({exc})") from None
    if dtype.kind == "V" or dtype.itemsize > _MAX_ITEMSIZE:
        raise _Invalid(where, f"dtype {str(dtype)!r} is not allowed in a saved model")
    data = _decode(body, where)
    try:
        return np.asarray(data, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise _Invalid(where, f"not an array of {dtype} ({exc})") from None


def _decode_class(name, where, classes):
    if not isinstance(name, str):
        raise _Invalid(where, f"__class__ must be a string, got {_kind(name)}")
    if name in classes:
        return classes[name]
    if name.startswith("hepclf.module:") and any(
        key.startswith("hepclf.module:") for key in classes
    ):
        raise _Invalid(
            where,
            f"the file needs the module {name.split(':', 1)[1]!r}, which is not "
            "registered here; import the code that registers it first",
        )
    if name in CLASSES or name.startswith("hepclf.module:"):
        allowed = sorted(classes) if classes else "none"
        raise _Invalid(
            where, f"the class {name} is not allowed here (allowed: {allowed})"
        )
    raise _Invalid(where, f"names a class not on the allow-list: {name}")


def _class_options(cls):
    """Return ``{parameter: {name in the file: class}}`` for the class-valued parameters."""
    if not _is_net(cls):
        return {}

    def group(prefix):
        return {name: c for name, c in CLASSES.items() if name.startswith(prefix)}

    return {
        "module": {f"hepclf.module:{n}": m for n, m in registered_modules().items()},
        "criterion": group("torch.nn."),
        "optimizer": group("torch.optim."),
        "iterator_train": group("hepclf.models.ArrayLoader"),
        "iterator_valid": group("hepclf.models.ArrayLoader"),
        "dataset": group("skorch.dataset."),
    }


def _init_defaults(cls):
    """Return ``{name: default}`` of the estimator's parameters.

    For a skorch network, of every ``__init__`` in its MRO: the skorch
    parameters arrive through ``**kwargs``.
    """
    if not _is_net(cls):
        return dict.fromkeys(cls._get_param_names())
    defaults = {}
    for klass in reversed(cls.__mro__):
        if "__init__" not in vars(klass) or klass is object:
            continue
        for name, p in inspect.signature(klass.__init__).parameters.items():
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                defaults[name] = p.default
    return defaults


def _accepted_names(target, prefix):
    """Return the names ``target`` takes as ``<prefix>__<name>``; None: any name."""
    names = set()
    for p in inspect.signature(target).parameters.values():
        if p.kind is p.VAR_KEYWORD:
            if target is not ArrayLoader:
                return None
            # ArrayLoader passes the rest on to torch's DataLoader
            names |= set(inspect.signature(torch.utils.data.DataLoader).parameters)
        elif p.kind is not p.VAR_POSITIONAL:
            names.add(p.name)
    if prefix == "optimizer":
        names.add("param_groups")  # skorch's per-parameter-group settings
    return names - _SUPPLIED_BY_SKORCH


def _check_net_params(cls, params, defaults, where):
    """Check what only a skorch network has: classes, paths, sub-parameters, device."""
    for key in TRAINING_ONLY:
        if params.get(key) is not None and key in IGNORED_ON_LOAD:
            warnings.warn(
                f"load_model: {where}.{key}={params[key]!r} in the file is ignored "
                f"(loaded as {key}=None): load_model takes no paths or options "
                "from a file; set it again if you train on",
                UserWarning,
                stacklevel=5,
            )
            params[key] = None
        elif params.get(key) is not None:
            raise _Invalid(
                f"{where}.{key}",
                f"is {params[key]!r}, but a saved model always has {key}=None "
                "(save_model stores None): load_model takes no paths, callbacks "
                "or other objects from a file",
            )
    options = _class_options(cls)
    for key, allowed in options.items():
        value = params.get(key, defaults.get(key))
        if key == "module" and isinstance(value, str):
            if value not in registered_modules():
                raise _Invalid(
                    f"{where}.module",
                    f"the module {value!r} is not registered here (registered: "
                    f"{sorted(registered_modules())}); import the code that "
                    "registers it first",
                )
            continue
        if not any(value is c for c in allowed.values()):
            raise _Invalid(
                f"{where}.{key}", f"must be one of the classes {sorted(allowed)}"
            )
    device = params.get("device")
    if isinstance(device, str) and device != "auto":
        try:
            torch.device(device)
        except (RuntimeError, ValueError) as exc:
            raise _Invalid(
                f"{where}.device", f"{device!r} is not a torch device ({exc})"
            ) from None
    for key in params:
        if "__" not in key:
            continue
        prefix, _, name = key.partition("__")
        if prefix not in _NET_PREFIXES:
            raise _Invalid(
                where,
                f"{key!r} is not a parameter a saved {cls.__name__} may set "
                f"(sub-parameters only of {list(_NET_PREFIXES)}; never callbacks)",
            )
        target = params.get(prefix, defaults.get(prefix))
        if isinstance(target, str):
            target = registered_modules()[target]
        accepted = _accepted_names(target, prefix)
        if (
            not name.isidentifier()
            or "__" in name
            or (accepted is not None and name not in accepted)
        ):
            raise _Invalid(
                where,
                f"{key!r} is not a parameter of {cls.__name__}: "
                f"{getattr(target, '__name__', target)} takes no argument {name!r}",
            )


def _check_params(cls, raw, where):
    """Decode and validate an estimator's parameters; return them."""
    if not isinstance(raw, dict):
        raise _Invalid(f"{where}.params", f"must be an object, got {_kind(raw)}")
    net = _is_net(cls)
    defaults = _init_defaults(cls)
    options = _class_options(cls)
    params = {}
    for key, value in raw.items():
        if key not in defaults and not (net and "__" in key):
            raise _Invalid(where, f"{key!r} is not a parameter of {cls.__name__}")
        params[key] = _decode(value, f"{where}.{key}", options.get(key))
    if net:
        _check_net_params(cls, params, defaults, where)
    constraints = {
        **getattr(cls, "_parameter_constraints", {}),
        **(_NET_CONSTRAINTS if net else {}),
    }
    checked = {k: v for k, v in params.items() if k in constraints}
    try:
        validate_parameter_constraints(
            {k: constraints[k] for k in checked}, checked, caller_name=cls.__name__
        )
    except InvalidParameterError as exc:
        raise _Invalid(where, str(exc)) from None
    return params


def _check_fitted(cls, raw, where):
    if not isinstance(raw, dict):
        raise _Invalid(f"{where}.fitted", f"must be an object, got {_kind(raw)}")
    reserved = SKORCH_INTERNALS
    if _is_net(cls):  # set by initialize(), never from a file
        reserved = reserved | {f"{p}_" for p in (*NeuralNet.prefixes_, *_NET_PREFIXES)}
    fitted = {}
    for key, value in raw.items():
        if (
            not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*_", key)
            or key in reserved
            or hasattr(cls, key)  # a property or method of the class
        ):
            raise _Invalid(
                f"{where}.fitted",
                f"{key!r} is not a fitted attribute save_model writes for "
                f"{cls.__name__}",
            )
        fitted[key] = _decode(value, f"{where}.{key}")
    return fitted


def _read_member(zf, name, where):
    if (
        not isinstance(name, str)
        or name == "manifest.json"
        or name not in zf.namelist()
    ):
        raise _Invalid(where, f"names {name!r}, which is not a file in the archive")
    try:
        return zf.read(name)
    except (
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        RuntimeError,  # an encrypted member
    ) as exc:
        raise _Invalid(where, f"{name} is damaged ({exc})") from None


def _read_weights(zf, name, where):
    from safetensors import SafetensorError
    from safetensors.torch import load

    blob = _read_member(zf, name, f"{where}.weights")
    try:
        state = load(blob)
    except (SafetensorError, ValueError, TypeError, RuntimeError, OverflowError) as exc:
        raise _Invalid(
            f"{where}.weights", f"{name} is not a safetensors file ({exc})"
        ) from None
    return state


def _read_history(zf, name, where):
    blob = _read_member(zf, name, f"{where}.history")
    try:
        history = json.loads(blob)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise _Invalid(f"{where}.history", f"{name} is not JSON ({exc})") from None
    if not (isinstance(history, list) and all(isinstance(e, dict) for e in history)):
        raise _Invalid(f"{where}.history", f"{name} is not a list of epochs")
    return history


def _state_signature(state):
    return {k: (tuple(v.shape), v.dtype) for k, v in state.items()}


def _check_state(expected, state, where):
    """Check that the weights are exactly those of the network the manifest describes."""
    expected, got = _state_signature(expected), _state_signature(state)
    problems = []
    for label, keys in (
        ("missing", sorted(expected.keys() - got.keys())),
        ("unexpected", sorted(got.keys() - expected.keys())),
        (
            "of another shape or dtype",
            sorted(k for k in expected.keys() & got.keys() if expected[k] != got[k]),
        ),
    ):
        if keys:
            more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
            problems.append(f"{label}: {', '.join(keys[:5])}{more}")
    if problems:
        raise _Invalid(
            f"{where}.weights",
            "the weights do not fit the network the manifest describes ("
            + "; ".join(problems)
            + ")",
        )


def _expected_state(plan):
    """Return the state dict (on the meta device) of the network ``plan`` describes.

    Builds only the torch module, on the meta device (no memory, no callbacks,
    nothing initialised on the estimator that will be returned); None when the
    module cannot be built there, in which case the weights are checked after
    ``initialize()``.
    """
    probe = plan.cls(**plan.params)
    for key, value in plan.fitted.items():
        setattr(probe, key, value)
    try:
        with torch.device("meta"), probe._current_init_context("module"):
            probe.initialize_module()
        return probe.module_.state_dict()
    except (
        AttributeError,
        IndexError,
        KeyError,
        NotImplementedError,
        RuntimeError,
        TypeError,
        ValueError,
    ):  # initialize() in _build reports it, naming the file
        return None


@dataclass
class _Plan:
    """A validated estimator node: everything needed to build it, as data."""

    cls: type
    where: str
    params: dict
    fitted: dict = field(default_factory=dict)
    steps: list = field(default_factory=list)
    state: dict | None = None
    history: list | None = None


def _check_keys(node, allowed, required, where):
    if not isinstance(node, dict):
        raise _Invalid(where, f"must be an object, got {_kind(node)}")
    missing = sorted(required - node.keys())
    if missing:
        raise _Invalid(where, f"missing key(s) {missing}")
    unknown = sorted(node.keys() - allowed)
    if unknown:
        raise _Invalid(where, f"unknown key(s) {unknown}")


def _check_node(node, where, zf):
    """Validate one estimator node (and its children, weights, history)."""
    if not isinstance(node, dict):
        raise _Invalid(where, f"must be an object, got {_kind(node)}")
    name = node.get("class")
    estimators = _saveable_estimators()
    if not isinstance(name, str) or name not in estimators:
        raise _Invalid(where, f"names an estimator not on the allow-list: {name}")
    cls = estimators[name]
    if cls is Pipeline:
        return _check_pipeline(node, where, zf)
    _check_keys(node, _NODE_KEYS, {"class", "params", "fitted"}, where)
    plan = _Plan(
        cls,
        where,
        _check_params(cls, node["params"], where),
        _check_fitted(cls, node["fitted"], where),
    )
    dropped = node.get("dropped_training_only_params", [])
    if not (isinstance(dropped, list) and all(isinstance(d, str) for d in dropped)):
        raise _Invalid(
            f"{where}.dropped_training_only_params", "must be a list of strings"
        )
    if "weights" in node or "history" in node:
        if not _is_net(cls):
            raise _Invalid(where, f"a {cls.__name__} has no weights or history")
        if not ("weights" in node and "history" in node):
            raise _Invalid(where, "'weights' and 'history' come together")
        plan.state = _read_weights(zf, node["weights"], where)
        plan.history = _read_history(zf, node["history"], where)
        expected = _expected_state(plan)
        if expected is not None:
            _check_state(expected, plan.state, where)
    return plan


def _check_pipeline(node, where, zf):
    _check_keys(node, _PIPELINE_KEYS, _PIPELINE_KEYS, where)
    params = node["params"]
    if not isinstance(params, dict):
        raise _Invalid(f"{where}.params", f"must be an object, got {_kind(params)}")
    names = set(Pipeline._get_param_names()) - {"steps"}
    for key in params:
        if key not in names:
            raise _Invalid(where, f"{key!r} is not a parameter of Pipeline")
    if params.get("memory") is not None:
        raise _Invalid(
            f"{where}.memory",
            f"is {params['memory']!r}, but a saved Pipeline always has memory=None: "
            "load_model takes no paths from a file",
        )
    params = {k: _decode(v, f"{where}.{k}") for k, v in params.items()}
    try:
        validate_parameter_constraints(
            {k: Pipeline._parameter_constraints[k] for k in params},
            params,
            caller_name="Pipeline",
        )
    except InvalidParameterError as exc:
        raise _Invalid(where, str(exc)) from None
    steps = node["steps"]
    if not (isinstance(steps, list) and steps):
        raise _Invalid(
            f"{where}.steps", "must be a non-empty list of [name, estimator]"
        )
    plan = _Plan(Pipeline, where, params)
    for item in steps:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and item[0]
            and "__" not in item[0]
        ):
            raise _Invalid(
                f"{where}.steps",
                f"each step is a [name, estimator] pair with a name without '__', "
                f"got {str(item)[:80]}",
            )
        step = item[0]
        if step in {s for s, _ in plan.steps}:
            raise _Invalid(f"{where}.steps", f"the step name {step!r} is used twice")
        if step in names:
            raise _Invalid(f"{where}.steps", f"the step name {step!r} is a parameter")
        plan.steps.append((step, _check_node(item[1], f"{where}.{step}", zf)))
    return plan


def _check_manifest(manifest, zf, path):
    """Validate the whole archive; return the plan of what to build."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: not a hepclf model archive")
    version = manifest.get("format_version")
    if type(version) is not int or version < 1:
        raise _Invalid(
            "manifest.json",
            f"format_version must be a positive integer, got {version!r}",
        )
    if version > FORMAT_VERSION:
        raise ValueError(
            f"{path}: written by hepclf {manifest.get('hepclf_version')} in format "
            f"version {version}; this hepclf reads up to {FORMAT_VERSION}; "
            "upgrade hepclf"
        )
    _check_keys(
        manifest,
        _MANIFEST_KEYS,
        {"format", "format_version", "estimator"},
        "manifest.json",
    )
    if not isinstance(manifest.get("hepclf_version", ""), str):
        raise _Invalid("manifest.json", "hepclf_version must be a string")
    return _check_node(manifest["estimator"], "model", zf)


def _build(plan):
    """Construct the estimator of a validated plan (initialising its network)."""
    if plan.cls is Pipeline:
        return Pipeline([(step, _build(p)) for step, p in plan.steps], **plan.params)
    params = dict(plan.params)
    device = params.get("device")
    if (
        isinstance(device, str)
        and device.startswith("cuda")
        and not torch.cuda.is_available()
    ):
        warnings.warn(
            f"load_model: {plan.where} was saved with device={device!r} but no CUDA "
            "device is available; loading on the CPU (device='cpu')",
            UserWarning,
            stacklevel=3,
        )
        params["device"] = "cpu"
    estimator = plan.cls(**params)
    for key, value in plan.fitted.items():
        setattr(estimator, key, value)
    if plan.state is not None:
        from skorch.history import History

        try:
            estimator.initialize()
        except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
            raise _Invalid(
                plan.where, f"the network could not be built ({exc})"
            ) from exc
        _check_state(estimator.module_.state_dict(), plan.state, plan.where)
        estimator.module_.load_state_dict(plan.state)
        estimator.history_ = History(plan.history)
    return estimator


def load_model(path):
    """Load an estimator written by :func:`save_model`; never unpickles anything.

    The whole archive is validated before any estimator is built: the
    manifest's keys and types, every class against the allow-list, every
    parameter against the estimator's parameters and their constraints, and
    the weights' names, shapes and dtypes against the network the manifest
    describes. Parameters that could hold objects or a path (``callbacks``,
    ``train_split``, a Pipeline's ``memory``) must be null, as ``save_model``
    writes them; a ``checkpoint_dir`` or ``torch_load_kwargs`` in an archive
    from an earlier version is ignored with a warning. Loading a file never
    creates, reads or writes anything but the file itself.

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
        The file is not a hepclf model archive, is damaged, names a class that
        is not on the allow-list, or sets a parameter or weights that the
        checks above refuse (the message names the file, the manifest entry
        and the problem).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    try:
        with zipfile.ZipFile(path) as zf:
            try:
                blob = zf.read("manifest.json")
            except KeyError:
                raise ValueError(
                    f"{path}: not a hepclf model archive (no manifest.json)"
                ) from None
            try:
                manifest = json.loads(blob)
            except (ValueError, RecursionError) as exc:
                raise ValueError(
                    f"{path}: damaged or not a hepclf model archive (manifest.json "
                    f"is not JSON: {exc})"
                ) from None
            plan = _check_manifest(manifest, zf, path)  # constructs nothing
        return _build(plan)
    except _Invalid as exc:
        raise ValueError(f"{path}: {exc}") from exc.__cause__
    except RecursionError:
        raise ValueError(
            f"{path}: damaged or not a hepclf model archive (nested too deeply)"
        ) from None
    except (
        zipfile.BadZipFile,
        EOFError,
        zlib.error,
        NotImplementedError,
        io.UnsupportedOperation,
    ) as exc:
        raise ValueError(
            f"{path}: damaged or not a hepclf model archive ({exc})"
        ) from exc
