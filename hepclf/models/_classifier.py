"""``CNNClassifier``: a skorch ``NeuralNetClassifier`` for images of physics data."""

from __future__ import annotations

import contextlib
import inspect
import numbers
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback, Checkpoint, EpochScoring, LoadInitState
from skorch.dataset import Dataset
from skorch.utils import is_dataset, to_tensor
from torch import nn
from torch.utils.data import DataLoader, Subset

from ..utils._validation import check_constituents
from ._modules import get_module


def _as_tensor(array):
    """Share memory with a NumPy array (read-only arrays are never written to)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="The given NumPy array is not writable"
        )
        return torch.as_tensor(array)


def _map(X, fn):
    """Apply ``fn`` to a tensor or to every tensor of a dict of tensors."""
    return {k: fn(v) for k, v in X.items()} if isinstance(X, dict) else fn(X)


class ArrayLoader:
    """Mini-batches sliced straight out of in-memory arrays.

    A drop-in replacement for ``torch.utils.data.DataLoader`` for skorch's
    ``Dataset`` holding NumPy arrays (and ``Subset`` of it, as made by
    ``ValidSplit``): each batch is one fancy-indexing of the whole array, not
    ``batch_size`` calls to ``__getitem__`` plus a collate. Any other dataset is
    handed to a ``DataLoader`` with the same arguments.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch Dataset
        The data.
    batch_size : int, default=128
        Samples per batch.
    shuffle : bool, default=False
        Draw a new random order (from torch's global generator) every epoch.
    drop_last : bool, default=False
        Skip the last, smaller batch.
    pin_memory : bool, default=False
        Return batches in page-locked memory (faster host-to-GPU copies).
    **kwargs
        Passed to ``DataLoader`` when the dataset is not array-backed.
    """

    def __init__(
        self,
        dataset,
        batch_size=128,
        shuffle=False,
        drop_last=False,
        pin_memory=False,
        **kwargs,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.pin_memory = pin_memory
        self.kwargs = kwargs
        indices = None
        base = dataset
        if isinstance(dataset, Subset):
            base, indices = dataset.dataset, np.asarray(dataset.indices)
        self._arrays = None
        X = base.X if type(base) is Dataset else None
        arrays = X.values() if isinstance(X, dict) else [X]
        if all(isinstance(a, np.ndarray) for a in arrays) and (
            base.y is None or isinstance(base.y, np.ndarray)
        ):
            X = (
                {k: _as_tensor(v) for k, v in X.items()}
                if isinstance(X, dict)
                else _as_tensor(X)
            )
            y = None if base.y is None else _as_tensor(base.y)
            self._arrays = (X, y, None if indices is None else torch.as_tensor(indices))

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        if self._arrays is None:
            yield from DataLoader(
                self.dataset,
                batch_size=self.batch_size,
                shuffle=self.shuffle,
                drop_last=self.drop_last,
                pin_memory=self.pin_memory,
                **self.kwargs,
            )
            return
        X, y, indices = self._arrays
        n = len(self.dataset)
        order = torch.randperm(n) if self.shuffle else None
        if indices is not None:
            order = indices if order is None else indices[order]
        stop = n - n % self.batch_size if self.drop_last else n
        for start in range(0, stop, self.batch_size):
            if order is None:
                idx = slice(start, start + self.batch_size)
            else:
                idx = order[start : start + self.batch_size]
            if isinstance(X, dict):
                Xb = {k: v[idx] for k, v in X.items()}
                n_batch = len(next(iter(Xb.values())))
            else:
                Xb = X[idx]
                n_batch = len(Xb)
            yb = torch.zeros(n_batch) if y is None else y[idx]
            if self.pin_memory:
                Xb = _map(Xb, torch.Tensor.pin_memory)
                yb = yb.pin_memory()
            yield Xb, yb


def _accuracy_on_codes(net, X, y):
    """Validation accuracy against the encoded labels skorch holds during fit."""
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == np.asarray(y)))


class EpochSeed(Callback):
    """Reseed torch at every epoch from the net's seed and the epoch number.

    Each epoch's shuffling, dropout and noise then depend on (seed, epoch)
    alone, so a run resumed from a checkpoint repeats the epochs it missed
    exactly as an uninterrupted run would have.
    """

    def on_epoch_begin(self, net, **kwargs):
        seed = getattr(net, "random_seed_", None)
        if seed is not None:
            state = np.random.SeedSequence([seed, len(net.history)]).generate_state(1)
            torch.manual_seed(int(state[0]))


class CNNClassifier(NeuralNetClassifier):
    """A convolutional-network classifier for image batches, in scikit-learn style.

    A skorch ``NeuralNetClassifier`` with defaults for physics images: the
    ``module`` is a class or a registered name (``"jetcnn"``, the seed-003 top
    tagger, by default; ``"resnet"``, the seed-000 ResNet), trained with Adam on
    the cross-entropy of its logits. At ``fit`` it casts the images to float32,
    encodes arbitrary class labels (strings too) and passes ``in_channels``,
    ``image_size`` and ``n_classes``, inferred from the data, to the module
    unless set through ``module__*`` parameters, so it works unchanged behind an
    imager whose image size is being grid-searched.

    Modules that declare ``input_kind = "particles"`` (the registered
    ``"particle_transformer"``) take jet constituents instead of images:
    ``(n_samples, n_particles, 4)`` four-momenta ``(E, px, py, pz)``, zero rows
    for padding, as made by :class:`hepclf.ConstituentSequencer`; every jet
    needs a constituent with non-zero pT.

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
        ``torch.autocast`` (mixed precision: faster on recent GPUs, weights
        stay float32); ``"fp16"`` also scales the loss with a
        ``torch.amp.GradScaler``. Probabilities are always returned in float32.
    channels_last : bool, default=False
        Keep the module and the input batches in the channels-last memory
        format (faster convolutions on GPUs with tensor cores).
    checkpoint_dir : str, path or None, default=None
        Save the module, optimiser and history to this folder after every
        epoch, and make ``fit`` resume from what is there: a run that was
        killed continues with the epochs it still owes (up to ``max_epochs``
        in total) and, with a ``random_state``, ends with the same model as an
        uninterrupted run (on a GPU, to float32 rounding: cuDNN's backward
        kernels are not bitwise reproducible). Use a new folder for a new run.
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
    hepclf.JetImager : makes jet images for this classifier.
    hepclf.models.JetCNN, hepclf.models.ResNet : the registered image modules.
    hepclf.models.ParticleTransformer : the registered particle-level module.
    """

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

    def _get_param_names(self):
        # skorch lists every public attribute without a trailing underscore,
        # which includes its private ``_params_to_validate``
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    @property
    def _default_callbacks(self):
        callbacks = dict(super()._default_callbacks)
        callbacks["valid_acc"] = EpochScoring(
            _accuracy_on_codes,
            name="valid_acc",
            lower_is_better=False,
            use_caching=False,
        )
        callbacks["epoch_seed"] = EpochSeed()
        if self.checkpoint_dir is not None:
            checkpoint = Checkpoint(monitor=None, dirname=str(self.checkpoint_dir))
            callbacks["checkpoint"] = checkpoint
            callbacks["load_checkpoint"] = LoadInitState(checkpoint)
        return list(callbacks.items())

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """Run the epochs; with ``checkpoint_dir``, only those still owed."""
        if epochs is None and self.checkpoint_dir is not None:
            epochs = max(self.max_epochs - len(self.history), 0)
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    # -- device "auto" ---------------------------------------------------------------
    @staticmethod
    def _auto_device():
        return "cuda" if torch.cuda.is_available() else "cpu"

    @contextlib.contextmanager
    def _on_device(self):
        """Resolve ``device="auto"`` for skorch while a call runs, then restore it."""
        if self.device != "auto":
            yield
            return
        self.device = self._auto_device()
        try:
            yield
        finally:
            self.device = "auto"

    @property
    def device_(self):
        """The torch device of the fitted module's parameters."""
        self.check_is_fitted()
        return next(self.module_.parameters()).device

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("grad_scaler_", None)  # rebuilt on demand
        return state

    def __setstate__(self, state):
        auto = state.get("device") == "auto"
        if auto:
            state["device"] = self._auto_device()
        super().__setstate__(state)
        if auto:
            self.device = "auto"

    def _draw_seed(self):
        if self.random_state is None:
            return None
        if isinstance(self.random_state, numbers.Integral):
            return int(self.random_state)
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    @contextlib.contextmanager
    def _seeded(self):
        """Fork torch's random generators and seed them with ``random_seed_``."""
        if not hasattr(self, "random_seed_"):
            self.random_seed_ = self._draw_seed()
        if self.random_seed_ is None:
            yield
            return
        devices = (
            list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        )
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.random_seed_)
            yield

    # -- input checks -----------------------------------------------------------------
    def _input_kind(self):
        """``"particles"`` for modules that declare it, else ``"images"``."""
        return getattr(self._module_class(), "input_kind", "images")

    def _module_class(self):
        """The module class (or instance) that ``module`` names."""
        return get_module(self.module) if isinstance(self.module, str) else self.module

    def _check_images(self, X, reset):
        name = type(self).__name__
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(
                f"{name}: could not convert X to an array ({exc})"
            ) from exc
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
            raise ValueError(f"{name}: X must be numeric, got dtype {X.dtype}")
        particles = self._input_kind() == "particles"
        if particles:
            if X.ndim != 3 or X.shape[-1] != 4:
                raise ValueError(
                    f"{name}: the module {self.module!r} takes jet constituents of "
                    "shape (n_samples, n_particles, 4) (E, px, py, pz), got shape "
                    f"{X.shape}; put a ConstituentSequencer before the classifier"
                )
        else:
            if X.ndim == 3:
                X = X[:, np.newaxis]
            if X.ndim != 4:
                raise ValueError(
                    f"{name}: expected images of shape (n_samples, n_channels, height, "
                    f"width) or (n_samples, height, width), got shape {X.shape}; put an "
                    "imager (e.g. JetImager) before the classifier"
                )
        if len(X) == 0:
            raise ValueError(f"{name}: X is empty (0 samples)")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if not np.isfinite(X).all():
            raise ValueError(
                f"{name}: X contains NaN or inf (or values too large for float32)"
            )
        if particles:
            # padding rows are all zero; real constituents need E >= 0
            empty = ~check_constituents(X, "epxpypz", name=name).any(axis=1)
            if empty.any():
                raise ValueError(
                    f"{name}: jet {int(np.argmax(empty))} has no constituent with "
                    f"non-zero pT ({int(empty.sum())} empty jet(s) in all)"
                )
        if reset:
            self.n_channels_ = X.shape[-1] if particles else X.shape[1]
            self.image_shape_ = (
                tuple(X.shape[1:-1]) if particles else tuple(X.shape[2:])
            )
        elif particles:
            if X.shape[-1] != self.n_channels_:
                raise ValueError(
                    f"{name}: X has {X.shape[-1]} features per constituent but the "
                    f"classifier was fitted on {self.n_channels_}"
                )
        elif (X.shape[1], *X.shape[2:]) != (self.n_channels_, *self.image_shape_):
            raise ValueError(
                f"{name}: X has images of {X.shape[1]} channel(s) x {X.shape[2:]} but the "
                f"classifier was fitted on {self.n_channels_} channel(s) x {self.image_shape_}"
            )
        return X

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

    # -- module construction ----------------------------------------------------------
    def initialize_module(self):
        """Build ``module_``, filling in the image shape and classes seen at fit."""
        kwargs = self.get_params_for("module")
        module = self._module_class()
        if isinstance(module, type) and hasattr(self, "n_channels_"):
            accepted = inspect.signature(module).parameters
            inferred = {
                "in_channels": self.n_channels_,
                "image_size": self.image_shape_,
                "n_classes": len(self.classes_),
            }
            for key, value in inferred.items():
                if key in accepted and key not in kwargs:
                    kwargs[key] = value
        self.module_ = self.initialized_instance(module, kwargs)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    # -- the sklearn API ----------------------------------------------------------------
    def initialize(self):
        """Initialise the module, criterion, optimiser and callbacks."""
        with self._on_device(), self._seeded():
            return super().initialize()

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Train the network on images ``X`` with labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
            Images (3-D input is taken as single-channel); for a particle-level
            module, constituents of shape ``(n_samples, n_particles, 4)``.
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
        reset = not (self.warm_start and self.initialized_)
        X = self._prepare(X, y, sample_weight, reset)
        if reset:
            self.random_seed_ = self._draw_seed()
        with self._on_device(), self._seeded():
            super().fit(*X, **fit_params)
        return self

    def partial_fit(self, X, y=None, classes=None, sample_weight=None, **fit_params):
        """Train for one more ``max_epochs`` round, keeping the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
            Images; for a particle-level module, constituents of shape
            ``(n_samples, n_particles, 4)``.
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
        if fit_params.get("_routing_method") == "fit":  # called by fit(): X is prepared
            data = (X, y)
        else:
            data = self._prepare(X, y, sample_weight, reset=not self.initialized_)
        with self._on_device(), self._seeded():
            super().partial_fit(*data, **fit_params)
        return self

    def _prepare(self, X, y, sample_weight, reset):
        """Check and encode the training data; ``(X or {"X", "sample_weight"}, codes)``."""
        X = self._check_images(X, reset=reset)
        codes = self._encode_labels(y, len(X), reset=reset)
        weight = self._sample_weight(sample_weight, codes)
        if weight is None:
            return X, codes
        return {"X": X, "sample_weight": weight}, codes

    def _sample_weight(self, sample_weight, codes):
        name = type(self).__name__
        n_classes = len(self.classes_)
        weight = None
        if sample_weight is not None:
            weight = np.asarray(sample_weight, dtype=np.float64)
            if weight.ndim != 1 or len(weight) != len(codes):
                raise ValueError(
                    f"{name}: sample_weight must have shape ({len(codes)},), got {weight.shape}"
                )
            if not np.isfinite(weight).all():
                raise ValueError(f"{name}: sample_weight contains NaN or inf")
        if self.class_weight is not None:
            if isinstance(self.class_weight, str):
                if self.class_weight != "balanced":
                    raise ValueError(
                        f"{name}: class_weight must be 'balanced', a dict or None, "
                        f"got {self.class_weight!r}"
                    )
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
        if weight is None:
            return None
        if weight.mean() <= 0:
            raise ValueError(f"{name}: the sample weights must have a positive sum")
        return (weight / weight.mean()).astype(np.float32)

    def _autocast_dtype(self):
        dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
        if self.precision not in dtypes:
            raise ValueError(
                f"{type(self).__name__}: precision must be one of {sorted(dtypes)}, "
                f"got {self.precision!r}"
            )
        return dtypes[self.precision]

    def infer(self, x, **fit_params):
        """Run the module on one batch (the sample weights are not passed to it).

        Batches are copied to the device without blocking (from pinned memory on
        CUDA), converted to channels-last if asked, and run under autocast for
        ``precision="bf16"``/``"fp16"``; the logits are returned in float32.
        """
        if isinstance(x, dict) and "sample_weight" in x:
            x = x["X"]
        with self._on_device():
            # device=None (as with Accelerate): batches stay where they are
            device = None if self.device is None else torch.device(self.device)
            x = to_tensor(x, device=None)
            if isinstance(x, torch.Tensor):
                if device is not None:
                    x = x.to(device, non_blocking=True)
                if self.channels_last and x.ndim == 4:
                    x = x.contiguous(memory_format=torch.channels_last)
            dtype = self._autocast_dtype()
            if dtype is None:
                return super().infer(x, **fit_params)
            device_type = device.type if device is not None else x.device.type
            with torch.autocast(device_type=device_type, dtype=dtype):
                out = super().infer(x, **fit_params)
            return out.float()

    def get_iterator(self, dataset, training=False):
        """Batches of the data; pinned host memory when training on CUDA."""
        iterator = super().get_iterator(dataset, training=training)
        if isinstance(iterator, ArrayLoader) and str(self.device).startswith("cuda"):
            prefix = "iterator_train" if training else "iterator_valid"
            iterator.pin_memory = self.get_params_for(prefix).get("pin_memory", True)
        return iterator

    def train_step_single(self, batch, **fit_params):
        """Forward and backward pass of one batch, with loss scaling for fp16."""
        if self.precision != "fp16":
            return super().train_step_single(batch, **fit_params)
        self._set_training(True)
        Xi, yi = batch
        y_pred = self.infer(Xi, **fit_params)
        loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self._grad_scaler().scale(loss).backward()
        return {"loss": loss, "y_pred": y_pred}

    def _step_optimizer(self, step_fn):
        if self.precision != "fp16":
            return super()._step_optimizer(step_fn)
        step_fn()  # the scaler cannot pass a closure to the optimisers
        scaler = self._grad_scaler()
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()
        return None

    def _grad_scaler(self):
        if getattr(self, "grad_scaler_", None) is None:
            self.grad_scaler_ = torch.amp.GradScaler(torch.device(self.device).type)
        return self.grad_scaler_

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion on a batch; weighted by ``X["sample_weight"]`` when present."""
        if not (isinstance(X, dict) and "sample_weight" in X):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        criterion = self.criterion_
        reduction, criterion.reduction = criterion.reduction, "none"
        try:
            loss = super().get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = reduction
        weight = X["sample_weight"].to(loss.device)
        return (loss * weight).mean()

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's outputs batch by batch (see skorch)."""
        with self._on_device():
            yield from super().forward_iter(X, training=training, device=device)

    def load_params(self, *args, **kwargs):
        """Load module/optimiser/history state saved with ``save_params`` (see skorch)."""
        with self._on_device():
            return super().load_params(*args, **kwargs)

    def predict_proba(self, X):
        """Return class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
            Images; for a particle-level module, constituents of shape
            ``(n_samples, n_particles, 4)``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
            Columns follow ``classes_``; rows sum to one.
        """
        check_is_fitted(self)
        if isinstance(X, dict) and "sample_weight" in X:  # weighted validation data
            X = X["X"]
        if not is_dataset(X):  # skorch's validation callbacks pass a Dataset
            X = self._check_images(X, reset=False)
        return super().predict_proba(X)

    def predict(self, X):
        """Return the most probable class label of each sample.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
            Images; for a particle-level module, constituents of shape
            ``(n_samples, n_particles, 4)``.

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
