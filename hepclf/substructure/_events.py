"""``EventFeatures``: reconstructed event objects to a table of high-level features.

The classic baseline for event classification: counts of objects, scalar and
vector sums, the leading lepton and jets, and a few masses and angles, one row
per event, for a gradient-boosted classifier. Everything is computed with
array operations over blocks of events (no Python loop per event), with the
formulas of :mod:`hepclf.kinematics`.
"""

from __future__ import annotations

from itertools import combinations
from numbers import Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import StrOptions

from ..base import PaddedInputMixin
from ..export._registry import register_graph
from ..imaging._event import _X_DOC, FIELDS, OBJECT_TYPES, check_event_objects
from ..kinematics import delta_phi, delta_r, epxpypz
from ..utils._docstrings import fill_doc
from ..utils._param_validation import NonEmptySequenceOf
from ..utils._validation import check_padded

#: The features ``EventFeatures`` can compute, in output order.
EVENT_FEATURES = (
    "n_electrons",
    "n_muons",
    "n_taus",
    "n_photons",
    "n_jets",
    "n_bjets",
    "ht",
    "met",
    "st",
    "lepton_pt",
    "lepton_eta",
    "lepton_flavour",
    "mt",
    "dphi_lepton_met",
    "min_dr_lepton_jet",
    "dilepton_mass",
    "jet1_pt",
    "jet1_eta",
    "jet2_pt",
    "jet2_eta",
    "bjet1_pt",
    "jets_mass",
    "m3",
    "centrality",
    "sphericity",
)

_E, _MU, _TAU, _PHOTON, _JET, _BJET, _MET = (
    OBJECT_TYPES[t] for t in ("electron", "muon", "tau", "photon", "jet", "bjet", "met")
)

#: Jets (by decreasing pT) among which ``m3`` looks for its triplet.
M3_JETS = 6
_TRIPLETS = np.array(list(combinations(range(M3_JETS), 3)))  # (20, 3)

#: Events computed at once: bounds the memory of the per-object arrays.
_BLOCK = 1 << 15


def check_events(X, name: str) -> np.ndarray:
    """Pad and check event objects exactly as ``EventImager`` does.

    Parameters
    ----------
    X : array-like, list of arrays or awkward.Array
        ``(type, pt, eta, phi[, extra])`` rows per event.
    name : str
        How to call the caller in error messages.

    Returns
    -------
    X : ndarray of shape (n_events, n_objects, 4 or 5)
        The padded objects (float, finite, known type codes, positive pT).
    """
    X = check_padded(X, n_features=(4, 5), name=name, fields=FIELDS)
    check_event_values(X, name)
    return X


