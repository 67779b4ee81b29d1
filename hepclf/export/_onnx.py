"""Export a fitted ``CNNClassifier`` or ``CNNRegressor`` (with its imager) to ONNX."""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import logging
import os
import re

import numpy as np
import torch
from torch import nn

from .._version import __version__
from ..utils import import_optional
from ._registry import graph_for

#: ONNX opset of the exported graphs (ONNX Runtime >= 1.14 runs it)
DEFAULT_OPSET = 18
#: name of the graph input for a bare ``CNNClassifier``
IMAGES = "images"
#: name of the graph output of a classifier
PROBABILITIES = "probabilities"
#: name of the graph output of a regressor
PREDICTIONS = "predictions"


class OnnxExportError(ValueError):
    """An estimator (or one of its steps) cannot be exported faithfully to ONNX."""


class _Tagger(nn.Module):
    """Imager (optional) -> CNN -> ``predict_proba``'s nonlinearity.

    With ``symmetries`` (``augment_predict=True``) the output is the mean of
    the nonlinearity over the images transformed by each of them, as
    ``predict_proba`` computes it.
    """

    def __init__(self, imager, net, nonlinearity, symmetries=None):
        super().__init__()
        self.imager = imager
        self.net = net
        self.nonlinearity = nonlinearity
        self.symmetries = symmetries or [(0, ())]

    def forward(self, x):
        # hepclf.models imports hepclf.imaging, which imports this package
        from ..models._augment import average_over_symmetries

        if self.imager is not None:
            x = self.imager(x)
        return average_over_symmetries(self._one, x.to(torch.float32), self.symmetries)

    def _one(self, x):
        out = self.net(x)
        return self.nonlinearity(out[0] if isinstance(out, tuple) else out)


class _Destandardise(nn.Module):
    """A regressor's output in the target's units, as ``predict`` (2-D)."""

    def __init__(self, scale, mean):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float32))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32))

    def forward(self, out):
        return out.reshape(out.shape[0], -1) * self.scale + self.mean


def _steps(estimator):
    """Split ``estimator`` into its imaging step and its network.

    Returns (name of the imaging step, its graph class, the step) -- all None
    for a bare network -- and (name of the last step, CNNClassifier or
    CNNRegressor).
    """
    from sklearn.pipeline import Pipeline

    from ..models import CNNClassifier, CNNRegressor

    nets = (CNNClassifier, CNNRegressor)
    if isinstance(estimator, nets):
        return None, None, None, "estimator", estimator
    if not isinstance(estimator, Pipeline):
        raise OnnxExportError(
            f"export_onnx supports a fitted CNNClassifier or CNNRegressor, or a "
            f"Pipeline(imager, network); got {type(estimator).__name__}"
        )
    steps = [(n, s) for n, s in estimator.steps if s is not None and s != "passthrough"]
    if not steps:
        raise OnnxExportError("the Pipeline has no steps to export")
    clf_name, clf = steps[-1]
    if not isinstance(clf, nets):
        raise OnnxExportError(
            f"step {clf_name!r} ({type(clf).__name__}): the last step must be a "
            "CNNClassifier or a CNNRegressor; other final estimators cannot be "
            "exported"
        )
    imager_name, graph, imager = None, None, None
    for name, step in steps[:-1]:
        step_graph, why = graph_for(step)
        if step_graph is not None and imager is not None:
            why = "only one imaging step (directly before the network) is supported"
        if why is not None:
            raise OnnxExportError(
                f"step {name!r} ({type(step).__name__}) cannot be exported: {why}"
            )
        imager_name, graph, imager = name, step_graph, step
    return imager_name, graph, imager, clf_name, clf


def _nonlinearity_name(fn):
    from skorch import utils as skutils

    if isinstance(fn, functools.partial) and fn.func is torch.softmax:
        return "softmax"
    for name in ("_sigmoid_then_2d", "_make_2d_probs", "_identity"):
        if fn is getattr(skutils, name, None):
            return name.strip("_")
    return getattr(fn, "__name__", type(fn).__name__)


def _jsonable(values):
    try:
        json.dumps(values)
    except TypeError:
        return [str(v) for v in values]
    return values


def _check_input_dtype(input_dtype):
    dtype = np.dtype(input_dtype)
    if dtype not in (np.float32, np.float64):
        raise OnnxExportError(
            f"input_dtype must be float32 or float64, got {input_dtype!r}"
        )
    return dtype


