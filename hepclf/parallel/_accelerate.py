"""``AcceleratedCNNClassifier``: CNNClassifier trained through Hugging Face Accelerate."""

from __future__ import annotations

import copy

import numpy as np
import torch
from skorch.dataset import Dataset
from skorch.hf import AccelerateMixin
from torch.utils.data import DataLoader, default_collate

from ..models import CNNClassifier


class _Batch(tuple):
    """``(X, y)`` of a whole batch, already stacked (see :class:`BatchDataset`)."""


def collate_batches(data):
    """Collate function for :class:`BatchDataset`: a ready batch passes through.

    Parameters
    ----------
    data : tuple or list
        What the dataset returned for one batch of indices.

    Returns
    -------
    batch : tuple
        ``(X, y)`` tensors (``X`` may be a dict of tensors).
    """
    if isinstance(data, _Batch):
        return tuple(data)
    return default_collate(data)


class BatchDataset(Dataset):
    """A skorch ``Dataset`` that serves a whole batch with one fancy-indexing.

    ``torch.utils.data.DataLoader`` asks a dataset with ``__getitems__`` for a
    batch of indices at once; for in-memory NumPy arrays this slices the batch
    out directly instead of indexing and collating sample by sample (the same
    idea as :class:`hepclf.models._classifier.ArrayLoader`, but inside a real
    ``DataLoader``, which Accelerate can shard across processes). Use it with
    ``collate_fn=collate_batches``. Other data fall back to per-sample access.

    Parameters
    ----------
    X : ndarray, dict of ndarray or other skorch-supported data
        The samples.
    y : ndarray or None, default=None
        The targets.
    length : int or None, default=None
        See skorch's ``Dataset``.
    """

    def __getitems__(self, indices):
        """Return the samples at ``indices`` as one batch.

        Parameters
        ----------
        indices : list of int
            Indices of the batch.

        Returns
        -------
        batch : tuple or list
            A stacked ``(X, y)`` batch, or a list of samples to collate.
        """
        X, y = self.X, self.y
        arrays = list(X.values()) if isinstance(X, dict) else [X]
        if not (
            all(isinstance(a, np.ndarray) for a in arrays)
            and (y is None or isinstance(y, np.ndarray))
        ):
            return [self[i] for i in indices]
        idx = np.asarray(indices, dtype=np.int64)
        if isinstance(X, dict):
            Xb = {
                k: torch.from_numpy(np.ascontiguousarray(v[idx])) for k, v in X.items()
            }
        else:
            Xb = torch.from_numpy(np.ascontiguousarray(X[idx]))
        yb = torch.zeros(len(idx)) if y is None else torch.from_numpy(y[idx])
        return _Batch((Xb, yb))