def check_event_values(X, name: str) -> None:
    """Raise ``ValueError`` for unknown type codes or bad pT, naming the event.

    Parameters
    ----------
    X : ndarray of shape (n_events, n_objects, >= 2)
        Finite padded objects.
    name : str
        How to call the caller in error messages.
    """
    block = max(1, (1 << 22) // max(1, X.shape[1]))
    for start in range(0, len(X), block):
        check_event_objects(X[start : start + block, :, :2], name, offset=start)


def _leading(mask, pt, k):
    """Slots of the ``k`` highest-pT objects selected by ``mask``, and their validity.

    Returns ``(slots, valid)``, both of shape ``(n_events, k)``; ties keep the
    input order.
    """
    n_slots = mask.shape[1]
    if n_slots < k:  # fewer slots than asked: pad with invalid ones
        mask = np.pad(mask, ((0, 0), (0, k - n_slots)))
        pt = np.pad(pt, ((0, 0), (0, k - n_slots)))
    key = np.where(mask, -pt, np.inf)
    slots = np.argsort(key, axis=1, kind="stable")[:, :k]
    valid = np.take_along_axis(mask, slots, axis=1)
    # invalid slots point at the last real slot (any index would do)
    return np.minimum(slots, n_slots - 1), valid


def _mass(E, px, py, pz):
    """``sqrt(max(E^2 - p^2, 0))``."""
    return np.sqrt(np.maximum(E * E - (px * px + py * py + pz * pz), 0.0))


def _features(X, missing):
    """Every feature of :data:`EVENT_FEATURES` for a block of checked events."""
    if X.shape[1] == 0:  # no object slots at all: one padding row
        X = np.zeros((len(X), 1, X.shape[2]))
    codes = X[..., 0].astype(np.int64)
    pt = X[..., 1].astype(np.float64)
    eta = X[..., 2].astype(np.float64)
    phi = X[..., 3].astype(np.float64)
    n = len(X)
    rows = np.arange(n)
    is_jet = (codes == _JET) | (codes == _BJET)
    is_lepton = (codes == _E) | (codes == _MU)
    is_met = codes == _MET
    visible = (codes != 0) & ~is_met
    # MET: vector sum of the MET rows (normally one)
    met_x = np.where(is_met, pt * np.cos(phi), 0.0).sum(1)
    met_y = np.where(is_met, pt * np.sin(phi), 0.0).sum(1)
    met = np.hypot(met_x, met_y)
    met_phi = np.arctan2(met_y, met_x)
    has_met = is_met.any(1)
    # massless four-momenta of every object (MET rows are never summed)
    E, px, py, pz = epxpypz(pt, np.where(is_met, 0.0, eta), phi, 0.0)
    out = {
        "n_electrons": (codes == _E).sum(1),
        "n_muons": (codes == _MU).sum(1),
        "n_taus": (codes == _TAU).sum(1),
        "n_photons": (codes == _PHOTON).sum(1),
        "n_jets": is_jet.sum(1),
        "n_bjets": (codes == _BJET).sum(1),
        "ht": np.where(is_jet, pt, 0.0).sum(1),
        "met": met,
        "st": np.where(visible, pt, 0.0).sum(1) + met,
    }

    def take(values, slots):
        return np.take_along_axis(values, slots, axis=1)

    # the leading lepton (and the second one, for the dilepton mass)
    lep, lep_ok = _leading(is_lepton, pt, 2)
    has_lep = lep_ok[:, 0]
    l_pt, l_eta, l_phi = (take(v, lep[:, :1])[:, 0] for v in (pt, eta, phi))
    out["lepton_pt"] = np.where(has_lep, l_pt, missing)
    out["lepton_eta"] = np.where(has_lep, l_eta, missing)
    out["lepton_flavour"] = np.where(has_lep, codes[rows, lep[:, 0]], missing)
    dphi = np.abs(delta_phi(l_phi, met_phi))
    mt = np.sqrt(np.maximum(2.0 * l_pt * met * (1.0 - np.cos(dphi)), 0.0))
    out["mt"] = np.where(has_lep, mt, missing)
    out["dphi_lepton_met"] = np.where(has_lep & has_met, dphi, missing)
    dr = delta_r(l_eta[:, None], l_phi[:, None], eta, phi)
    min_dr = np.where(is_jet, dr, np.inf).min(1)
    out["min_dr_lepton_jet"] = np.where(has_lep & is_jet.any(1), min_dr, missing)
    pair = [take(v, lep).sum(1) for v in (E, px, py, pz)]
    out["dilepton_mass"] = np.where(lep_ok[:, 1], _mass(*pair), missing)
    # jets by decreasing pT
    jets, jet_ok = _leading(is_jet, pt, M3_JETS)
    for k in (0, 1):
        out[f"jet{k + 1}_pt"] = np.where(jet_ok[:, k], pt[rows, jets[:, k]], missing)
        out[f"jet{k + 1}_eta"] = np.where(jet_ok[:, k], eta[rows, jets[:, k]], missing)
    bjet, bjet_ok = _leading(codes == _BJET, pt, 1)
    out["bjet1_pt"] = np.where(bjet_ok[:, 0], pt[rows, bjet[:, 0]], missing)
    has_jet = jet_ok[:, 0]
    jet_p4 = [np.where(is_jet, v, 0.0) for v in (E, px, py, pz)]
    out["jets_mass"] = np.where(has_jet, _mass(*(v.sum(1) for v in jet_p4)), missing)
    # m3: the mass of the three-jet system of largest pT, among the leading jets
    lead = np.stack([np.where(jet_ok, take(v, jets), 0.0) for v in jet_p4], -1)
    triplet = lead[:, _TRIPLETS].sum(2)  # (n, 20, 4)
    triplet_ok = jet_ok[:, _TRIPLETS].all(2)
    triplet_pt = np.where(triplet_ok, np.hypot(triplet[..., 1], triplet[..., 2]), -1)
    best = triplet[rows, np.argmax(triplet_pt, axis=1)]
    out["m3"] = np.where(jet_ok[:, 2], _mass(*best.T), missing)
    jet_energy = jet_p4[0].sum(1)
    out["centrality"] = np.where(
        has_jet, out["ht"] / np.where(has_jet, jet_energy, 1.0), missing
    )
    # transverse sphericity of the visible objects: 2 l2 / (l1 + l2) of the
    # 2x2 tensor sum(p_a p_b), a, b in (x, y)
    vx, vy = np.where(visible, px, 0.0), np.where(visible, py, 0.0)
    sxx, syy, sxy = (vx * vx).sum(1), (vy * vy).sum(1), (vx * vy).sum(1)
    trace = sxx + syy
    root = np.hypot(0.5 * (sxx - syy), sxy)
    has_visible = trace > 0
    l2 = np.maximum(0.5 * trace - root, 0.0)
    out["sphericity"] = np.where(
        has_visible, 2.0 * l2 / np.where(has_visible, trace, 1.0), missing
    )
    return out


_fill_method_doc = fill_doc(
    X=_X_DOC,
    y="""y : None
    Ignored; present for the Pipeline API.""",
)


class EventFeatures(PaddedInputMixin, TransformerMixin, BaseEstimator):
    """Turn the reconstructed objects of collision events into high-level features.

    Each event becomes one row of a 2-D table -- object counts, HT, MET, the
    leading lepton and jets, transverse and invariant masses, angles -- ready
    for a gradient-boosted classifier (``HistGradientBoostingClassifier``): the
    baseline that image and set-based networks are compared with for ttbar,
    W+jets and Drell-Yan events with one lepton. Stateless: ``fit`` only
    checks the parameters and the input, which are those of
    :class:`hepclf.EventImager`.

    Read more in the :ref:`User Guide <events>`.

    .. versionadded:: 0.2

    Parameters
    ----------
    features : sequence of str, default=None
        The columns, in this order, taken from :data:`EVENT_FEATURES` (see
        Notes); None means all of them, in the order of that list.
    missing : float, default=nan
        The value of features of objects an event does not have (the lepton
        of an event without lepton, the second jet of a one-jet event, ...).
        NaN suits ``HistGradientBoostingClassifier``, which learns where to
        send missing values; models that need numbers take e.g. ``-1``.

    See Also
    --------
    hepclf.EventImager : the same events as images, for CNNs.
    hepclf.models.ObjectTransformer : a network on the objects themselves.
    hepclf.substructure.SubstructureFeatures : the jet-level counterpart.

    Notes
    -----
    Objects are taken as massless (a fifth input column is ignored); "jets"
    are all jets, b-tagged (type 6) or not (type 5); "leptons" are electrons
    and muons (taus are counted, not used as leptons); "visible" objects are
    all but MET. Momenta and masses are in GeV, angles in rad. The features:

    - ``n_electrons``, ``n_muons``, ``n_taus``, ``n_photons``, ``n_jets``,
      ``n_bjets``: numbers of objects of each type (``n_jets`` includes the
      b-jets).
    - ``ht``: scalar sum of the jet pT (0 without jets).
    - ``met``: magnitude of the vector sum of the MET rows (normally one; 0
      without any).
    - ``st``: scalar sum of the pT of the visible objects, plus ``met``.
    - ``lepton_pt``, ``lepton_eta``, ``lepton_flavour``: pT, eta and type
      code (1 electron, 2 muon) of the leading lepton.
    - ``mt``: transverse mass of the leading lepton and MET,
      ``sqrt(2 pT_l MET (1 - cos dphi))`` (0 without MET rows).
    - ``dphi_lepton_met``: ``|dphi|`` in ``[0, pi]`` between them (missing
      without a MET row).
    - ``min_dr_lepton_jet``: the smallest ``Delta R`` (eta, phi wrapped)
      between the leading lepton and any jet.
    - ``dilepton_mass``: invariant mass of the two leading leptons (any
      flavours).
    - ``jet1_pt``, ``jet1_eta``, ``jet2_pt``, ``jet2_eta``: the leading and
      second jet; ``bjet1_pt``: the leading b-jet.
    - ``jets_mass``: invariant mass of all jets together.
    - ``m3``: invariant mass of the three-jet system of largest vector pT,
      among the :data:`M3_JETS` leading jets (the hadronic top candidate).
    - ``centrality``: ``ht`` over the sum of the jet energies.
    - ``sphericity``: transverse sphericity of the visible objects,
      ``2 l2 / (l1 + l2)`` with ``l1 >= l2`` the eigenvalues of
      ``sum p_a p_b`` (a, b in x, y): 0 for back-to-back (or single) objects,
      1 for isotropic ones.

    Counts and sums are always defined; the other features of an event that
    lacks their objects take ``missing``: lepton features without an electron
    or muon, ``dilepton_mass`` with fewer than two, ``min_dr_lepton_jet``
    without a lepton or a jet, ``jet*``, ``jets_mass`` and ``centrality``
    without the jets, ``bjet1_pt`` without a b-jet, ``m3`` with fewer than
    three jets, ``sphericity`` without visible objects. Output row ``i`` is
    event ``i``.

    A column that is missing in every training event (``dilepton_mass``
    after a one-lepton selection) makes scikit-learn 1.9's
    ``HistGradientBoostingClassifier`` fail while binning ("window shape
    cannot be larger than input array shape"): leave such features out with
    ``features``.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.substructure import EventFeatures
    >>> # a muon, two jets (one b-tagged) and MET; a padding row
    >>> events = np.array([[[2, 40.0, 0.5, 0.0], [5, 60.0, -1.0, 3.0],
    ...                     [6, 50.0, 0.0, -3.0], [7, 30.0, 0.0, np.pi / 2],
    ...                     [0, 0.0, 0.0, 0.0]]])
    >>> ef = EventFeatures(features=["n_jets", "ht", "met", "mt", "bjet1_pt"])
    >>> ef.fit_transform(events).round(3)
    array([[  2.  , 110.  ,  30.  ,  48.99,  50.  ]])
    >>> ef.get_feature_names_out()
    array(['n_jets', 'ht', 'met', 'mt', 'bjet1_pt'], dtype=object)
    """

    _parameter_constraints: ClassVar[dict] = {
        "features": [
            None,
            NonEmptySequenceOf(StrOptions(set(EVENT_FEATURES)), unique=True),
        ],
        "missing": [Real],
    }

    def __init__(self, *, features=None, missing=np.nan):
        self.features = features
        self.missing = missing

    def _names(self) -> tuple[str, ...]:
        """Return the feature names the (validated) parameters ask for."""
        return EVENT_FEATURES if self.features is None else tuple(self.features)

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
        self : EventFeatures
            The transformer itself.
        """
        check_events(X, type(self).__name__)
        return self

    @_fill_method_doc
    def transform(self, X):
        """Compute the features.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        features : ndarray of shape (n_events, n_features_out), float64
            Row ``i`` belongs to event ``i``; columns as ``get_feature_names_out()``.
        """
        self._validate_params()  # transform works unfitted (the transformer is stateless)
        X = check_events(X, type(self).__name__)
        names = self._names()
        out = np.empty((len(X), len(names)), dtype=np.float64)
        missing = float(self.missing)
        for start in range(0, len(X), _BLOCK):
            values = _features(X[start : start + _BLOCK], missing)
            for j, name in enumerate(names):
                out[start : start + _BLOCK, j] = values[name]
        return out

    def get_feature_names_out(self, input_features=None):
        """Return the names of the output columns.

        Parameters
        ----------
        input_features : ignored
            Not used (the input is 3-D event objects), present for API consistency.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The names of the features, in column order.
        """
        self._validate_params()
        return np.asarray(self._names(), dtype=object)


register_graph(
    EventFeatures,
    reason="its features (per-type selections, sorting by pT, the m3 triplet "
    "search) have no ONNX graph",
)