def _root_cause(exc):
    """``"Type: first line"`` of the innermost exception behind ``exc``."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else repr(exc)}"


#: the logger of torch's ONNX op registry, which warns once per torchvision op
#: (``nms``, ``roi_align``, ...) at every export when torchvision is absent
_REGISTRY_LOGGER = "torch.onnx._internal.exporter._registration"
_TORCHVISION_NOTICE = "torchvision is not installed. Skipping "


def _not_torchvision_notice(record: logging.LogRecord) -> bool:
    """Drop the registry's "torchvision is not installed" warnings, keep the rest.

    Our graphs never use torchvision's ops, so the notice is noise to users.
    """
    return not str(record.msg).startswith(_TORCHVISION_NOTICE)


@contextlib.contextmanager
def _quiet_torchvision_notice():
    """Filter the torchvision notice on the registry's logger, only while inside."""
    logger = logging.getLogger(_REGISTRY_LOGGER)
    logger.addFilter(_not_torchvision_notice)
    try:
        yield
    finally:
        logger.removeFilter(_not_torchvision_notice)


def _to_onnx(module, examples, input_names, output_names, dims, opset, what):
    """Export ``module(*examples)`` (NumPy arrays) with torch's ONNX exporter.

    ``dims`` holds one ``{axis: torch.export.Dim}`` per input (the dynamic axes);
    ``what`` names the step in the error raised when the export fails.
    """
    onnx = import_optional("onnx", extra="onnx")
    import_optional("onnxscript", extra="onnx")  # torch's exporter needs it
    version = tuple(int(v) for v in re.findall(r"\d+", torch.__version__)[:2])
    if version < (2, 6):
        raise OnnxExportError(
            f"ONNX export needs torch >= 2.6 (torch.onnx.export with dynamo=True); "
            f"found torch {torch.__version__}"
        )
    module.eval()
    try:
        with torch.no_grad(), _quiet_torchvision_notice():
            program = torch.onnx.export(
                module,
                tuple(torch.from_numpy(np.ascontiguousarray(e)) for e in examples),
                dynamo=True,
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_shapes=tuple(dims),
                opset_version=opset,
                verbose=False,
                report=False,
            )
        model = program.model_proto
    except Exception as exc:  # the exporter raises many kinds
        raise OnnxExportError(
            f"{what} could not be exported to ONNX: {_root_cause(exc)}"
        ) from exc
    # the oldest IR version that carries this opset, for older ONNX Runtimes
    model.ir_version = onnx.helper.find_min_ir_version_for(list(model.opset_import))
    return model


