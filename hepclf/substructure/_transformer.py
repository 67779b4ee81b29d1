"""``SubstructureFeatures``: jet constituents to a table of substructure observables."""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import PaddedInputMixin
from ..export._registry import register_graph
from ..kinematics import INPUT_FORMATS
from ..kinematics._four_vectors import DOCS
from ..utils._docstrings import fill_doc
from ..utils._param_validation import NonEmptySequenceOf
from ._observables import CHUNK_SIZE, _check_jets, _fill_doc, _ratio, _substructure

#: The observables ``SubstructureFeatures`` can compute, in output order.
FEATURES = ("mass", "softdrop_mass", "tau1", "tau2", "tau3", "tau21", "tau32")

#: The N-subjettiness values each feature needs.
_TAUS_NEEDED = {
    "tau1": (1,),
    "tau2": (2,),
    "tau3": (3,),
    "tau21": (1, 2),
    "tau32": (2, 3),
}


#: Fills ``%(X)s`` and ``%(y)s`` in the docstrings of ``fit`` and ``transform``.
_fill_method_doc = fill_doc(X=DOCS["X_jets"], y=DOCS["y_ignored"])


@_fill_doc
class SubstructureFeatures(PaddedInputMixin, TransformerMixin, BaseEstimator):
    """Turn jet constituents into classic jet-substructure observables.

    Each jet becomes one row of a 2-D feature table, ready for any sklearn
    classifier (e.g. ``HistGradientBoostingClassifier``): the top-tagging
    baselines that CNN taggers are compared with. Stateless: ``fit`` only
    checks the parameters and the input.

    Parameters
    ----------
    features : sequence of str, default=None
        The columns, in this order, taken from ``"mass"`` (jet mass),
        ``"softdrop_mass"``, ``"tau1"``, ``"tau2"``, ``"tau3"`` (N-subjettiness),
        ``"tau21"`` (``tau2 / tau1``) and ``"tau32"`` (``tau3 / tau2``). ``None``
        means all of them, in that order. Only what is asked is computed;
        ``["mass"]`` alone needs no FastJet.
    beta : float, default=1.0
        Angular exponent of N-subjettiness (> 0).
    r0 : float, default=0.8
        Jet radius in the N-subjettiness normalisation and in the soft-drop
        condition.
    z_cut : float, default=0.1
        Soft-drop symmetry cut, in [0, 1).
    softdrop_beta : float, default=0.0
        Soft-drop angular exponent (>= 0); 0 is the modified mass-drop tagger.
    %(input_format)s
    %(empty)s
    chunk_size : int, default=4096
        Jets handed to FastJet at once; bounds the memory it uses.

    See Also
    --------
    jet_mass, nsubjettiness, softdrop_mass : the observables as functions.
    hepclf.JetImager : constituents to jet images, for CNN taggers.

    Notes
    -----
    Definitions (see the functions for details): masses are
    ``sqrt(max(m^2, 0))`` of E-scheme sums in GeV; N-subjettiness is normalised
    (``tau_N = sum_i pt_i min_k Delta R_ik^beta / sum_i pt_i r0^beta``) with
    exclusive-kt axes, and ``tau_N = 0`` for a jet with N or fewer
    constituents; soft drop declusters the Cambridge/Aachen reclustered jet.
    ``Delta R`` uses rapidity and phi throughout. The ratios define
    ``0 / 0`` (and ``x / 0``) as 0: ``tau1 = 0`` only for a jet whose
    constituents all sit on one point, which is perfectly one-pronged.

    Output rows follow input rows (row ``i`` is jet ``i``); empty jets either
    raise or give a row of NaN (``empty``).

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.substructure import SubstructureFeatures
    >>> jets = np.array([[[100.0, -0.2, 0.0], [100.0, 0.2, 0.0], [0.0, 0.0, 0.0]],
    ...                  [[150.0, 0.0, 0.1], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    >>> sf = SubstructureFeatures(features=["mass", "tau1", "tau21"],
    ...                           input_format="ptetaphi")
    >>> sf.fit_transform(jets).round(4)
    array([[40.2672,  0.25  ,  0.    ],
           [ 0.    ,  0.    ,  0.    ]])
    >>> sf.get_feature_names_out()
    array(['mass', 'tau1', 'tau21'], dtype=object)
    """

    _parameter_constraints: ClassVar[dict] = {
        "features": [None, NonEmptySequenceOf(StrOptions(set(FEATURES)), unique=True)],
        "beta": [Interval(Real, 0, None, closed="neither")],
        "r0": [Interval(Real, 0, None, closed="neither")],
        "z_cut": [Interval(Real, 0, 1, closed="left")],
        "softdrop_beta": [Interval(Real, 0, None, closed="left")],
        "input_format": [StrOptions(set(INPUT_FORMATS))],
        "empty": [StrOptions({"raise", "nan"})],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        features=None,
        beta=1.0,
        r0=0.8,
        z_cut=0.1,
        softdrop_beta=0.0,
        input_format="epxpypz",
        empty="raise",
        chunk_size=CHUNK_SIZE,
    ):
        self.features = features
        self.beta = beta
        self.r0 = r0
        self.z_cut = z_cut
        self.softdrop_beta = softdrop_beta
        self.input_format = input_format
        self.empty = empty
        self.chunk_size = chunk_size

    def _features(self) -> tuple[str, ...]:
        """Return the feature names the (validated) parameters ask for."""
        return FEATURES if self.features is None else tuple(self.features)

    @_fit_context(prefer_skip_nested_validation=True)
    @_fill_method_doc
    def fit(self, X, y=None):
        """Check the parameters and the input; nothing is learned.

        Parameters
        ----------
        %(X)s
        %(y)s

        Returns
        -------
        self : SubstructureFeatures
            The transformer itself.
        """
        _check_jets(X, self.input_format, self.empty, type(self).__name__)
        return self

    @_fill_method_doc
    def transform(self, X):
        """Compute the observables.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        features : ndarray of shape (n_jets, n_features_out), float64
            Row ``i`` belongs to jet ``i``; columns as ``get_feature_names_out()``.
        """
        self._validate_params()  # transform works unfitted (the transformer is stateless)
        features = self._features()
        taus = tuple(sorted({n for f in features for n in _TAUS_NEEDED.get(f, ())}))
        values = _substructure(
            X,
            mass="mass" in features,
            taus=taus,
            softdrop="softdrop_mass" in features,
            beta=self.beta,
            r0=self.r0,
            z_cut=self.z_cut,
            softdrop_beta=self.softdrop_beta,
            input_format=self.input_format,
            empty=self.empty,
            name=type(self).__name__,
            chunk_size=self.chunk_size,
        )
        tau = {n: values["tau"][:, k] for k, n in enumerate(taus)}
        columns = {
            "mass": lambda: values["mass"],
            "softdrop_mass": lambda: values["softdrop_mass"],
            "tau1": lambda: tau[1],
            "tau2": lambda: tau[2],
            "tau3": lambda: tau[3],
            "tau21": lambda: _ratio(tau[2], tau[1]),
            "tau32": lambda: _ratio(tau[3], tau[2]),
        }
        return np.column_stack([columns[f]() for f in features])

    def get_feature_names_out(self, input_features=None):
        """Return the names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Not used (the input is 3-D constituents), present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of the observables, in column order.
        """
        self._validate_params()
        return np.asarray(self._features(), dtype=object)


register_graph(
    SubstructureFeatures,
    reason="its observables come from FastJet's C++ clustering, which has no ONNX "
    "translation",
)
