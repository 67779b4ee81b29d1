"""Jet images: constituents in (eta, phi) pixelated into a square grid."""

from __future__ import annotations

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import PaddedInputMixin
from ..export._registry import register_graph
from ..kinematics import energy, pt_eta_phi, wrap_phi
from ..kinematics._four_vectors import (
    DOCS,
    INPUT_FORMATS,
    check_four_vector_array,
    check_four_vectors,
)
from ..utils._docstrings import fill_doc
from ..utils._param_validation import NonEmptySequenceOf, Pair, Range

INTENSITIES = ("pt", "energy", "count")
FLOAT32_MAX = float(np.finfo(np.float32).max)


#: Fills ``%(X)s`` and ``%(y)s`` in the docstrings of ``fit`` and ``transform``.
_fill_doc = fill_doc(X=DOCS["X_jets"], y=DOCS["y_ignored"])


class JetImager(PaddedInputMixin, TransformerMixin, BaseEstimator):
    """Turn jet constituents into jet images.

    Each jet becomes an image in the (pseudorapidity eta, azimuth phi) plane: the
    constituents are (optionally) centred on the jet's pT-weighted centroid,
    rotated so the principal axis of the pT distribution is vertical, flipped so
    the heavier half lies at positive eta and positive phi (upper right), binned
    into ``npix`` pixels and (optionally) normalised to unit sum. The whole batch
    is processed with array operations, in chunks of ``chunk_size`` jets.

    Parameters
    ----------
    npix : int or (int, int), default=40
        Number of pixels along eta and phi; a pair gives ``(n_eta, n_phi)``.
    eta_range : (float, float), default=(-1.0, 1.0)
        The image window along eta. Relative to the jet centroid when
        ``center=True``, absolute otherwise.
    phi_range : (float, float), default=(-1.0, 1.0)
        The image window along phi (rad), relative or absolute as ``eta_range``.
    input_format : {"epxpypz", "ptetaphi"}, default="epxpypz"
        Meaning of the 4 (or 3) features of each constituent. ``"epxpypz"``:
        ``(E, px, py, pz)`` in GeV, the layout of the public top-tagging data.
        ``"ptetaphi"``: ``(pt, eta, phi)`` or ``(pt, eta, phi, mass)`` with pt and
        mass in GeV, phi in rad.
    intensity : {"pt", "energy", "count"} or sequence of them, default="pt"
        What a pixel sums: transverse momentum, energy or the number of
        constituents. A sequence makes one channel per entry.
    center : bool, default=True
        Centre on the pT-weighted centroid (phi wrap-around at +-pi handled).
    rotate : bool, default=True
        Rotate about the centroid so the principal axis of the pT-weighted
        constituent distribution points along phi.
    flip : bool, default=True
        Reflect so the half with more pT lies at positive eta, and the half with
        more pT lies at positive phi (relative to the centroid).
    normalize : bool, default=True
        Divide each channel of each image by its sum (all-zero images stay zero).
    chunk_size : int, default=2048
        Jets processed at once by the NumPy engine; bounds the memory of
        intermediate arrays.
    engine : {"auto", "numba", "numpy"}, default="auto"
        ``"numba"``: a compiled kernel, one pass per jet, jets in parallel
        (needs numba: ``pip install "hepclf[fast]"``); ``"numpy"``: array
        operations over chunks of jets; ``"auto"``: numba when installed. Both
        compute in float64 with the same formulas and summation order and give
        the same images.

    Attributes
    ----------
    eta_edges_ : ndarray of shape (n_eta + 1,)
        Pixel edges along eta (image axis -1, the columns).
    phi_edges_ : ndarray of shape (n_phi + 1,)
        Pixel edges along phi (image axis -2, the rows; row 0 is lowest phi).
    n_channels_ : int
        Number of output channels.

    Notes
    -----
    Padding: the input is ``(n_jets, n_constituents, n_features)`` with
    zero-padded rows. A constituent is padding when its pt is zero (for
    ``"epxpypz"`` the whole row must then be zero). Ragged input (a list of
    per-jet arrays, or an awkward array) is padded first. A jet with no
    constituents gives an all-zero image.

    Constituents that fall outside the window are dropped from the image (the
    window is half-open, ``[low, high)``); the sum over the un-normalised image
    equals the pT (or energy, or count) of the constituents inside the window.

    Images are ``float32`` arrays of shape ``(n_jets, n_channels, n_phi, n_eta)``:
    draw them with ``imshow(image, origin="lower", extent=(*eta_range, *phi_range))``.

    Centring, rotation and flipping act on (eta, phi) as Euclidean coordinates,
    as in the usual jet-image recipe (arXiv:1701.08784). They use per-jet float64
    sums, whose last bit can depend on the order of the constituents: a
    constituent within rounding (~1e-16) of a pixel edge relative to the centroid
    may then fall on either side. With ``center``, ``rotate`` and ``flip`` all
    off, the given (eta, phi) are binned as they are, so a constituent's pixel
    depends on nothing else in the jet.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf import JetImager
    >>> jets = np.array([[[100.0, 0.0, 0.0, 0.0], [50.0, 0.2, 0.1, 0.0]]])
    >>> img = JetImager(npix=4, input_format="ptetaphi", center=False, rotate=False,
    ...                 flip=False, normalize=False).fit_transform(jets)
    >>> img.shape
    (1, 1, 4, 4)
    >>> float(img.sum())
    150.0
    """

    _parameter_constraints: ClassVar[dict] = {
        "npix": [
            Interval(Integral, 1, None, closed="left"),
            Pair(Interval(Integral, 1, None, closed="left")),
        ],
        "eta_range": [Range()],
        "phi_range": [Range()],
        "input_format": [StrOptions(set(INPUT_FORMATS))],
        "intensity": [
            StrOptions(set(INTENSITIES)),
            NonEmptySequenceOf(StrOptions(set(INTENSITIES))),
        ],
        "center": ["boolean"],
        "rotate": ["boolean"],
        "flip": ["boolean"],
        "normalize": ["boolean"],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "engine": [StrOptions({"auto", "numba", "numpy"})],
    }

    def __init__(
        self,
        *,
        npix=40,
        eta_range=(-1.0, 1.0),
        phi_range=(-1.0, 1.0),
        input_format="epxpypz",
        intensity="pt",
        center=True,
        rotate=True,
        flip=True,
        normalize=True,
        chunk_size=2048,
        engine="auto",
    ):
        self.npix = npix
        self.eta_range = eta_range
        self.phi_range = phi_range
        self.input_format = input_format
        self.intensity = intensity
        self.center = center
        self.rotate = rotate
        self.flip = flip
        self.normalize = normalize
        self.chunk_size = chunk_size
        self.engine = engine

    # -- parameters -------------------------------------------------------------
    def _geometry(self):
        """Return the image geometry the (validated) parameters describe.

        Returns ``(n_eta, n_phi, eta_range, phi_range, intensity)`` with the
        ranges as float pairs and ``intensity`` as a tuple of names.
        """
        n_eta, n_phi = (
            (self.npix, self.npix)
            if isinstance(self.npix, Integral)
            else (int(n) for n in self.npix)
        )
        intensity = (
            (self.intensity,)
            if isinstance(self.intensity, str)
            else tuple(self.intensity)
        )
        eta_range = tuple(float(v) for v in self.eta_range)
        phi_range = tuple(float(v) for v in self.phi_range)
        return n_eta, n_phi, eta_range, phi_range, intensity

    def _check_input(self, X):
        return check_four_vector_array(X, self.input_format, name=type(self).__name__)

    # -- sklearn API --------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    @_fill_doc
    def fit(self, X, y=None):
        """Check the parameters and the input; nothing is learned.

        Parameters
        ----------
        %(X)s
        %(y)s

        Returns
        -------
        self : JetImager
            The imager, with the pixel edges set.
        """
        n_eta, n_phi, eta_range, phi_range, intensity = self._geometry()
        self._check_input(X)
        self.eta_edges_ = np.linspace(*eta_range, n_eta + 1)
        self.phi_edges_ = np.linspace(*phi_range, n_phi + 1)
        self.n_channels_ = len(intensity)
        return self

    @_fill_doc
    def transform(self, X):
        """Make the jet images.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        images : ndarray of shape (n_jets, n_channels, n_phi, n_eta), float32
            Image ``i`` belongs to jet ``i``.
        """
        self._validate_params()  # transform works unfitted (the imager is stateless)
        n_eta, n_phi, eta_range, phi_range, intensity = self._geometry()
        X = self._check_input(X)
        out = np.empty((len(X), len(intensity), n_phi, n_eta), dtype=np.float32)
        geometry = (n_eta, n_phi, eta_range, phi_range, intensity)

        def numpy_engine(start, stop):
            self._images(X[start:stop], start, out[start:stop], *geometry)

        kernel = self._numba_kernel()
        if kernel is not None:
            kinds = np.array([INTENSITIES.index(k) for k in intensity], dtype=np.int64)
            errors = kernel(
                X,
                self.input_format == "epxpypz",
                self.center,
                self.rotate,
                self.flip,
                self.normalize,
                kinds,
                *eta_range,
                *phi_range,
                out,
            )
            bad = np.flatnonzero(errors[:, 0])
            if len(bad):  # the NumPy engine words the error for the first bad jet
                numpy_engine(int(bad[0]), int(bad[0]) + 1)
            return out
        for start in range(0, len(X), self.chunk_size):
            numpy_engine(start, min(start + self.chunk_size, len(X)))
        return out

    def _numba_kernel(self):
        """Return the compiled kernel, or None for the NumPy engine."""
        if self.engine == "numpy":
            return None
        try:
            from ._jet_numba import jet_images
        except ImportError:
            if self.engine == "numba":
                raise ImportError(
                    'JetImager(engine="numba") needs numba: pip install "hepclf[fast]"'
                ) from None
            return None
        return jet_images

    # -- the arithmetic -------------------------------------------------------------
    def _constituents(self, X, offset, need_energy):
        """Non-padding constituents as flat arrays: jet index, pt, eta, phi, energy.

        Only the non-padding rows are converted to float64 and transformed, so
        the cost follows the number of constituents, not the padded size.
        """
        present = check_four_vectors(
            X, self.input_format, name=type(self).__name__, offset=offset
        )
        jet = np.repeat(np.arange(len(X)), present.sum(axis=1))
        rows = X[present].astype(np.float64, copy=False)
        if self.input_format == "epxpypz":
            E, px, py, pz = rows.T
            pt, eta, phi = pt_eta_phi(px, py, pz)
        else:
            pt, eta, phi = rows[:, 0], rows[:, 1], rows[:, 2]
            E = None
            if need_energy:
                E = energy(pt, eta, rows[:, 3] if rows.shape[1] == 4 else 0.0)
        return jet, pt, eta, phi, E

    def _images(self, X, offset, out, n_eta, n_phi, eta_range, phi_range, intensity):
        """Write the images of jets ``X`` (the first is jet ``offset``) into ``out``."""
        n_jets = len(X)
        jet, pt, eta, phi, E = self._constituents(X, offset, "energy" in intensity)
        # each jet's first constituent is the reference for phi wrap-around
        first = np.minimum(
            np.searchsorted(jet, np.arange(n_jets)), max(len(jet) - 1, 0)
        )
        phi_ref = phi[first] if len(jet) else np.zeros(n_jets)

        # constituents come grouped by jet (np.nonzero is row-major), so per-jet
        # sums are segment sums: np.add.reduceat, several times faster than bincount
        counts = np.bincount(jet, minlength=n_jets)
        nonempty = counts > 0
        starts = (np.cumsum(counts) - counts)[nonempty]

        def per_jet_sum(weights):
            total = np.zeros(n_jets)
            if len(weights):
                total[nonempty] = np.add.reduceat(weights, starts)
            return total

        if self.center or self.rotate or self.flip:
            sum_pt = per_jet_sum(pt)
            safe = np.where(sum_pt > 0, sum_pt, 1.0)
            dphi_ref = wrap_phi(phi - phi_ref[jet])
            eta_c = per_jet_sum(pt * eta) / safe
            phi_c = phi_ref + per_jet_sum(pt * dphi_ref) / safe
            x = eta - eta_c[jet]
            y = wrap_phi(phi - phi_c[jet])
        else:
            # absolute coordinates as given: no round trip through the centroid,
            # whose rounding depends on the constituent order
            x, y = eta, wrap_phi(phi)

        if self.rotate:
            sxx, syy, sxy = (
                per_jet_sum(pt * x * x),
                per_jet_sum(pt * y * y),
                per_jet_sum(pt * x * y),
            )
            theta = 0.5 * np.arctan2(2 * sxy, sxx - syy)  # major axis w.r.t. eta
            alpha = np.pi / 2 - theta
            cos, sin = np.cos(alpha)[jet], np.sin(alpha)[jet]
            x, y = x * cos - y * sin, x * sin + y * cos
        if self.flip:
            for coord in (x, y):
                balance = per_jet_sum(pt * np.sign(coord))
                coord *= np.where(balance < 0, -1.0, 1.0)[jet]
        if not self.center and (self.rotate or self.flip):
            x = x + eta_c[jet]
            y = wrap_phi(y + phi_c[jet])

        ix = np.floor((x - eta_range[0]) * (n_eta / (eta_range[1] - eta_range[0])))
        iy = np.floor((y - phi_range[0]) * (n_phi / (phi_range[1] - phi_range[0])))
        inside = (ix >= 0) & (ix < n_eta) & (iy >= 0) & (iy < n_phi)
        jet_in = jet[inside]
        n_pix = n_eta * n_phi
        flat = jet_in * n_pix + (iy[inside] * n_eta + ix[inside]).astype(np.int64)
        weights = {"pt": pt, "energy": E, "count": np.ones_like(pt)}
        for c, kind in enumerate(intensity):
            w = weights[kind]
            total = per_jet_sum(np.where(inside, w, 0.0))
            if self.normalize:  # per-jet sums over constituents, not over pixels
                w = w / np.where(total > 0, total, 1.0)[jet]
            elif total.max(initial=0.0) > FLOAT32_MAX:
                bad = offset + int(np.argmax(total))
                raise ValueError(
                    f"{type(self).__name__}: the {kind} in jet {bad} sums to "
                    f"{total.max():.3g}, beyond float32 images (max {FLOAT32_MAX:.3g}); "
                    "check the units or use normalize=True"
                )
            pixels = np.bincount(flat, w[inside], minlength=n_jets * n_pix)
            out[:, c] = pixels.reshape(n_jets, n_phi, n_eta)


register_graph(JetImager, "hepclf.imaging._jet_graph:JetImageModule")
