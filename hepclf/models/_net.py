"""The machinery hepclf's skorch networks share, whatever their task or input.

``NetMixin`` goes before a skorch ``NeuralNet`` subclass (``CNNClassifier``;
``CNNRegressor``): the module by registered name, ``device="auto"``,
``random_state`` through forked torch generators, mixed precision, channels-last
batches, pinned memory, checkpoints with resumption, sample weights in the loss,
input checks by the module's input kind (:mod:`hepclf.models._inputs`), the
``fit``/``partial_fit`` sequence, training-only augmentation of image
batches (the ``augment_*`` parameters, :mod:`hepclf.models._augment`), and
predictions averaged over the images' exact symmetries (``augment_predict``).
Its ``_parameter_constraints`` cover every parameter it adds to skorch; skorch's
own ``_validate_params`` (argument names) shadows scikit-learn's, so
:meth:`NetMixin._check_params` validates the constraints at ``fit``.

fp16 loss scaling overrides ``train_step_single`` and ``_step_optimizer``:
``torch.amp.GradScaler`` must scale the loss before ``backward()``, and skorch
(1.4) calls ``loss.backward()`` inside ``train_step_single`` with no callback
or hook in between (``on_grad_computed`` comes after it), so a callback
cannot do it; skorch's own mixed precision goes through Accelerate
(``AcceleratedCNNClassifier``).
"""

from __future__ import annotations

import contextlib
import contextvars
import inspect
import numbers
import os
import warnings
from numbers import Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from skorch.callbacks import Checkpoint, LoadInitState, LRScheduler
from skorch.dataset import unpack_data
from skorch.utils import to_tensor

from ._augment import (
    AUGMENT_PARAMS,
    augment_images,
    average_over_symmetries,
    symmetries,
)
from ._callbacks import EpochSeed
from ._inputs import get_input_kind
from ._loader import ArrayLoader
from ._modules import get_module

#: autocast dtype of each ``precision``
AUTOCAST = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}

# Per thread (and asyncio task), never on the estimator, so that nothing of
# it is pickled and two threads predicting with one estimator do not meet:
# the ids of the nets whose ``fit`` is running, and for each net whose
# ``predict``/``predict_proba`` averages over the symmetries, the
# transformations and the real predict nonlinearity.
_FITTING = contextvars.ContextVar("hepclf_fitting", default=frozenset())
_AVERAGING = contextvars.ContextVar("hepclf_averaging", default=None)


