"""Attributions of a fitted network's output to its input pixels, via Captum."""

from __future__ import annotations

import contextlib

import numpy as np
import torch

from ..models import CNNRegressor
from ..models._augment import average_over_symmetries
from ..utils import import_optional
from ._common import label_codes, network_input

#: The attribution methods, by the name ``saliency`` takes, and Captum's class.
METHODS = {
    "gradient": "Saliency",
    "integrated_gradients": "IntegratedGradients",
    "occlusion": "Occlusion",
}


def saliency(
    estimator,
    X,
    *,
    target=None,
    method="gradient",
    output="logit",
    batch_size=None,
    **method_kwargs,
):
    """Attribute a fitted network's score for a class to each input value.

    Explains the class score of a fitted :class:`~hepclf.CNNClassifier`, or
    one predicted value of a :class:`~hepclf.CNNRegressor` (or a ``Pipeline``
    ending in either, in which case ``X`` first goes through the preceding
    transformers) with the attribution methods of Captum: plain
    gradients, integrated gradients or occlusion. The network runs in eval
    mode (no dropout, no training noise, batch normalisation with its running
    statistics), in float32, batch by batch on the device it was fitted on;
    the fitted model is left as it was (its weights, gradients and
    train/eval flags).

    Needs Captum (``pip install "hepclf[explain]"``).

    Parameters
    ----------
    estimator : CNNClassifier, CNNRegressor or Pipeline
        A fitted network, or a fitted Pipeline whose last step is one.
    X : array-like
        Samples as the estimator takes them (raw input for a Pipeline).
    target : class label, array-like of shape (n_samples,) or None, default=None
        The class whose score is explained: one label of ``classes_`` for all
        samples or one per sample (labels, e.g. ``"photon"``, as ``predict``
        returns them). ``None`` explains the predicted class of each sample.
        For a regressor: the index of the output explained (one, or one per
        sample), ``None`` for a single-output regressor; the prediction is
        explained in the units of the target (``predict``'s values).
    method : {"gradient", "integrated_gradients", "occlusion"}, default="gradient"
        ``"gradient"``: the gradient of the score with respect to the input
        (Captum's ``Saliency``; its absolute value unless ``abs=False``).
        ``"integrated_gradients"``: the gradient integrated along the straight
        path from a baseline (zeros by default) to the input, times the
        difference; the attributions of a sample add up to its score minus the
        baseline's. ``"occlusion"``: the drop of the score when a window of the
        input is replaced by the baseline, shared by the values of the window.
    output : {"logit", "proba"}, default="logit"
        Explain the module's output (the logit), or the probability that
        ``predict_proba`` returns (the net's predict nonlinearity applied).
        A regressor explains its prediction and takes ``"logit"`` only. With
        ``augment_predict=True`` the explained score is the mean over the
        flipped and turned images, as ``predict_proba`` (and ``predict``)
        computes it; for ``"logit"``, the mean of the logits.
    batch_size : int, optional
        Samples per batch; the classifier's ``batch_size`` by default.
    **method_kwargs
        Passed to the Captum method's ``attribute``: ``abs`` for
        ``"gradient"``; ``baselines``, ``n_steps`` (default 50),
        ``internal_batch_size`` (default ``batch_size``) and
        ``return_convergence_delta`` for ``"integrated_gradients"``;
        ``sliding_window_shapes``, ``strides``, ``baselines`` and
        ``perturbations_per_eval`` for ``"occlusion"``, whose window defaults
        to all channels times a square of side ``max(1, min(height, width) //
        8)`` pixels moved by half its side (one constituent or object at a
        time for sequence input).

    Returns
    -------
    attributions : ndarray of float32
        One value per network input value, with the shape of the network's
        input: ``(n_samples, n_channels, height, width)`` for images (3-D
        images get their channel axis). With ``method="integrated_gradients"``
        and ``return_convergence_delta=True``, the tuple ``(attributions,
        delta)``, ``delta`` of shape ``(n_samples,)`` being Captum's
        convergence delta (sum of attributions minus the score difference).

    Raises
    ------
    ValueError
        For an unknown ``method`` or ``target`` label, input the classifier
        does not take, and attributions that are not finite (a module that is
        not differentiable at the input, such as one taking the square root of
        a zero distance; ``"occlusion"`` needs no gradient).

    See Also
    --------
    hepclf.inspection.plot_saliency : draws an attribution over its image.
    hepclf.inspection.most_confused : the misclassified samples worth explaining.

    Notes
    -----
    The attributions are computed in float32 whatever the classifier's
    ``precision``.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf import CNNClassifier
    >>> from hepclf.inspection import saliency
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((20, 1, 8, 8)).astype("float32")
    >>> y = np.where(np.arange(20) % 2, "signal", "background")
    >>> X[y == "signal", 0, 2, 2] += 3.0
    >>> clf = CNNClassifier(
    ...     max_epochs=2, module__conv_blocks=((4,),), module__pool_size=2,
    ...     module__dense=(8,), module__dropout=0.0, random_state=0,
    ... ).fit(X, y)
    >>> saliency(clf, X[:3], target="signal").shape
    (3, 1, 8, 8)
    """
    caller = "saliency"
    if method not in METHODS:
        raise ValueError(
            f"{caller}: unknown method {method!r}; choose from {sorted(METHODS)}"
        )
    if output not in ("logit", "proba"):
        raise ValueError(f"{caller}: output must be 'logit' or 'proba', got {output!r}")
    if batch_size is not None and not (
        isinstance(batch_size, int | np.integer) and batch_size > 0
    ):
        raise ValueError(
            f"{caller}: batch_size must be a positive integer, got {batch_size!r}"
        )
    attr = import_optional("captum.attr", extra="explain")
    net, X = network_input(estimator, X, caller, regressors=True)
    regressor = isinstance(net, CNNRegressor)
    if regressor and output != "logit":
        raise ValueError(
            f"{caller}: a CNNRegressor's prediction is explained with "
            f"output='logit', got {output!r}"
        )
    if batch_size is None:  # skorch's -1: everything in one batch
        batch_size = net.batch_size if net.batch_size and net.batch_size > 0 else len(X)
    module = net.module_
    device = net.device_
    nonlinearity = net.get_predict_nonlinearity() if output == "proba" else None
    if regressor:  # the module sees standardised targets; predict's units
        scale = torch.as_tensor(net.target_scale_, dtype=torch.float32, device=device)
        shift = torch.as_tensor(net.target_mean_, dtype=torch.float32, device=device)

    symmetries = net._predict_symmetries() or [(0, ())]

    def one(x):
        out = module(x)
        if regressor:
            return out.reshape(len(out), -1) * scale + shift
        return nonlinearity(out) if nonlinearity is not None else out

    def forward(x):  # averaged as predict averages it (augment_predict=True)
        return average_over_symmetries(one, x, symmetries)

    kwargs = _default_kwargs(method, net, X, batch_size, method_kwargs)
    with_delta = method == "integrated_gradients" and kwargs.get(
        "return_convergence_delta", False
    )
    explainer = getattr(attr, METHODS[method])(forward)
    pieces, deltas = [], []
    with _eval_mode(module), torch.enable_grad():
        codes = None
        if regressor:
            codes = _output_indices(net, target, len(X), caller)
        elif target is not None:
            codes = label_codes(net, target, len(X), caller)
        for start in range(0, len(X), batch_size):
            batch = torch.as_tensor(X[start : start + batch_size]).to(device)
            if method != "occlusion":  # Captum warns when it has to ask for it
                batch.requires_grad_()
            if codes is None:
                with torch.no_grad():
                    batch_codes = forward(batch).argmax(dim=1)
            else:
                batch_codes = torch.as_tensor(codes[start : start + batch_size])
            batch_codes = batch_codes.to(device)
            result = explainer.attribute(batch, target=batch_codes, **kwargs)
            if with_delta:
                result, delta = result
                deltas.append(delta.detach().float().cpu().numpy())
            pieces.append(result.detach().float().cpu().numpy())
    attributions = np.concatenate(pieces).astype(np.float32, copy=False)
    bad = ~np.isfinite(attributions.reshape(len(attributions), -1)).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{caller}: method {method!r} gave NaN or inf attributions for sample "
            f"{int(np.argmax(bad))} ({int(bad.sum())} sample(s) in all): the "
            f"module {net.module!r} is not differentiable there (or overflows); "
            "method='occlusion' needs no gradient"
        )
    if with_delta:
        return attributions, np.concatenate(deltas)
    return attributions


