"""``CNNClassifier``: a skorch ``NeuralNetClassifier`` for images of physics data."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import EpochScoring
from skorch.utils import is_dataset
from torch import nn

from ..utils._docstrings import fill_doc
from ._callbacks import accuracy_on_codes
from ._loader import ArrayLoader
from ._net import NetMixin

#: Fills ``%(X)s`` in the docstrings of the methods that take data.
_fill_doc = fill_doc(
    X="""X : array-like of shape (n_samples, n_channels, height, width)
    Images (3-D input is taken as single-channel); for a module of another
    input kind, what that kind takes: constituents of shape
    ``(n_samples, n_particles, 4)`` for a particle-level module."""
)


class CNNClassifier(NetMixin, NeuralNetClassifier):
    """A convolutional-network classifier for image batches, in scikit-learn style.

    A skorch ``NeuralNetClassifier`` with defaults for physics images: the
    ``module`` is a class or a registered name (``"jetcnn"``, the seed-003 top
    tagger, by default; ``"resnet"``, the seed-000 ResNet), trained with Adam on
    the cross-entropy of its logits. At ``fit`` it casts the images to float32,
    encodes arbitrary class labels (strings too) and passes ``in_channels``,
    ``image_size`` and ``n_classes``, inferred from the data, to the module
    unless set through ``module__*`` parameters, so it works unchanged behind an
    imager whose image size is being grid-searched.

    Modules that declare another input kind take that instead of images: the
    registered ``"particle_transformer"`` (``input_kind = "particles"``) takes
    jet constituents, ``(n_samples, n_particles, 4)`` four-momenta
    ``(E, px, py, pz)``, zero rows for padding, as made by
    :class:`hepclf.ConstituentSequencer`; every jet needs a constituent with
    non-zero pT. The checks and error messages follow the module's kind.

    The ``augment_*`` parameters show the network randomly flipped, rolled,
    turned, rotated, zoomed or noisy copies of the training images, drawn anew for
    every batch on the training device (seeded by ``random_state``); they
    never touch validation scoring, and, being plain parameters, can be
    tuned by ``GridSearchCV`` (``augment_noise``...). Prediction sees the
    images as they are, unless ``augment_predict=True`` averages it over the
    exact symmetries the flips and quarter turns drew from (no random draw).

    Parameters are validated at ``fit``: a bad ``precision``, ``class_weight``,
    ``channels_last``, ``checkpoint_dir``, ``device``, ``random_state`` or
    ``augment_*`` raises scikit-learn's ``InvalidParameterError`` (a
    ``ValueError``).

    Parameters
    ----------
    module : str or type of torch.nn.Module, default="jetcnn"
        The network: a registered name or a ``torch.nn.Module`` class (or an
        instance, used as given). Its arguments are set with ``module__<name>``.
    criterion : type of torch.nn.Module, default=torch.nn.CrossEntropyLoss
        The loss, applied to the module's logits.
    optimizer : type of torch.optim.Optimizer, default=torch.optim.Adam
        The optimiser; its arguments are set with ``optimizer__<name>``.
    lr : float, default=1e-3
        Learning rate.
    max_epochs : int, default=10
        Passes over the training data.
    batch_size : int, default=128
        Images per training (and prediction) batch.
    iterator_train, iterator_valid : type, default=ArrayLoader
        How training and prediction batches are drawn; ``ArrayLoader``
        slices them out of in-memory arrays (any ``DataLoader``-like class
        works, with arguments set as ``iterator_train__<name>``).
    train_split : callable or None, default=None
        How to hold out validation data during ``fit`` (e.g.
        ``skorch.dataset.ValidSplit(0.1)``); ``None`` trains on everything.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        Where to train and predict; ``"auto"`` uses CUDA when available. A model
        fitted with ``"auto"`` on a GPU loads on a CPU-only machine.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, dropout and noise (through a
        forked torch generator, so the global torch seed is left alone); runs
        with the same seed give identical models on the CPU.
    verbose : int, default=0
        1 prints skorch's table of losses per epoch.
    classes : array-like or None, default=None
        All class labels, in order; inferred from ``y`` when None.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplying the sample weights in the loss;
        ``"balanced"`` weights classes inversely to their frequency.
    precision : {"fp32", "bf16", "fp16"}, default="fp32"
        Arithmetic of the forward pass. ``"bf16"`` and ``"fp16"`` run it under
        ``torch.autocast`` (mixed precision: faster on recent GPUs, and
        ``"bf16"`` on CPUs with bfloat16 matrix units such as Intel AMX,
        slower on CPUs without them; weights stay float32); ``"fp16"`` also
        scales the loss with a ``torch.amp.GradScaler``. Probabilities are
        always returned in float32.
    channels_last : bool, default=False
        Keep the module and the input batches in the channels-last memory
        format (faster convolutions on GPUs with tensor cores, and with
        ``precision="bf16"`` on CPUs with AMX).
    checkpoint_dir : str, path or None, default=None
        Save the module, optimiser and history to this folder after every
        epoch, and make ``fit`` resume from what is there: a run that was
        killed continues with the epochs it still owes (up to ``max_epochs``
        in total) and, with a ``random_state``, ends with the same model as an
        uninterrupted run (on a GPU, to float32 rounding: cuDNN's backward
        kernels are not bitwise reproducible); ``LRScheduler`` callbacks go
        on at the rates the uninterrupted run would have used. Use a new
        folder for a new run.
    augment_flip : bool or {"horizontal", "vertical"}, default=False
        Training-time augmentation (image modules only): mirror each training
        image, with probability 1/2 about each axis (``True``), about the
        vertical axis only (``"horizontal"``, left-right) or the horizontal
        axis only (``"vertical"``). Use only flips the detector is symmetric
        under.
    augment_roll : bool or {"horizontal", "vertical"}, default=False
        Shift each training image cyclically by a random whole number of
        pixels along a periodic axis: ``"horizontal"`` along the width (the
        azimuth of ``EnergyEncoder(geometry="unrolled")`` images),
        ``"vertical"`` along the height (the azimuth of ``EventImager``
        images), ``True`` along both. For a detector symmetric about the beam,
        a roll is the event turned about the beam axis.
    augment_rot90 : bool, default=False
        Turn each training image by 0, 90, 180 or 270 degrees at random
        (square images only).
    augment_rotation : float, default=0.0
        Rotate each training image by a random angle in
        ``[-augment_rotation, augment_rotation]`` degrees (bilinear, zero
        outside the image).
    augment_zoom : float, default=0.0
        Zoom each training image about its centre by a random factor in
        ``[1 - augment_zoom, 1 + augment_zoom]``.
    augment_noise : float, default=0.0
        Add Gaussian noise of this standard deviation, in pixel units, to
        every training pixel (the seed-003 input noise; ``JetCNN``'s
        ``module__noise_std`` adds it after the input normalisation instead).
    augment_predict : bool, default=False
        Average ``predict_proba`` over every exact symmetry that
        ``augment_flip`` and ``augment_rot90`` draw from: the probabilities of
        each image under the eight symmetries of the square when quarter turns
        and any flip are on, the four combinations of the two mirrors for
        ``augment_flip=True`` alone, the four quarter turns for
        ``augment_rot90=True`` alone, two images for one mirror. The average
        is exactly invariant under these transformations and costs one
        forward pass per image averaged. Random rolls, rotations, zooms and
        noise are not averaged. It can be set after ``fit`` (``set_params``);
        validation scores during ``fit`` are never averaged. Needs
        ``augment_flip`` or ``augment_rot90``.

        .. versionadded:: 0.2
    **kwargs
        Any other skorch ``NeuralNet`` parameter: ``callbacks``,
        ``iterator_train__*``, ``module__*``, ``optimizer__*``, ``warm_start``,
        ``compile``...

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    n_channels_ : int
        Channels of the training images (features per constituent, 4, for a
        particle-level module).
    image_shape_ : tuple of int
        ``(height, width)`` of the training images (``(n_particles,)`` of the
        training sequences for a particle-level module).
    module_ : torch.nn.Module
        The trained network.
    history_ : skorch.history.History
        Losses and timings per epoch and batch.
    device_ : torch.device
        Where the network's parameters are.

    See Also
    --------
    hepclf.CNNRegressor : the regression counterpart, with the same machinery.
    hepclf.JetImager : makes jet images for this classifier.
    hepclf.models.JetCNN, hepclf.models.ResNet : the registered image modules.
    hepclf.models.ParticleTransformer : the registered particle-level module.
    """

    _parameter_constraints: ClassVar[dict] = {
        **NetMixin._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "classes": ["array-like", None],
    }

    def __init__(
        self,
        module="jetcnn",
        *,
        criterion=nn.CrossEntropyLoss,
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
        classes=None,
        class_weight=None,
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
            classes=classes,
            **kwargs,
        )
        self.random_state = random_state
        self.class_weight = class_weight
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

    @property
    def _default_callbacks(self):
        callbacks = dict(super()._default_callbacks)
        callbacks["valid_acc"] = EpochScoring(
            accuracy_on_codes,
            name="valid_acc",
            lower_is_better=False,
            use_caching=False,
        )
        return list(callbacks.items())

    def _inferred_module_params(self):
        return {**super()._inferred_module_params(), "n_classes": len(self.classes_)}

    # -- labels -------------------------------------------------------------------------
    def _encode_labels(self, y, n_samples, reset):
        name = type(self).__name__
        if y is None:
            raise ValueError(f"{name}: y is required")
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim != 1:
            raise ValueError(
                f"{name}: y must be 1-D (one label per sample), got shape {y.shape}"
            )
        if len(y) != n_samples:
            raise ValueError(f"{name}: X has {n_samples} samples but y has {len(y)}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{name}: y contains NaN or inf")
        if reset:
            classes = np.unique(y) if self.classes is None else np.asarray(self.classes)
            if len(classes) < 2:
                raise ValueError(
                    f"{name}: y has a single class ({classes!r}); at least two are needed"
                )
            self.classes_inferred_ = classes
        classes = self.classes_
        codes = np.searchsorted(classes, y) if _is_sorted(classes) else None
        if codes is None:
            lookup = {c: i for i, c in enumerate(classes.tolist())}
            codes = np.array([lookup.get(v, -1) for v in y.tolist()])
        codes = np.clip(codes, 0, len(classes) - 1)
        unknown = classes[codes] != y
        if unknown.any():
            raise ValueError(
                f"{name}: y contains labels not among the classes {classes.tolist()}: "
                f"{np.unique(y[unknown]).tolist()}"
            )
        return codes.astype(np.int64)

    def check_data(self, X, y):
        """Labels are checked and encoded in ``fit``; nothing to do here."""

    # -- the sklearn API ----------------------------------------------------------------
    @_fill_doc
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the network on images ``X`` with labels ``y``.

        Parameters
        ----------
        %(X)s
        y : array-like of shape (n_samples,)
            Class labels of any type.
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample (e.g. Monte Carlo event) weights; the loss of a batch is
            the mean of weight times loss, with weights rescaled to mean one.
            Negative weights are allowed as long as their sum is positive.
        **fit_params
            Passed to skorch's ``fit``.

        Returns
        -------
        self : CNNClassifier
            The trained classifier.
        """
        return self._fit(X, y, sample_weight, fit_params)

    @_fill_doc
    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for one more ``max_epochs`` round, keeping the current weights.

        Parameters
        ----------
        %(X)s
        y : array-like of shape (n_samples,)
            Class labels.
        classes : ignored
            Set the ``classes`` parameter instead.
        sample_weight : array-like of shape (n_samples,), optional
            Per-sample weights, as in ``fit``.
        **fit_params
            Passed to skorch's ``partial_fit``.

        Returns
        -------
        self : CNNClassifier
            The trained classifier.
        """
        return self._partial_fit(X, y, sample_weight, fit_params)

    def _prepare(self, X, y, sample_weight, reset):
        """Check and encode the training data; ``(X or {"X", "sample_weight"}, codes)``."""
        X = self._check_input(X, reset=reset)
        codes = self._encode_labels(y, len(X), reset=reset)
        weight = self._sample_weight(sample_weight, codes)
        if weight is None:
            return X, codes
        return {"X": X, "sample_weight": weight}, codes

    def _sample_weight(self, sample_weight, codes):
        name = type(self).__name__
        n_classes = len(self.classes_)
        weight = self._check_sample_weight(sample_weight, len(codes))
        if self.class_weight is not None:
            if isinstance(self.class_weight, str):  # "balanced"
                counts = np.bincount(codes, minlength=n_classes).astype(np.float64)
                per_class = len(codes) / (n_classes * np.maximum(counts, 1))
            else:
                unknown = set(self.class_weight) - set(self.classes_.tolist())
                if unknown:
                    raise ValueError(
                        f"{name}: class_weight has unknown classes {sorted(unknown)}"
                    )
                per_class = np.array(
                    [self.class_weight.get(c, 1.0) for c in self.classes_.tolist()]
                )
            weight = per_class[codes] * (1.0 if weight is None else weight)
        return None if weight is None else self._normalise_weight(weight)

    @_fill_doc
    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
            Columns follow ``classes_``; rows sum to one. With
            ``augment_predict=True``, the mean over the images' symmetries.
        """
        check_is_fitted(self)
        if isinstance(X, dict) and "sample_weight" in X:  # weighted validation data
            X = X["X"]
        if not is_dataset(X):  # skorch's validation callbacks pass a Dataset
            X = self._check_input(X, reset=False)
        with self._averaging():
            return super().predict_proba(X)

    @_fill_doc
    def predict(self, X):
        """Return the most probable class label of each sample.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)  # checks fitted first
        return self.classes_[proba.argmax(axis=1)]

    def __sklearn_is_fitted__(self):
        return bool(self.initialized_) and hasattr(self, "classes_inferred_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = self.random_state is None
        return tags


def _is_sorted(classes):
    try:
        return bool(np.all(classes[:-1] < classes[1:]))
    except TypeError:
        return False
