"""Jet constituents as fixed-length, pT-ordered four-momentum sequences."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..imaging._jet import FIELDS
from ..utils._validation import check_constituents, check_padded


class ConstituentSequencer(TransformerMixin, BaseEstimator):
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
    >>> from hepclf.particles import ConstituentSequencer
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
        "input_format": [StrOptions({"epxpypz", "ptetaphi"})],
    }

    def __init__(self, *, max_particles=128, input_format="epxpypz"):
        self.max_particles = max_particles
        self.input_format = input_format

    def _check_input(self, X):
        return check_padded(
            X,
            n_features=4 if self.input_format == "epxpypz" else (3, 4),
            name=type(self).__name__,
            fields=FIELDS[self.input_format],
        )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and the input; nothing is learned.

        Parameters
        ----------
        X : array-like of shape (n_jets, n_constituents, n_features) or ragged
            Jet constituents (see ``input_format``).
        y : None
            Ignored; present for the Pipeline API.

        Returns
        -------
        self : ConstituentSequencer
            The sequencer, with ``n_dropped_`` counted on ``X``.
        """
        self._validate_params()
        self.n_dropped_ = self._sequences(X)[1]
        return self

    def transform(self, X):
        """Make the sequences.

        Parameters
        ----------
        X : array-like of shape (n_jets, n_constituents, n_features) or ragged
            Jet constituents (see ``input_format``), zero-padded.

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
        return self._sequences(X)[0]

    def _sequences(self, X):
        """The sequences and the number of constituents cut."""
        name = type(self).__name__
        X = self._check_input(X)
        present = check_constituents(X, self.input_format, name=name)
        counts = present.sum(axis=1)
        if (counts == 0).any():
            raise ValueError(
                f"{name}: jet {int(np.argmin(counts))} has no constituents "
                f"({int((counts == 0).sum())} empty jet(s) in all)"
            )
        rows = X[present].astype(np.float64, copy=False)
        if self.input_format == "epxpypz":
            p4 = rows
            pt = np.hypot(rows[:, 1], rows[:, 2])
        else:
            pt, eta, phi = rows[:, 0], rows[:, 1], rows[:, 2]
            mass = rows[:, 3] if rows.shape[1] == 4 else 0.0
            pz = pt * np.sinh(eta)
            p4 = np.stack(
                [
                    np.sqrt((pt * np.cosh(eta)) ** 2 + mass**2),
                    pt * np.cos(phi),
                    pt * np.sin(phi),
                    pz,
                ],
                axis=1,
            )
        # order within each jet by decreasing pT: sort by (jet, -pT) at once
        jet = np.repeat(np.arange(len(X)), counts)
        order = np.lexsort((-pt, jet))
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rank = np.arange(len(jet)) - np.repeat(starts, counts)
        keep = rank < self.max_particles
        out = np.zeros((len(X), self.max_particles, 4), dtype=np.float32)
        out[jet[keep], rank[keep]] = p4[order[keep]]
        return out, int((~keep).sum())

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
