"""Jet constituents as fixed-length, pT-ordered four-momentum sequences."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import PaddedInputMixin
from ..export._registry import register_graph
from ..kinematics._four_vectors import (
    DOCS,
    INPUT_FORMATS,
    check_four_vector_array,
    check_four_vectors,
    check_not_empty,
    four_momenta,
)
from ..utils._docstrings import fill_doc

#: Jets converted at a time (bounds the float64 working copy).
CHUNK_SIZE = 4096


#: Fills ``%(X)s`` and ``%(y)s`` in the docstrings of ``fit`` and ``transform``.
_fill_doc = fill_doc(X=DOCS["X_jets"], y=DOCS["y_ignored"])


class ConstituentSequencer(PaddedInputMixin, TransformerMixin, BaseEstimator):
    """Turn jet constituents into pT-ordered ``(E, px, py, pz)`` sequences.

    The input of particle-level networks such as
    :class:`hepclf.models.ParticleTransformer`: each jet's constituents are
    converted to four-momenta, sorted by decreasing transverse momentum, cut to
    the ``max_particles`` hardest and zero-padded to that length, so jets of
    any multiplicity (padded arrays of any width, ragged lists, awkward arrays)
    become one float32 array. Nothing is learned.

    Parameters
    ----------
    max_particles : int, default=128
        Length of the output sequences. Jets with more constituents keep the
        ``max_particles`` of highest pT (``n_dropped_`` counts what was cut
        from the jets seen by ``fit``); shorter ones are padded with zero rows.
    input_format : {"epxpypz", "ptetaphi"}, default="epxpypz"
        The meaning of the input features, as for :class:`hepclf.JetImager`:
        ``(E, px, py, pz)``, or ``(pt, eta, phi)`` or ``(pt, eta, phi, mass)``
        (massless when the mass is missing). A padding row has zero pT.

    Attributes
    ----------
    n_dropped_ : int
        Constituents beyond ``max_particles`` in the jets given to ``fit`` (the
        softest of their jets), which ``transform`` leaves out.

    See Also
    --------
    hepclf.models.ParticleTransformer : the network for these sequences.
    hepclf.JetImager : the same jets as images.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.sequences import ConstituentSequencer
    >>> jets = np.array([[[10.0, 0.0, 0.0], [50.0, 0.1, 0.0], [0.0, 0.0, 0.0]]])
    >>> seq = ConstituentSequencer(max_particles=2, input_format="ptetaphi")
    >>> out = seq.fit_transform(jets)
    >>> out.shape
    (1, 2, 4)
    >>> out[0, :, 1].round(3).tolist()  # px: the 50 GeV constituent first
    [50.0, 10.0]
    """

    _parameter_constraints: ClassVar[dict] = {
        "max_particles": [Interval(Integral, 1, None, closed="left")],
        "input_format": [StrOptions(set(INPUT_FORMATS))],
    }

    def __init__(self, *, max_particles=128, input_format="epxpypz"):
        self.max_particles = max_particles
        self.input_format = input_format

    @_fit_context(prefer_skip_nested_validation=True)
    @_fill_doc
    def fit(self, X, y=None):
        """Check the input and count the constituents that will be cut.

        Parameters
        ----------
        %(X)s
        %(y)s

        Returns
        -------
        self : ConstituentSequencer
            The sequencer, with ``n_dropped_`` counted on ``X``.
        """
        name = type(self).__name__
        X = check_four_vector_array(X, self.input_format, name=name)
        dropped = 0
        for start in range(0, len(X), CHUNK_SIZE):
            present = check_four_vectors(
                X[start : start + CHUNK_SIZE],
                self.input_format,
                name=name,
                offset=start,
            )
            counts = check_not_empty(present, name=name, offset=start)
            dropped += int(np.clip(counts - self.max_particles, 0, None).sum())
        self.n_dropped_ = dropped
        return self

    @_fill_doc
    def transform(self, X):
        """Make the sequences.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        sequences : ndarray of shape (n_jets, max_particles, 4), float32
            ``(E, px, py, pz)`` of jet ``i``'s constituents, hardest first,
            then zero rows.

        Raises
        ------
        ValueError
            NaN or inf, negative energy or pT, or a jet without constituents.
        """
        self._validate_params()
        name = type(self).__name__
        X = check_four_vector_array(X, self.input_format, name=name)
        out = np.zeros((len(X), self.max_particles, 4), dtype=np.float32)
        for start in range(0, len(X), CHUNK_SIZE):
            p4, present = four_momenta(
                X[start : start + CHUNK_SIZE],
                self.input_format,
                name=name,
                offset=start,
            )
            check_not_empty(present, name=name, offset=start)
            pt = np.where(present, np.hypot(p4[..., 1], p4[..., 2]), -1.0)
            order = np.argsort(-pt, axis=1, kind="stable")[:, : self.max_particles]
            hardest = np.take_along_axis(p4, order[..., np.newaxis], axis=1)
            kept = np.take_along_axis(present, order, axis=1)
            out[start : start + len(p4), : order.shape[1]] = hardest * kept[..., None]
        return out


register_graph(
    ConstituentSequencer,
    reason="particle-level networks cannot be exported to ONNX yet (only image "
    "models, behind an imager with an export graph)",
)
