"""What the imagers' export graphs share: float64 constants held as buffers.

The exporter stores a Python float as a float32 constant, which would move
objects near pixel edges and the phi seam; the graphs (``_jet_graph.py``,
``_event_graph.py``) hold such constants as float64 tensors instead,
registered as non-persistent buffers so that they follow the module to its
device and stay out of its ``state_dict``.
"""

from __future__ import annotations

import torch
from torch import nn


class _ImageGraph(nn.Module):
    """Base of the imagers' export modules: named float64 scalar constants."""

    def _set_constants(self, **constants: float) -> None:
        """Hold every value as a float64 scalar buffer under its name."""
        for name, value in constants.items():
            self.register_buffer(
                name, torch.tensor(value, dtype=torch.float64), persistent=False
            )
        self._constant_names = tuple(constants)

    def _constants(self) -> dict[str, torch.Tensor]:
        """Return the constants set by ``_set_constants``, by name."""
        return {name: getattr(self, name) for name in self._constant_names}