class AcceleratedCNNClassifier(AccelerateMixin, CNNClassifier):
    """A :class:`hepclf.CNNClassifier` trained through Hugging Face Accelerate.

    skorch's ``AccelerateMixin`` on top of ``CNNClassifier``: the
    ``accelerator`` places the module and the batches on the device, wraps the
    module for distributed data-parallel training when the script runs in
    several processes (``accelerate launch --num_processes N script.py``, one
    per GPU), shards the batches across them and gathers the predictions, and
    runs the training forward pass in mixed precision
    (``Accelerator(mixed_precision="bf16")``, on GPUs or the CPU). Everything
    else is ``CNNClassifier``: module by name, shape and class inference at
    ``fit``, label encoding, ``random_state``, sample and class weights.

    Read more in the :ref:`User Guide <scaling>`.

    Parameters
    ----------
    module : str or type of torch.nn.Module, default="jetcnn"
        The network, as for ``CNNClassifier``.
    accelerator : accelerate.Accelerator
        The accelerator (e.g. ``Accelerator()``, ``Accelerator(cpu=True)``,
        ``Accelerator(mixed_precision="bf16")``). Required.
    device : None, default=None
        Leave to the accelerator. Only with
        ``Accelerator(device_placement=False)`` may a device be named.
    unwrap_after_train : bool, default=True
        Restore the plain module after training (needed for pickling, and
        to predict in full precision); see skorch's ``AccelerateMixin``.
    iterator_train, iterator_valid : type, default=torch.utils.data.DataLoader
        Batch iterators. They must be ``DataLoader`` (sub)classes for
        Accelerate to shard and place them; ``ArrayLoader`` is not.
    dataset : type, default=BatchDataset
        A skorch ``Dataset`` that serves whole batches to the ``DataLoader``
        (with ``iterator_*__collate_fn=collate_batches``, set by default).
    **kwargs
        Any other ``CNNClassifier`` or skorch parameter (``max_epochs``,
        ``lr``, ``batch_size``, ``random_state``, ``module__*``,
        ``iterator_train__num_workers``...). ``precision`` must stay
        ``"fp32"``: mixed precision is the accelerator's
        ``mixed_precision``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    module_ : torch.nn.Module
        The trained network (unwrapped after training by default).
    history_ : skorch.history.History
        Losses and timings per epoch and batch.

    See Also
    --------
    hepclf.CNNClassifier : the same without Accelerate.

    Notes
    -----
    With several processes every process runs the whole script: build the
    data and the estimator in each, and save or print on the main process
    only (``accelerator.is_main_process``). ``batch_size`` is per process.
    A grid search or ``cross_val_score`` in a multi-process run clones the
    estimator; the clones share the one ``Accelerator`` (it is not
    copied), which is what Accelerate expects.

    Pickling (``joblib.dump``) works after training in full precision
    (``mixed_precision="no"``, ``unwrap_after_train=True``) and stores the
    accelerator too, so load such files where the same kind of device exists.
    For a portable file, copy the weights into a plain ``CNNClassifier``
    (``to_cnn_classifier``) and save that.

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from hepclf.parallel import AcceleratedCNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((64, 1, 8, 8)).astype(np.float32)
    >>> y = np.arange(64) % 2
    >>> X[y == 1, :, 2:4, 2:4] += 2.0
    >>> clf = AcceleratedCNNClassifier(
    ...     accelerator=Accelerator(cpu=True), max_epochs=2, random_state=0,
    ...     module__conv_blocks=((4,),), module__dense=(8,), module__dropout=0.0,
    ... ).fit(X, y)
    >>> clf.predict_proba(X).shape
    (64, 2)
    """

    #: why save_model refuses it (the accelerator is not data)
    _save_model_unsupported = (
        "its accelerator is a live object; save to_cnn_classifier() instead"
    )

    def __init__(
        self,
        module="jetcnn",
        *,
        accelerator,
        device=None,
        unwrap_after_train=True,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        dataset=BatchDataset,
        **kwargs,
    ):
        kwargs.setdefault("iterator_train__collate_fn", collate_batches)
        kwargs.setdefault("iterator_valid__collate_fn", collate_batches)
        super().__init__(
            module,
            accelerator=accelerator,
            device=device,
            unwrap_after_train=unwrap_after_train,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            dataset=dataset,
            **kwargs,
        )

    def initialize(self):
        """Initialise the module, criterion, optimiser and callbacks, then prepare them.

        Returns
        -------
        self : AcceleratedCNNClassifier
            The initialised classifier.
        """
        if getattr(self, "precision", "fp32") != "fp32":
            raise ValueError(
                f"{type(self).__name__}: precision={self.precision!r} is not "
                "supported; set the accelerator's mixed_precision instead, e.g. "
                'Accelerator(mixed_precision="bf16")'
            )
        # AccelerateMixin.initialize does not call CNNClassifier.initialize:
        # seed it the same way
        with self._on_device(), self._seeded():
            return super().initialize()

    def _initialize_accelerator(self):
        # On multi-CPU runs Accelerate wraps every prepared module in
        # DistributedDataParallel, which refuses modules without trainable
        # parameters such as CrossEntropyLoss (multi-GPU runs skip those).
        # Prepare only criteria that train; just place the others.
        if self._wrapped_with_accelerator:
            return self
        frozen = {}
        for name in self._criteria:
            criterion = getattr(self, name + "_", None)
            if isinstance(criterion, torch.nn.Module) and not any(
                p.requires_grad for p in criterion.parameters()
            ):
                frozen[name] = criterion
                setattr(self, name + "_", None)
        try:
            return super()._initialize_accelerator()
        finally:
            for name, criterion in frozen.items():
                if self.accelerator.device_placement:
                    criterion = criterion.to(self.accelerator.device)
                setattr(self, name + "_", criterion)

    def _initialize_callbacks(self):
        # skorch's "auto" sink (the accelerator's print) would print even with
        # verbose=0; pick it only when verbose, and leave the parameter as given
        sink = self.callbacks__print_log__sink
        if isinstance(sink, str) and sink == "auto":
            self.callbacks__print_log__sink = (
                getattr(self.accelerator, "print", print) if self.verbose else print
            )
        try:
            return super()._initialize_callbacks()
        finally:
            self.callbacks__print_log__sink = sink

    def __setstate__(self, state):
        if state.get("device") is not None:
            super().__setstate__(state)
            return
        # skorch maps device=None to the CPU with a warning: load the weights
        # where the accelerator puts them (or the CPU without CUDA), keep None
        device = getattr(state.get("accelerator"), "device", None)
        if device is None or (
            torch.device(device).type == "cuda" and not torch.cuda.is_available()
        ):
            device = "cpu"
        state["device"] = str(device)
        super().__setstate__(state)
        self.device = None

    def to_cnn_classifier(self):
        """Return a plain ``CNNClassifier`` holding this classifier's weights.

        The copy has the same parameters, less the Accelerate-specific ones
        (``accelerator``, the batch iterators and dataset; its ``device`` is
        ``"auto"``), the same fitted attributes, a copy of the history and the
        trained weights, so it can be saved with ``joblib`` or
        :func:`hepclf.save_model` and loaded anywhere.

        Returns
        -------
        clf : hepclf.CNNClassifier
            The fitted copy.
        """
        self.check_is_fitted()
        params = self.get_params(deep=False)
        for name in ("accelerator", "unwrap_after_train", "callbacks__print_log__sink"):
            params.pop(name, None)
        for name in ("iterator_train", "iterator_valid", "dataset"):
            params.pop(name, None)
        for prefix in ("iterator_train__collate_fn", "iterator_valid__collate_fn"):
            if params.get(prefix) is collate_batches:
                params.pop(prefix)
        params["device"] = "auto"
        clf = CNNClassifier(**params)
        for name in (
            "n_channels_",
            "image_shape_",
            "classes_inferred_",
            "random_seed_",
        ):
            if hasattr(self, name):
                setattr(clf, name, getattr(self, name))
        module = self.accelerator.unwrap_model(self.module_, keep_fp32_wrapper=False)
        state = {k: v.detach().cpu() for k, v in module.state_dict().items()}
        clf.initialize()
        clf.module_.load_state_dict(state)
        clf.history_ = copy.deepcopy(self.history_)
        return clf