class NetMixin:
    """Shared machinery of hepclf's skorch networks (see the module docstring)."""

    _parameter_constraints: ClassVar[dict] = {
        "device": [str, torch.device, None],
        "random_state": ["random_state"],
        "precision": [StrOptions(set(AUTOCAST))],
        "channels_last": ["boolean"],
        "checkpoint_dir": [str, os.PathLike, None],
        "augment_flip": ["boolean", StrOptions({"horizontal", "vertical"})],
        "augment_roll": ["boolean", StrOptions({"horizontal", "vertical"})],
        "augment_rot90": ["boolean"],
        "augment_rotation": [Interval(Real, 0, 180, closed="both")],
        "augment_zoom": [Interval(Real, 0, 1, closed="left")],
        "augment_noise": [Interval(Real, 0, None, closed="left")],
        "augment_predict": ["boolean"],
    }

    def _check_params(self):
        """Validate the parameters hepclf adds (scikit-learn's InvalidParameterError)."""
        params = {
            key: value
            for key, value in self.get_params(deep=False).items()
            if key in self._parameter_constraints
        }
        validate_parameter_constraints(
            self._parameter_constraints, params, caller_name=type(self).__name__
        )

    def _get_param_names(self):
        # skorch lists every public attribute without a trailing underscore,
        # which includes its private ``_params_to_validate``
        return [name for name in super()._get_param_names() if not name.startswith("_")]

    @property
    def _default_callbacks(self):
        callbacks = dict(super()._default_callbacks)
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

    def notify(self, method_name, **cb_kwargs):
        super().notify(method_name, **cb_kwargs)
        if (
            method_name == "on_train_begin"
            and self.checkpoint_dir is not None
            and len(self.history)
        ):
            self._replay_lr_schedules()

    def _replay_lr_schedules(self):
        """Bring the ``LRScheduler`` callbacks to where the checkpointed run left them.

        skorch rebuilds a resumed scheduler with ``last_epoch`` set, which
        takes one step too many from the restored learning rate (a cosine
        decay resumed after 20 of 40 epochs continues from the wrong rate),
        and a ``ReduceLROnPlateau`` afresh. Instead each scheduler starts
        again from the optimiser's initial rate and repeats the steps of the
        epochs and batches in the history, in the order training took them
        (a plateau with the monitored values the history holds), so the rates
        are those of an uninterrupted run to the last bit. When a scheduler
        was given its own ``last_epoch`` or a plateau monitors a callable,
        all are left as skorch builds them.
        """
        schedulers = [
            cb
            for _, cb in self.callbacks_
            if isinstance(cb, LRScheduler)
            and getattr(cb, "lr_scheduler_", None) is not None
        ]
        plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
        if not schedulers or any(
            "last_epoch" in cb.kwargs
            or (
                isinstance(cb.lr_scheduler_, plateau)
                and not isinstance(cb.monitor, str)
            )
            for cb in schedulers
        ):
            return

        def step(cb, row):
            if isinstance(cb.lr_scheduler_, plateau):
                cb.lr_scheduler_.step(row[cb.monitor])
            else:
                cb.lr_scheduler_.step()

        optimizer = self.optimizer_
        for group in optimizer.param_groups:
            group["lr"] = group.get("initial_lr", group["lr"])
        for cb in schedulers:
            cb.lr_scheduler_ = cb.policy_(optimizer, **cb.kwargs)
        per_batch = [cb for cb in schedulers if cb.step_every == "batch"]
        per_epoch = [cb for cb in schedulers if cb.step_every == "epoch"]
        with warnings.catch_warnings():  # no optimiser step has run in this fit yet
            warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*")
            for epoch in self.history:
                batches = [b for b in epoch.get("batches", ()) if "train_loss" in b]
                count = epoch.get("train_batch_count", len(batches))
                for k in range(count if per_batch else 0):
                    for cb in per_batch:
                        step(cb, batches[k] if k < len(batches) else {})
                for cb in per_epoch:
                    step(cb, epoch)

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
    def _module_class(self):
        """Return the module class (or instance) that ``module`` names."""
        return get_module(self.module) if isinstance(self.module, str) else self.module

    def get_input_kind(self):
        """Return the kind of input the module takes (images unless it says otherwise).

        Returns
        -------
        kind : hepclf.models._inputs.InputKind
            Its checks, its shape and whether it can be exported.
        """
        return get_input_kind(getattr(self._module_class(), "input_kind", "images"))

    def _check_input(self, X, reset):
        """Check ``X`` for the module's input kind; float32, C-contiguous.

        With ``reset``, remember its ``n_channels_`` and ``image_shape_``;
        otherwise compare with them.
        """
        name = type(self).__name__
        kind = self.get_input_kind()
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
        X = kind.check_shape(X, name, self.module)
        if len(X) == 0:
            raise ValueError(f"{name}: X is empty (0 samples)")
        X = np.ascontiguousarray(X, dtype=np.float32)
        if not np.isfinite(X).all():
            raise ValueError(
                f"{name}: X contains NaN or inf (or values too large for float32)"
            )
        if kind.check_values is not None:
            kind.check_values(X, name)
        n_channels, shape = kind.signature(X)
        if reset:
            self.n_channels_, self.image_shape_ = n_channels, shape
        elif n_channels != self.n_channels_ or (
            kind.fixed_shape and shape != tuple(self.image_shape_)
        ):
            raise ValueError(
                kind.mismatch.format(
                    name=name,
                    got=(n_channels, shape),
                    fitted=(self.n_channels_, tuple(self.image_shape_)),
                )
            )
        return X

    def _check_sample_weight(self, sample_weight, n_samples):
        """Return ``sample_weight`` as float64 of shape ``(n_samples,)`` (None stays None)."""
        if sample_weight is None:
            return None
        name = type(self).__name__
        weight = np.asarray(sample_weight, dtype=np.float64)
        if weight.ndim != 1 or len(weight) != n_samples:
            raise ValueError(
                f"{name}: sample_weight must have shape ({n_samples},), got {weight.shape}"
            )
        if not np.isfinite(weight).all():
            raise ValueError(
                f"{name}: sample_weight contains NaN or inf (sample "
                f"{int(np.argmax(~np.isfinite(weight)))})"
            )
        return weight

    def _normalise_weight(self, weight):
        """Rescale weights to mean one (float32); their sum must be positive."""
        if weight.mean() <= 0:
            raise ValueError(
                f"{type(self).__name__}: the sample weights must have a positive sum"
            )
        return (weight / weight.mean()).astype(np.float32)

    # -- augmentation -----------------------------------------------------------------
    def _augmentation(self):
        """Return :func:`augment_images`' keyword arguments; None when all are off."""
        kwargs = {
            key.removeprefix("augment_"): getattr(self, key, off)
            for key, off in AUGMENT_PARAMS.items()
        }
        return kwargs if any(bool(v) for v in kwargs.values()) else None

    def _check_augmentation(self):
        """Refuse augmentation the training data cannot take (called at fit)."""
        kwargs = self._augmentation()
        if kwargs is not None:
            on = sorted(f"augment_{k}={v!r}" for k, v in kwargs.items() if bool(v))
            self._check_transformable(f"augmentation ({', '.join(on)})")
        self._predict_symmetries()  # refuses augment_predict without a symmetry

    def _check_transformable(self, what, turns="augment_rot90=True"):
        """Refuse ``what`` unless the module takes images, square ones for ``turns``."""
        name = type(self).__name__
        kind = self.get_input_kind()
        if kind.name != "images":
            raise ValueError(
                f"{name}: {what} transforms images, but the module {self.module!r} "
                f"takes {kind.name!r} input; leave the augment_* parameters at their "
                "defaults"
            )
        height, width = self.image_shape_
        if self.augment_rot90 and height != width:
            raise ValueError(
                f"{name}: {turns} turns square images only, but the training "
                f"images are {height} x {width}"
            )

    def _augment(self, x):
        """Augment a training batch (a tensor on its device) if asked to."""
        kwargs = self._augmentation()
        return x if kwargs is None else augment_images(x, **kwargs)

    # -- predictions averaged over the symmetries (augment_predict) --------------------
    def _predict_symmetries(self):
        """Return the transformations ``augment_predict`` averages over (None: off).

        The parameters are validated first, since they may have been set
        after ``fit``.
        """
        # a net pickled before augment_predict existed predicts as it did
        if not getattr(self, "augment_predict", False):
            return None
        self._check_params()
        name = type(self).__name__
        transforms = symmetries(self.augment_flip, self.augment_rot90)
        if len(transforms) == 1:
            raise ValueError(
                f"{name}: augment_predict=True averages the predictions over the "
                "flips and quarter turns of augment_flip and augment_rot90, but "
                "both are off"
            )
        self._check_transformable(
            "augment_predict=True", turns="augment_predict=True with augment_rot90=True"
        )
        return transforms

    @contextlib.contextmanager
    def _averaging(self):
        """Average ``forward_iter``'s outputs over the symmetries while a predict runs.

        Each image's output is the mean, over :meth:`_predict_symmetries`, of the
        predict nonlinearity (the class probabilities) of the transformed image;
        ``_get_predict_nonlinearity`` is the identity meanwhile, since the mean
        is already a probability. Inside ``fit`` (validation scores) nothing is
        averaged.
        """
        fitting = id(self) in _FITTING.get()
        transforms = None if fitting else self._predict_symmetries()
        if transforms is None:
            yield
            return
        averaging = {**(_AVERAGING.get() or {})}
        averaging[id(self)] = (transforms, self._get_predict_nonlinearity())
        token = _AVERAGING.set(averaging)
        try:
            yield
        finally:
            _AVERAGING.reset(token)

    def _get_predict_nonlinearity(self):
        if id(self) in (_AVERAGING.get() or {}):
            return _identity
        return super()._get_predict_nonlinearity()

    def evaluation_step(self, batch, training=False):
        """Return the output for one batch, averaged while :meth:`_averaging` runs."""
        averaged = (_AVERAGING.get() or {}).get(id(self))
        if training or averaged is None:
            return super().evaluation_step(batch, training=training)
        transforms, nonlinearity = averaged
        self.check_is_fitted()
        Xi, _ = unpack_data(batch)
        if isinstance(Xi, dict) and "sample_weight" in Xi:
            Xi = Xi["X"]
        with torch.no_grad(), self._on_device():
            self._set_training(False)
            x = to_tensor(Xi, device=self.device)
            if not (isinstance(x, torch.Tensor) and x.ndim == 4):
                raise ValueError(
                    f"{type(self).__name__}: augment_predict=True needs batches of "
                    "images (n_images, n_channels, height, width), got "
                    f"{getattr(x, 'shape', type(x).__name__)}"
                )

            def one(images):
                out = self.infer(images)
                return nonlinearity(out[0] if isinstance(out, tuple) else out)

            return average_over_symmetries(one, x, transforms)

    # -- fitting ----------------------------------------------------------------------
    def _fit(self, X, y, sample_weight, fit_params):
        """Check, prepare (``self._prepare``) and train; the body of ``fit``."""
        self._check_params()
        reset = not (self.warm_start and self.initialized_)
        data = self._prepare(X, y, sample_weight, reset)
        self._check_augmentation()
        if reset:
            self.random_seed_ = self._draw_seed()
        with self._on_device(), self._seeded(), self._fitting():
            super().fit(*data, **fit_params)
        return self

    def _partial_fit(self, X, y, sample_weight, fit_params):
        """Run ``partial_fit`` (skorch's ``fit`` calls it too, on prepared data)."""
        if fit_params.get("_routing_method") == "fit":  # called by fit(): X is prepared
            data = (X, y)
        else:
            self._check_params()
            data = self._prepare(X, y, sample_weight, reset=not self.initialized_)
            self._check_augmentation()
        with self._on_device(), self._seeded(), self._fitting():
            super().partial_fit(*data, **fit_params)
        return self

    @contextlib.contextmanager
    def _fitting(self):
        """Mark a fit in progress: its validation predictions are never averaged."""
        token = _FITTING.set(_FITTING.get() | {id(self)})
        try:
            yield
        finally:
            _FITTING.reset(token)

    # -- module construction ----------------------------------------------------------
    def _inferred_module_params(self):
        """Return module arguments inferred from the training data (set unless given)."""
        return {"in_channels": self.n_channels_, "image_size": self.image_shape_}

    def initialize_module(self):
        """Build ``module_``, filling in what was inferred from the data at fit."""
        kwargs = self.get_params_for("module")
        module = self._module_class()
        if isinstance(module, type) and hasattr(self, "n_channels_"):
            accepted = inspect.signature(module).parameters
            for key, value in self._inferred_module_params().items():
                if key in accepted and key not in kwargs:
                    kwargs[key] = value
        self.module_ = self.initialized_instance(module, kwargs)
        if self.channels_last:
            self.module_ = self.module_.to(memory_format=torch.channels_last)
        return self

    def initialize(self):
        """Initialise the module, criterion, optimiser and callbacks."""
        with self._on_device(), self._seeded():
            return super().initialize()

    def get_predict_nonlinearity(self):
        """Return the function ``predict_proba`` applies to the module's output.

        Returns
        -------
        nonlinearity : callable
            skorch's resolution of ``predict_nonlinearity`` (softmax for the
            cross-entropy loss).
        """
        return self._get_predict_nonlinearity()

    # -- training and inference -------------------------------------------------------
    def _autocast_dtype(self):
        return AUTOCAST[self.precision]

    def infer(self, x, **fit_params):
        """Run the module on one batch (the sample weights are not passed to it).

        Batches are copied to the device without blocking (from pinned memory on
        CUDA), augmented there if the module is in training mode (skorch's
        ``train_step``; never for validation or prediction) and augmentation is
        on, converted to channels-last if asked, and run under autocast for
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
                if self.module_.training:
                    x = self._augment(x)
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
        """Compute the criterion on a batch, weighted by ``X["sample_weight"]`` if given."""
        if not (isinstance(X, dict) and "sample_weight" in X):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        criterion = self.criterion_
        reduction, criterion.reduction = criterion.reduction, "none"
        try:
            loss = super().get_loss(y_pred, y_true, X=X, training=training)
        finally:
            criterion.reduction = reduction
        weight = X["sample_weight"].to(loss.device)
        # one weight per sample, over a loss per sample (and per output, for
        # an elementwise regression loss)
        weight = weight.reshape(-1, *([1] * (loss.ndim - 1)))
        return (loss * weight).mean()

    def forward_iter(self, X, training=False, device="cpu"):
        """Yield the module's outputs batch by batch (see skorch)."""
        with self._on_device():
            yield from super().forward_iter(X, training=training, device=device)

    def load_params(self, *args, **kwargs):
        """Load module/optimiser/history state saved with ``save_params`` (see skorch)."""
        with self._on_device():
            return super().load_params(*args, **kwargs)


def _identity(x):
    return x
