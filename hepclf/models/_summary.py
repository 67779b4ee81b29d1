"""A per-layer table of a network's output shapes and parameter counts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn

_COLUMNS = ["name", "type", "output_shape", "params", "trainable"]


class ModelSummary:
    """The layers of a network with their output shapes and parameter counts.

    Returned by :func:`summary`; prints as a table, and shows as an HTML table
    in a notebook.

    Parameters
    ----------
    layers : pandas.DataFrame
        One row per layer call, with the columns ``name``, ``type``,
        ``output_shape``, ``params`` and ``trainable``.
    input_shape : tuple of int
        The shape of one sample, without the batch dimension.
    total_params : int
        Parameters of the network, each counted once.
    trainable_params : int
        Those of them that require gradients.

    Attributes
    ----------
    non_trainable_params : int
        ``total_params - trainable_params``.
    """

    def __init__(self, layers, input_shape, total_params, trainable_params):
        self.layers = layers
        self.input_shape = input_shape
        self.total_params = total_params
        self.trainable_params = trainable_params

    @property
    def non_trainable_params(self) -> int:
        """Parameters that do not require gradients."""
        return self.total_params - self.trainable_params

    def _totals(self) -> list[str]:
        return [
            f"Input shape: {self.input_shape}",
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
        ]

    def __str__(self) -> str:
        table = self.layers.to_string(
            index=False,
            formatters={"params": "{:,}".format, "trainable": "{:,}".format},
        )
        rule = "=" * max(len(line) for line in table.splitlines())
        return "\n".join([table, rule, *self._totals()])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        totals = "<br>".join(self._totals())
        return f"{self.layers.to_html(index=False)}<p>{totals}</p>"


def _shape(output):
    """Per-sample shape of a layer's output (a tuple of them for several)."""
    if isinstance(output, torch.Tensor):
        return tuple(output.shape[1:])
    if isinstance(output, (tuple, list)):
        return tuple(_shape(o) for o in output)
    return None


def summary(module, input_shape: Sequence[int] | None = None) -> ModelSummary:
    """Tabulate each layer of a network: its type, output shape and parameters.

    One forward pass of a zero batch of one sample, in evaluation mode and
    without gradients, records through forward hooks every layer that is a
    leaf of the module tree or holds parameters of its own, in the order it
    runs. A layer called twice gets two rows, its parameters counted on the
    first; the totals count every parameter of the network once, called or
    not, so the rows add up to them when every layer runs. The training mode of the
    network is restored afterwards.

    Parameters
    ----------
    module : torch.nn.Module or fitted CNNClassifier
        The network, or a fitted skorch net whose ``module_`` is summarised.
    input_shape : sequence of int, optional
        The shape of one sample without the batch dimension, e.g.
        ``(1, 192, 192)`` for single-channel 192x192 images. Optional for a
        fitted ``CNNClassifier``, which knows its images' shape.

    Returns
    -------
    summary : ModelSummary
        The table as ``summary.layers`` (a pandas DataFrame with the columns
        ``name``, ``type``, ``output_shape``, ``params``, ``trainable``, the
        last two being parameter counts) and the totals ``total_params``,
        ``trainable_params`` and ``non_trainable_params``.

    Examples
    --------
    Ten 5x5 filters on a 3-channel image: ``10 * (5 * 5 * 3 + 1) = 760``
    parameters; pooling has none.

    >>> from torch import nn
    >>> from hepclf.models import summary
    >>> net = nn.Sequential(nn.Conv2d(3, 10, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
    >>> print(summary(net, (3, 32, 32)))
    name      type output_shape params trainable
       0    Conv2d (10, 32, 32)    760       760
       1      ReLU (10, 32, 32)      0         0
       2 MaxPool2d (10, 16, 16)      0         0
    ============================================
    Input shape: (3, 32, 32)
    Total params: 760
    Trainable params: 760
    Non-trainable params: 0
    """
    net = module
    if not isinstance(module, nn.Module):
        if not hasattr(module, "module_"):
            raise ValueError(
                "summary: module must be a torch.nn.Module or a fitted CNNClassifier, "
                f"got {type(module).__name__}"
            )
        net = module.module_
        if input_shape is None and hasattr(module, "image_shape_"):
            input_shape = (module.n_channels_, *module.image_shape_)
    if input_shape is None:
        raise ValueError(
            "summary: input_shape is required for a torch.nn.Module, e.g. (1, 192, 192)"
        )
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        shape = ()
    if not shape or min(shape) < 1 or list(shape) != list(input_shape):
        raise ValueError(
            "summary: input_shape must be a sequence of positive integers (one "
            f"sample, without the batch dimension), got {input_shape!r}"
        )

    rows = []
    seen = set()

    def record(name):
        def hook(layer, _inputs, output):
            own = [] if id(layer) in seen else list(layer.parameters(recurse=False))
            seen.add(id(layer))
            rows.append(
                {
                    "name": name or "(top)",
                    "type": type(layer).__name__,
                    "output_shape": _shape(output),
                    "params": sum(p.numel() for p in own),
                    "trainable": sum(p.numel() for p in own if p.requires_grad),
                }
            )

        return hook

    handles = [
        layer.register_forward_hook(record(name))
        for name, layer in net.named_modules()
        if not any(True for _ in layer.children())
        or any(True for _ in layer.parameters(recurse=False))
    ]
    first = next(net.parameters(), None)
    dtype = first.dtype if first is not None and first.is_floating_point() else None
    x = torch.zeros(
        (1, *shape),
        dtype=dtype or torch.float32,
        device=first.device if first is not None else "cpu",
    )
    was_training = net.training
    net.eval()
    try:
        with torch.no_grad():
            net(x)
    finally:
        net.train(was_training)
        for handle in handles:
            handle.remove()
    params = list(net.parameters())
    return ModelSummary(
        pd.DataFrame(rows, columns=_COLUMNS),
        shape,
        sum(p.numel() for p in params),
        sum(p.numel() for p in params if p.requires_grad),
    )