def _session(model):
    ort = import_optional("onnxruntime", extra="onnx")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def export_onnx(
    estimator,
    path: str | os.PathLike | None = None,
    *,
    n_constituents: int | None = None,
    n_features: int | None = None,
    input_dtype: str = "float32",
    opset: int = DEFAULT_OPSET,
    check: bool = True,
    X_check=None,
    atol: float = 1e-4,
):
    """Export a fitted tagger to an ONNX file that computes ``predict_proba``.

    A ``CNNRegressor`` (bare or after its imager) exports the same way, to a
    graph that computes ``predict``.

    For a ``Pipeline(JetImager, CNNClassifier)`` the jet imaging goes into the
    same graph (a float64 re-implementation of ``JetImager``'s arithmetic), so
    a C++ program feeds the padded constituents and gets the class
    probabilities, exactly as ``pipe.predict_proba`` returns them. A bare
    ``CNNClassifier`` gives a graph from images to probabilities.

    Read more in the :ref:`User Guide <cpp>`.

    Parameters
    ----------
    estimator : CNNClassifier, CNNRegressor or Pipeline
        A fitted ``CNNClassifier`` or ``CNNRegressor``, or a fitted
        ``Pipeline`` whose steps are an imager with an ONNX translation
        (``JetImager``, ``EventImager``) then one of them (``"passthrough"``
        steps are skipped).
    path : str or path-like, optional
        Where to write the ``.onnx`` file. ``None`` writes nothing.
    n_constituents : int, optional
        Fix the constituent axis of the input to this length. By default it is
        dynamic (any number of rows, padded per batch).
    n_features : int, optional
        Features per constituent: 4 for ``input_format="epxpypz"``; 3 or 4
        (default 4) for ``"ptetaphi"``.
    input_dtype : {"float32", "float64"}, default="float32"
        Element type of the constituent input (images are always float32).
        Use the dtype the tagger sees in Python: the public top-tagging data
        and ``load_top_tagging`` are float32.
    opset : int, default=18
        ONNX opset of the graph.
    check : bool, default=True
        Run the exported graph with ONNX Runtime on ``X_check`` (or on random
        jets or images with padding, an empty jet and jets at phi = +-pi) and
        compare with ``estimator.predict_proba``; raise if they differ by more
        than ``atol``.
    X_check : array-like, optional
        Input for the check: padded constituents for a pipeline, images for a
        bare classifier.
    atol : float, default=1e-4
        Tolerance of the check on the probabilities (for a regressor, on the
        predictions divided by ``target_scale_``: the standardised outputs).

    Returns
    -------
    model : onnx.ModelProto
        The graph, with input ``"constituents"`` ``(batch, n_constituents,
        n_features)`` (or ``"images"`` ``(batch, n_channels, height, width)``
        float32) and output ``"probabilities"`` ``(batch, n_classes)`` float32,
        columns in the order of ``classes_``. ``metadata_props`` hold the
        classes, the imager's parameters, the input format, the padding
        convention, the hepclf version and ``symmetries_averaged`` (the
        number of flipped and turned images each output is the mean over:
        1, or 2, 4 or 8 with ``augment_predict=True``, as ``predict_proba``
        computes it). A regressor's graph has the output
        ``"predictions"`` ``(batch, n_outputs)`` float32 in the target's units
        (two-dimensional even for one target, where ``predict`` returns 1-D)
        and ``n_outputs`` in place of the classes.

    Raises
    ------
    OnnxExportError
        (a ``ValueError``) naming the step and the reason, when a step has no
        ONNX translation (a transformer other than ``JetImager``, a final step
        other than ``CNNClassifier``), the module fails to export, or the check
        finds a difference.
    sklearn.exceptions.NotFittedError
        When the estimator is not fitted.

    Notes
    -----
    The graph does not validate its input as ``JetImager`` does: NaN, negative
    pT or energy, or rows with ``px == py == 0`` but non-zero ``E`` give no
    error.

    Examples
    --------
    >>> from hepclf.export import export_onnx  # doctest: +SKIP
    >>> export_onnx(pipe, "tagger.onnx")  # doctest: +SKIP
    """
    onnx = import_optional("onnx", extra="onnx")
    from sklearn.utils.validation import check_is_fitted

    from ..models import CNNRegressor

    imager_name, graph, imager, clf_name, clf = _steps(estimator)
    check_is_fitted(clf)
    kind = type(clf).__name__
    regressor = isinstance(clf, CNNRegressor)
    precision = getattr(clf, "precision", "fp32")
    if precision != "fp32":
        raise OnnxExportError(
            f"step {clf_name!r} ({kind}) has precision={precision!r}: its "
            "predictions run the network under autocast, the ONNX graph in float32; "
            "export a copy with set_params(precision='fp32') (the weights are float32)"
        )
    why = clf.get_input_kind().not_exportable
    if why is not None:
        raise OnnxExportError(
            f"step {clf_name!r} ({kind}) runs the module {clf.module!r}: {why}"
        )
    if imager is not None:
        check_is_fitted(imager)
    dtype = _check_input_dtype(input_dtype)
    if n_constituents is not None and (
        not isinstance(n_constituents, (int, np.integer)) or n_constituents < 1
    ):
        raise OnnxExportError(
            f"n_constituents must be a positive int or None, got {n_constituents!r}"
        )

    # -- the torch module ------------------------------------------------------
    if imager is not None:
        what = f"step {imager_name!r} ({type(imager).__name__})"
        try:
            imaging = (
                graph(imager)
                if n_features is None
                else graph(imager, n_features=n_features)
            )
        except ValueError as exc:
            raise OnnxExportError(f"{what}: {exc}") from exc
        n_features = imaging.n_features
        n_channels, *shape = imaging.output_shape
        if tuple(shape) != tuple(clf.image_shape_) or n_channels != clf.n_channels_:
            raise OnnxExportError(
                f"{what} makes images of {n_channels} x {tuple(shape)} but step "
                f"{clf_name!r} was fitted on {clf.n_channels_} x {clf.image_shape_}"
            )
        example = imaging.example_input(n_constituents, dtype)[:3]
        input_name = imaging.input_name
        input_meta = imaging.metadata()
        dims = {0: torch.export.Dim("batch")}
        if n_constituents is None:
            dims[1] = torch.export.Dim(f"n_{input_name}")
    else:
        imaging = None
        rng = np.random.default_rng(0)
        example = rng.random((3, clf.n_channels_, *clf.image_shape_), np.float32)
        input_name = IMAGES
        input_meta = {"input_format": "images", "padding": "none (images)"}
        dims = {0: torch.export.Dim("batch")}
        dtype = np.dtype(np.float32)

    net = copy.deepcopy(clf.module_).to("cpu").eval()
    if regressor:
        nonlinearity = _Destandardise(clf.target_scale_, clf.target_mean_)
        output_name = PREDICTIONS
    else:
        nonlinearity = clf.get_predict_nonlinearity()
        output_name = PROBABILITIES
    tagger = _Tagger(imaging, net, nonlinearity, clf._predict_symmetries()).eval()
    model = _to_onnx(
        tagger,
        [example],
        [input_name],
        [output_name],
        [dims],
        opset,
        f"step {clf_name!r} ({kind} with module {type(net).__name__})",
    )

    # -- metadata ----------------------------------------------------------------
    input_shape = (
        ["batch", n_constituents or f"n_{input_name}", n_features]
        if imager is not None
        else ["batch", int(clf.n_channels_), *map(int, clf.image_shape_)]
    )
    if regressor:
        output_meta = {
            "n_outputs": json.dumps(int(clf.n_outputs_)),
            "output_name": PREDICTIONS,
            "output": "predictions (batch, n_outputs), float32, in the target's "
            "units, as predict (2-D even for one target)",
        }
    else:
        output_meta = {
            "classes": json.dumps(_jsonable(np.asarray(clf.classes_).tolist())),
            "output_name": PROBABILITIES,
            "output": "class probabilities (batch, n_classes), float32, columns in "
            "the order of 'classes', as predict_proba",
        }
    meta = {
        "hepclf_version": __version__,
        "estimator": kind,
        "input_name": input_name,
        "input_shape": json.dumps(input_shape),
        "input_dtype": dtype.name,
        **input_meta,
        **output_meta,
        "imager": json.dumps(
            None if imager is None else _jsonable_params(imager.get_params())
        ),
        "image_shape": json.dumps([int(clf.n_channels_), *map(int, clf.image_shape_)]),
        "module": type(net).__name__,
        "symmetries_averaged": json.dumps(len(tagger.symmetries)),
        "nonlinearity": "destandardise"
        if regressor
        else _nonlinearity_name(nonlinearity),
    }
    onnx.helper.set_model_props(model, meta)
    model.doc_string = (
        f"hepclf {__version__} {kind}: {input_name} -> {output_name} "
        f"(see metadata_props)"
    )
    onnx.checker.check_model(model)

    if check:
        if X_check is None:
            X_check = _check_input(model, imaging, n_constituents, dtype)
        _check(model, estimator, clf, X_check, dtype, atol)
    if path is not None:
        onnx.save_model(model, os.fspath(path))
    return model


