"""``CNNRegressor``: a skorch ``NeuralNetRegressor`` for images of physics data."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._available_if import available_if
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetRegressor
from skorch.utils import is_dataset
from torch import nn

from ..utils._docstrings import fill_doc
from ._loader import ArrayLoader
from ._net import NetMixin

#: Fills ``%(X)s`` in the docstrings of the methods that take data.
_fill_doc = fill_doc(
    X="""X : array-like of shape (n_samples, n_channels, height, width)
    Images (3-D input is taken as single-channel); for a module of another
    input kind, what that kind takes."""
)


class CNNRegressor(NetMixin, NeuralNetRegressor):
    """A convolutional-network regressor for image batches, in scikit-learn style.

    The regression counterpart of :class:`hepclf.CNNClassifier`, with the same
    machinery: the ``module`` is a class or a registered name (``"jetcnn"`` by
    default, ``"resnet"``...), trained with Adam on the mean squared error of
    its outputs; ``in_channels`` and ``image_size`` are inferred from the
    images at ``fit``, as are the number of outputs, from ``y``: one output
    for 1-D ``y`` (and 1-D predictions), ``y.shape[1]`` for 2-D ``y``
    (multi-output regression, e.g. the three momentum components).

    hepclf's modules name their output count ``n_classes``; the regressor
    passes its ``n_outputs_`` there (unless ``module__n_classes`` is set), so
    every registered module serves for classification and regression alike,
    and a module of your own needs an ``n_classes`` argument for it to be
    inferred.

    With ``standardize_target=True`` (the default) the network learns the
    targets shifted to mean zero and scaled to unit variance (per output, over
    the training targets), which makes the learning rate independent of the
    targets' units (MeV or GeV); ``predict`` undoes it, so predictions are in
    the units of ``y``, and the loss in ``history_`` is in standardised units.

    Parameters are validated at ``fit``: a bad ``precision``,
    ``channels_last``, ``checkpoint_dir``, ``device``, ``random_state``,
    ``standardize_target`` or ``augment_*`` raises scikit-learn's
    ``InvalidParameterError`` (a ``ValueError``).

    Parameters
    ----------
    module : str or type of torch.nn.Module, default="jetcnn"
        The network: a registered name or a ``torch.nn.Module`` class (or an
        instance, used as given). Its arguments are set with ``module__<name>``.
    criterion : type of torch.nn.Module, default=torch.nn.MSELoss
        The loss, between the module's outputs and the (standardised) targets.
    optimizer : type of torch.optim.Optimizer, default=torch.optim.Adam
        The optimiser; its arguments are set with ``optimizer__<name>``.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=10
        Passes over the training data.
    batch_size : int, default=128
        Images per training (and prediction) batch.
    iterator_train, iterator_valid : type, default=ArrayLoader
        How training and prediction batches are drawn (as for
        ``CNNClassifier``).
    train_split : callable or None, default=None
        How to hold out validation data during ``fit`` (e.g.
        ``skorch.dataset.ValidSplit(0.1)``); ``None`` trains on everything.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        Where to train and predict; ``"auto"`` uses CUDA when available.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout, augmentation and
        noise (through a forked torch generator); runs with the same seed
        give identical models on the CPU.
    verbose : int, default=0
        1 prints skorch's table of losses per epoch.
    standardize_target : bool, default=True
        Train on standardised targets and return predictions in the units of
        ``y`` (see above). ``False`` trains on ``y`` as it is.
    precision : {"fp32", "bf16", "fp16"}, default="fp32"
        Arithmetic of the forward pass, as for ``CNNClassifier``.
    channels_last : bool, default=False
        Channels-last memory format for the module and the batches, as for
        ``CNNClassifier``.
    checkpoint_dir : str, path or None, default=None
        Save the module, optimiser and history after every epoch and resume
        from them, as for ``CNNClassifier``.
    augment_flip, augment_roll, augment_rot90, augment_rotation, augment_zoom, augment_noise
        Training-time augmentation of the images, as for ``CNNClassifier``
        (defaults: off). Use only transformations the target is invariant
        under: a flip changes the sign of a momentum component.
    augment_predict : bool, default=False
        Average ``predict`` over every exact symmetry that ``augment_flip``
        and ``augment_rot90`` draw from, as for ``CNNClassifier``.

        .. versionadded:: 0.2
    **kwargs
        Any other skorch ``NeuralNet`` parameter: ``callbacks``,
        ``iterator_train__*``, ``module__*``, ``optimizer__*``, ``warm_start``,
        ``compile``...

    Attributes
    ----------
    n_outputs_ : int
        Number of targets (network outputs).
    target_ndim_ : int
        Dimensions of the training ``y`` (1 or 2): ``predict`` returns the same.
    target_mean_, target_scale_ : ndarray of shape (n_outputs,)
        The standardisation of the targets (zeros and ones without
        ``standardize_target``).
    n_channels_ : int
        Channels of the training images.
    image_shape_ : tuple of int
        ``(height, width)`` of the training images.
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch.history.History
        Losses and timings per epoch and batch.
    device_ : torch.device
        Where the network's parameters are.

    See Also
    --------
    hepclf.CNNClassifier : the classifier with the same machinery.
    hepclf.models.JetCNN, hepclf.models.ResNet : the registered image modules.

    Notes
    -----
    :func:`hepclf.export.export_onnx` exports a fitted regressor, bare or
    after an imager with an ONNX translation, to a graph whose output
    ``"predictions"`` is ``predict`` (two-dimensional, in the target's units).
    """

    _parameter_constraints: ClassVar[dict] = {
        **NetMixin._parameter_constraints,
        "standardize_target": ["boolean"],
    }

    def __init__(
        self,
        module="jetcnn",
        *,
        criterion=nn.MSELoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=10,
        batch_size=128,
        iterator_train=ArrayLoader,
        iterator_valid=ArrayLoader,
        train_split=None,
        device="auto",
        random_state=None,
        verbose=0,
        standardize_target=True,
        precision="fp32",
        channels_last=False,
        checkpoint_dir=None,
        augment_flip=False,
        augment_roll=False,
        augment_rot90=False,
        augment_rotation=0.0,
        augment_zoom=0.0,
        augment_noise=0.0,
        augment_predict=False,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.random_state = random_state
        self.standardize_target = standardize_target
        self.precision = precision
        self.channels_last = channels_last
        self.checkpoint_dir = checkpoint_dir
        self.augment_flip = augment_flip
        self.augment_roll = augment_roll
        self.augment_rot90 = augment_rot90
        self.augment_rotation = augment_rotation
        self.augment_zoom = augment_zoom
        self.augment_noise = augment_noise
        self.augment_predict = augment_predict

    def _inferred_module_params(self):
        # the modules call their output count n_classes
        return {**super()._inferred_module_params(), "n_classes": self.n_outputs_}

    # -- targets ------------------------------------------------------------------------
    def _encode_targets(self, y, n_samples, reset):
        """Return ``y`` as float32 ``(n_samples, n_outputs_)``, standardised if asked."""
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name}: y is required")
        if isinstance(y, torch.Tensor):
            y = y.detach().cpu().numpy()
        y = np.asarray(y)
        if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
            raise ValueError(f"{name}: y must be numeric, got dtype {y.dtype}")
        if y.ndim not in (1, 2):
            raise ValueError(
                f"{name}: y must be 1-D (one target per sample) or 2-D "
                f"(n_samples, n_outputs), got shape {y.shape}"
            )
        if len(y) != n_samples:
            raise ValueError(f"{name}: X has {n_samples} samples but y has {len(y)}")
        targets = y.astype(np.float64).reshape(n_samples, -1)
        if targets.shape[1] == 0:
            raise ValueError(f"{name}: y has no outputs (shape {y.shape})")
        bad = ~np.isfinite(targets).all(axis=1)
        if bad.any():
            raise ValueError(
                f"{name}: y contains NaN or inf (sample {int(np.argmax(bad))}; "
                f"{int(bad.sum())} sample(s) in all)"
            )
        if reset:
            self.n_outputs_ = targets.shape[1]
            self.target_ndim_ = y.ndim
            if self.standardize_target:
                scale = targets.std(axis=0)
                self.target_mean_ = targets.mean(axis=0)
                self.target_scale_ = np.where(scale > 0, scale, 1.0)
            else:
                self.target_mean_ = np.zeros(self.n_outputs_)
                self.target_scale_ = np.ones(self.n_outputs_)
        elif targets.shape[1] != self.n_outputs_:
            raise ValueError(
                f"{name}: y has {targets.shape[1]} output(s) but the regressor was "
                f"fitted on {self.n_outputs_}"
            )
        return ((targets - self.target_mean_) / self.target_scale_).astype(np.float32)

    def check_data(self, X, y):
        """Targets are checked and encoded in ``fit``; nothing to do here."""

    def _prepare(self, X, y, sample_weight, reset):
        """Check and encode the training data; ``(X or {"X", "sample_weight"}, targets)``."""
        X = self._check_input(X, reset=reset)
        targets = self._encode_targets(y, len(X), reset=reset)
        weight = self._check_sample_weight(sample_weight, len(X))
        if weight is None:
            return X, targets
        return {"X": X, "sample_weight": self._normalise_weight(weight)}, targets

    # -- the sklearn API ----------------------------------------------------------------
    @_fill_doc
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the network on images ``X`` with targets ``y``.

        Parameters
        ----------
        %(X)s
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets.
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights; the loss of a batch is the mean of weight
            times squared error, with weights rescaled to mean one.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self : CNNRegressor
            The trained regressor.
        """
        return self._fit(X, y, sample_weight, fit_params)

    @_fill_doc
    def partial_fit(self, X, y=None, sample_weight=None, **fit_params):
        """Train for one more ``max_epochs`` round, keeping the current weights.

        Parameters
        ----------
        %(X)s
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Real-valued targets (standardised as in the first ``fit``).
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights, as in ``fit``.
        **fit_params
            Passed to skorch's ``partial_fit``.

        Returns
        -------
        self : CNNRegressor
            The trained regressor.
        """
        return self._partial_fit(X, y, sample_weight, fit_params)

    @_fill_doc
    def predict(self, X):
        """Return the predicted targets, in the units of the training ``y``.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
            1-D when the regressor was fitted on 1-D ``y``.
        """
        check_is_fitted(self)
        if isinstance(X, dict) and "sample_weight" in X:  # weighted validation data
            X = X["X"]
        if not is_dataset(X):
            X = self._check_input(X, reset=False)
        with self._averaging():
            out = NeuralNetRegressor.predict_proba(self, X)
        out = np.asarray(out, dtype=np.float64)
        out = out.reshape(len(out), -1) * self.target_scale_ + self.target_mean_
        return out.ravel() if self.target_ndim_ == 1 else out

    @available_if(lambda self: False)
    def predict_proba(self, X):
        """Not available: a regressor has no class probabilities (use ``predict``).

        skorch's ``NeuralNet`` has a ``predict_proba`` that returns the raw
        network output; it is hidden here (``hasattr`` is False), since that
        output is in standardised units and scikit-learn takes the method's
        presence to mean a classifier.

        Parameters
        ----------
        X : array-like
            Ignored.

        Raises
        ------
        AttributeError
            Always.
        """
        raise AttributeError("CNNRegressor has no predict_proba; use predict")

    def __sklearn_is_fitted__(self):
        return bool(self.initialized_) and hasattr(self, "n_outputs_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.target_tags.multi_output = True
        tags.non_deterministic = self.random_state is None
        return tags
