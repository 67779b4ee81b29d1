"""What a network takes: the input kinds, a small registry.

A module declares the kind of batch it takes with a class attribute
(``input_kind = "particles"``; images when it declares nothing).
``CNNClassifier`` asks the kind to check and describe the data, so each kind's
checks and error messages fit its data, and a new kind (event objects,
detector hits...) is one :func:`register_input_kind` next to its module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..kinematics._four_vectors import check_four_vectors


@dataclass(frozen=True)
class InputKind:
    """A kind of network input, with its checks and its words for error messages.

    Parameters
    ----------
    name : str
        The registry name, as modules give it in ``input_kind``.
    expected : str
        The shape and meaning expected, for error messages
        (``"(n_samples, n_channels, height, width)"``).
    advice : str
        How to get such input, ending the shape error (``"put an imager ..."``).
    ndim : tuple of int
        Accepted numbers of dimensions (before ``reshape``).
    signature : callable
        ``signature(X) -> (n_channels, shape)``: what a fitted network is
        tied to (``n_channels_`` and ``image_shape_``).
    mismatch : str
        Error message template for input that differs from the fitted
        signature; formatted with ``name``, ``got`` and ``fitted``.
    fixed_shape : bool, default=True
        Whether the shape (not only the channels) must match the fitted one;
        False for sequences, whose length may change.
    reshape : callable or None
        Applied to accepted input of another rank than the last of ``ndim``
        (e.g. a channel axis added to ``(n, height, width)`` images).
    n_features : int or None
        Required size of the last axis, if fixed.
    check_values : callable or None
        ``check_values(X, name)`` on the finite float32 array: physics checks.
    not_exportable : str or None
        Why a network of this kind cannot be exported to ONNX; None if it can.
    """

    name: str
    expected: str
    advice: str
    ndim: tuple[int, ...]
    signature: Callable
    mismatch: str
    fixed_shape: bool = True
    reshape: Callable | None = None
    n_features: int | None = None
    check_values: Callable | None = None
    not_exportable: str | None = None

    def check_shape(self, X, name, module):
        """Return ``X`` in the kind's shape, or raise naming what was expected."""
        if X.ndim in self.ndim and self.reshape is not None and X.ndim != self.ndim[-1]:
            X = self.reshape(X)
        if X.ndim != self.ndim[-1] or (
            self.n_features is not None and X.shape[-1] != self.n_features
        ):
            raise ValueError(
                f"{name}: the module {module!r} takes {self.expected}, got shape "
                f"{X.shape}; {self.advice}"
            )
        return X


_KINDS: dict[str, InputKind] = {}


def register_input_kind(kind: InputKind) -> InputKind:
    """Register ``kind`` under ``kind.name`` (a module opts in with ``input_kind``).

    Parameters
    ----------
    kind : InputKind
        The kind, with its checks and words.

    Returns
    -------
    kind : InputKind
        The same kind, for use as ``IMAGES = register_input_kind(...)``.
    """
    _KINDS[kind.name] = kind
    return kind


def get_input_kind(name: str) -> InputKind:
    """Return the input kind registered as ``name``.

    Parameters
    ----------
    name : str
        The registry name (``"images"``, ``"particles"``, ...).

    Returns
    -------
    kind : InputKind
        The registered kind.
    """
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(
            f"unknown input kind {name!r}; registered kinds: {sorted(_KINDS)}"
        ) from None


def _images_signature(X):
    return X.shape[1], tuple(X.shape[2:])


def _particles_signature(X):
    return X.shape[-1], tuple(X.shape[1:-1])


def _check_particles(X, name):
    # padding rows are all zero; real constituents need E >= 0
    empty = ~check_four_vectors(X, "epxpypz", name=name).any(axis=1)
    if empty.any():
        raise ValueError(
            f"{name}: jet {int(np.argmax(empty))} has no constituent with "
            f"non-zero pT ({int(empty.sum())} empty jet(s) in all)"
        )


IMAGES = register_input_kind(
    InputKind(
        name="images",
        expected="images of shape (n_samples, n_channels, height, width) or "
        "(n_samples, height, width)",
        advice="put an imager (e.g. JetImager) before the classifier",
        ndim=(3, 4),
        reshape=lambda X: X[:, np.newaxis],
        signature=_images_signature,
        mismatch="{name}: X has images of {got[0]} channel(s) x {got[1]} but the "
        "classifier was fitted on {fitted[0]} channel(s) x {fitted[1]}",
    )
)

PARTICLES = register_input_kind(
    InputKind(
        name="particles",
        expected="jet constituents of shape (n_samples, n_particles, 4) "
        "(E, px, py, pz)",
        advice="put a ConstituentSequencer before the classifier",
        ndim=(3,),
        n_features=4,
        check_values=_check_particles,
        signature=_particles_signature,
        fixed_shape=False,
        mismatch="{name}: X has {got[0]} features per constituent but the "
        "classifier was fitted on {fitted[0]}",
        not_exportable="ONNX export covers image models only (particle-level "
        "networks take sequences that no exported imager makes)",
    )
)