def _jsonable_params(params):
    out = {}
    for key, value in params.items():
        if isinstance(value, (tuple, list)):
            value = list(value)
        out[key] = value
    json.dumps(out)
    return out


def _check_input(model, imaging, n_constituents, dtype):
    """Input for the check: random images, or the graph's own example input."""
    if imaging is None:
        rng = np.random.default_rng(1)
        shape = (64, *json.loads(_meta(model)["image_shape"]))
        return rng.random(shape, np.float32)
    return imaging.example_input(n_constituents, dtype, seed=1)


def _check(model, estimator, net, X_check, dtype, atol):
    session = _session(model)
    X_check = np.ascontiguousarray(X_check, dtype=dtype)
    got = session.run(None, {session.get_inputs()[0].name: X_check})[0]
    from ..models import CNNRegressor

    if isinstance(net, CNNRegressor):  # standardised predictions
        what = "predict"
        expected = estimator.predict(X_check).reshape(len(X_check), -1)
        expected, got = expected / net.target_scale_, got / net.target_scale_
    else:
        what = "predict_proba"
        expected = estimator.predict_proba(X_check)
    if got.shape != expected.shape or not np.allclose(got, expected, rtol=0, atol=atol):
        diff = (
            float(np.max(np.abs(got - expected)))
            if got.shape == expected.shape
            else f"shape {got.shape} vs {expected.shape}"
        )
        raise OnnxExportError(
            f"the exported graph does not reproduce {what} (max |difference| "
            f"{diff} > atol={atol}); refusing to export a different model"
        )


def _meta(model) -> dict[str, str]:
    return {p.key: p.value for p in model.metadata_props}


def read_metadata(model_or_path) -> dict[str, object]:
    """Read hepclf's metadata from an exported ONNX model.

    Parameters
    ----------
    model_or_path : onnx.ModelProto, str or path-like
        The model, or the path of an ``.onnx`` file.

    Returns
    -------
    metadata : dict
        ``metadata_props`` with the JSON values (``classes`` or
        ``n_outputs``, ``imager``, ``input_shape``, ``image_shape``,
        ``symmetries_averaged``: 1, or the number of images
        ``augment_predict=True`` averages over; absent from files written
        before hepclf 0.2) decoded.
    """
    onnx = import_optional("onnx", extra="onnx")
    model = model_or_path
    if isinstance(model, (str, os.PathLike)):
        model = onnx.load_model(os.fspath(model), load_external_data=False)
    meta: dict[str, object] = dict(_meta(model))
    for key in (
        "classes",
        "n_outputs",
        "imager",
        "input_shape",
        "image_shape",
        "symmetries_averaged",
    ):
        if key in meta:
            meta[key] = json.loads(str(meta[key]))
    return meta