def _output_indices(net, target, n_samples, caller):
    """Return the regressor's output indices to explain, one per sample."""
    n_outputs = net.n_outputs_
    if target is None:
        if n_outputs != 1:
            raise ValueError(
                f"{caller}: this CNNRegressor has {n_outputs} outputs; say which "
                "to explain with target=<output index>"
            )
        target = 0
    codes = np.asarray(target)
    if codes.ndim == 0:
        codes = np.full(n_samples, codes.item())
    if (
        codes.shape != (n_samples,)
        or not np.issubdtype(codes.dtype, np.integer)
        or (codes < 0).any()
        or (codes >= n_outputs).any()
    ):
        raise ValueError(
            f"{caller}: target must be an output index in [0, {n_outputs}) or "
            f"one per sample ({n_samples}), got {target!r}"
        )
    return codes.astype(np.int64)


def _default_kwargs(method, net, X, batch_size, method_kwargs):
    """Captum arguments: the user's, with hepclf's defaults for the rest."""
    kwargs = dict(method_kwargs)
    if method == "integrated_gradients":
        kwargs.setdefault("internal_batch_size", batch_size)
    elif method == "occlusion":
        if X.ndim == 4 and net.get_input_kind().name == "images":
            side = max(1, min(X.shape[2:]) // 8)
            step = max(1, side // 2)
            window, strides = (X.shape[1], side, side), (X.shape[1], step, step)
        else:  # sequences: one item (all its features) at a time
            window = (1,) * (X.ndim - 2) + (X.shape[-1],)
            strides = window
        if "sliding_window_shapes" not in kwargs:
            kwargs["sliding_window_shapes"] = window
            kwargs.setdefault("strides", strides)
    return kwargs


@contextlib.contextmanager
def _eval_mode(module):
    """Put every submodule in eval mode, and give each its own flag back after."""
    flags = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training
