"""Drift-chamber hit images: each event's hits binned into pixels, four charge encodings.

The NumPy engine bins the whole batch with array operations, chunk by chunk:
the hits of a chunk are gathered into flat arrays, each hit's pixel is found
on the documented pixel edges (``np.searchsorted``), and the distinct
occupied pixels (``np.unique`` of flat pixel indices) receive their value; no
per-event loop and no dense float64 scratch image. The numba kernel in
``_hits_numba.py`` does the same per event, in one pass that also zeroes the
event's image. Values are computed in float64 and rounded once to float32.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ..base import PaddedInputMixin
from ..export._registry import register_graph
from ..utils._docstrings import fill_doc
from ..utils._param_validation import NonEmptySequenceOf
from ..utils._validation import check_padded

#: The per-hit features, in column order: those of the hit readers and the
#: simulator (``hepclf.datasets``, ``HitEvents.hits``). Only the first three are
#: required; ``geometry="unrolled"`` also needs ``layer``. The others are
#: carried along (and ignored) so that the readers' arrays can be passed as
#: they are.
HIT_FEATURES = ("x", "y", "charge", "layer", "wire", "stereo", "drift_time")

#: The charge encodings, one image channel each.
ENCODINGS = ("binary", "total", "average", "per_hit")

#: Field names accepted from awkward record arrays (the first complete list wins).
FIELDS = [HIT_FEATURES, HIT_FEATURES[:4], HIT_FEATURES[:3]]

FLOAT32_MAX = float(np.finfo(np.float32).max)
#: The outer radius of the BESIII main drift chamber, in mm: the default extent.
MDC_OUTER_RADIUS_MM = 810.0

_X_DOC = """X : array-like of shape (n_events, n_hits, 3 to 7), list of arrays \
or awkward.Array
    Detector hits per event, one row each, columns in the order of the hit
    readers (``HitEvents.hits``): ``x, y`` (mm), ``charge`` (ADC counts, not
    negative), then optionally ``layer`` (whole number, needed by
    ``geometry="unrolled"``), ``wire``, ``stereo``, ``drift_time``, which are
    not used otherwise. A row whose x, y and charge are all 0 is padding
    (anywhere in the event; its other columns are ignored). Ragged input (a
    list of per-event 2-D arrays, or an awkward array of numbers or of records
    with fields ``x, y, charge[, layer, wire, stereo, drift_time]``) is padded
    first."""

#: Fills ``%(X)s`` and ``%(y)s`` in the docstrings of the methods.
_fill_doc = fill_doc(
    X=_X_DOC,
    y="""y : None
    Ignored; present for the Pipeline API.""",
)


class EnergyEncoder(PaddedInputMixin, TransformerMixin, BaseEstimator):
    """Turn the hits of drift-chamber events into images, with their charge encoded.

    Each event becomes an image of its hits: in the transverse ``(x, y)``
    plane (``geometry="xy"``), or unrolled, one row per layer and one column
    per azimuth bin (``geometry="unrolled"``). What a pixel with hits holds is
    the ``encoding``, after the four encodings of the drift-chamber tutorial
    this data kind grew from (seed 001):

    * ``"binary"``: 1 (the pattern of the hits only);
    * ``"total"``: the event's total charge (the sum over all its hits);
    * ``"average"``: the event's total charge divided by its number of hits;
    * ``"per_hit"``: the hits' own charges.

    A sequence of encodings makes one channel per entry, in the given order.
    ``"total"``, ``"average"`` and ``"per_hit"`` are divided by a scale
    learned in :meth:`fit` from the training events only (the seed
    "normalised the data set"), so that cross-validation does not leak the
    scale of the test events into training.

    Parameters
    ----------
    encoding : {"binary", "total", "average", "per_hit"} or sequence of them, \
default="per_hit"
        What an occupied pixel holds, see above; a sequence gives one channel
        per entry. Several hits in one pixel: ``"binary"`` gives 1,
        ``"total"`` and ``"average"`` give the event's value once (not
        multiplied by the number of hits, since the value belongs to the
        event), ``"per_hit"`` gives the sum of the hits' charges.
    npix : int, default=64
        ``"xy"``: pixels along x and along y. ``"unrolled"``: azimuth bins
        (columns) per layer.
    extent : float, default=810.0
        Half-size of the ``"xy"`` image in mm: it spans ``[-extent, extent]``
        in x and in y. The default covers the BESIII main drift chamber (outer
        radius 810 mm). Not used by ``"unrolled"``.
    geometry : {"xy", "unrolled"}, default="xy"
        ``"xy"``: the transverse plane, x along the columns and y along the
        rows (row 0 at ``y = -extent``). ``"unrolled"``: row ``l`` holds the
        hits of layer ``l``, and the column is the hit's azimuth
        ``phi = atan2(y, x)`` binned over ``[-pi, pi]`` into ``npix`` bins.
        Every layer has its own row, so stereo and axial layers are never
        mixed. Needs the ``layer`` feature.
    n_layers : int, default=43
        Rows of the ``"unrolled"`` image; layers must lie in ``[0, n_layers)``.
        43 is the BESIII main drift chamber's number of layers.
    outside : {"clip", "drop"}, default="clip"
        ``"xy"`` hits with ``|x|`` or ``|y|`` beyond ``extent``: ``"clip"``
        moves them to the nearest border pixel, ``"drop"`` leaves them out of
        the image (their charge still counts in the event's total and
        average). Either way they are counted: ``n_outside_`` after ``fit``,
        :meth:`count_outside` per event, and :meth:`transform` warns with the
        number of such hits and their events.
    scale_quantile : float in (0, 1] or None, default=0.99
        The scale of each charge channel learned by :meth:`fit` is this
        quantile of the training values: the events' totals (``"total"``),
        the events' averages (``"average"``), the hits' charges
        (``"per_hit"``); events without hits are left out. 1.0 is the maximum;
        the default, a high quantile, is not set by one Landau-tail hit.
        Values above the scale give pixels above 1. None: no scaling (pixels
        in ADC counts, and ``transform`` needs no ``fit``).
    chunk_size : int, default=4096
        Events processed at once by the NumPy engine; bounds the memory of
        intermediate arrays.
    engine : {"auto", "numba", "numpy"}, default="auto"
        ``"numba"``: a compiled kernel, one pass per event writing its image,
        events in parallel (needs numba: ``pip install "hepclf[fast]"``);
        ``"numpy"``: array operations over chunks of events; ``"auto"``: numba
        when installed. Both give the same images.

    Attributes
    ----------
    n_features_in_ : int
        Number of features per hit seen in :meth:`fit`.
    n_channels_ : int
        Number of output channels.
    channel_names_ : list of str
        The encoding of each channel.
    scale_ : ndarray of shape (n_channels,)
        What each channel is divided by (1.0 for ``"binary"`` and with
        ``scale_quantile=None``).
    row_edges_ : ndarray of shape (n_rows + 1,)
        Pixel edges along the rows (image axis -2): y in mm, or layer numbers.
    column_edges_ : ndarray of shape (npix + 1,)
        Pixel edges along the columns (image axis -1): x in mm, or phi in rad.
    n_outside_ : int
        Hits beyond ``extent`` in the data given to ``fit`` (0 for
        ``"unrolled"``).

    See Also
    --------
    hepclf.JetImager : images of jet constituents.
    hepclf.EventImager : images of reconstructed collision events.

    Notes
    -----
    Output: ``float32`` images of shape ``(n_events, n_channels, npix,
    npix)`` for ``"xy"`` and ``(n_events, n_channels, n_layers, npix)`` for
    ``"unrolled"``; image ``i`` belongs to event ``i``. An event without hits
    gives all-zero images. Draw an ``"xy"`` image with ``imshow(image,
    origin="lower", extent=(-extent, extent, -extent, extent))``.

    Pixels: a hit lies in pixel ``j`` when ``edges[j] <= value <
    edges[j + 1]``, the last pixel also holding ``value == edges[-1]`` (the
    rule of ``numpy.histogram2d``), so ``|x| = extent`` is inside. An azimuth
    of exactly pi lies in the last column.

    Errors: NaN or inf, a negative charge, ``"unrolled"`` input without the
    layer feature, or a layer that is not a whole number in ``[0, n_layers)``
    give a ``ValueError`` naming the event.

    For stereo layers, the ``(x, y)`` of the seed's data (the mean of the
    wire's east and west ends) is the wire's midpoint, not where the track
    crossed it; both geometries bin what they are given.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf import EnergyEncoder
    >>> # one event, two hits (x, y in mm, charge in ADC counts), one padding row
    >>> hits = np.array([[[100.0, -50.0, 600.0], [-300.0, 20.0, 200.0],
    ...                   [0.0, 0.0, 0.0]]])
    >>> encoder = EnergyEncoder(encoding=["binary", "total", "per_hit"], npix=8,
    ...                         scale_quantile=None)
    >>> images = encoder.fit_transform(hits)
    >>> images.shape, images.dtype
    ((1, 3, 8, 8), dtype('float32'))
    >>> [float(images[0, c].max()) for c in range(3)]
    [1.0, 800.0, 600.0]
    """

    _parameter_constraints: ClassVar[dict] = {
        "encoding": [
            StrOptions(set(ENCODINGS)),
            NonEmptySequenceOf(StrOptions(set(ENCODINGS))),
        ],
        "npix": [Interval(Integral, 1, None, closed="left")],
        "extent": [Interval(Real, 0, None, closed="neither")],
        "geometry": [StrOptions({"xy", "unrolled"})],
        "n_layers": [Interval(Integral, 1, None, closed="left")],
        "outside": [StrOptions({"clip", "drop"})],
        "scale_quantile": [None, Interval(Real, 0, 1, closed="right")],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "engine": [StrOptions({"auto", "numba", "numpy"})],
    }

    def __init__(
        self,
        *,
        encoding="per_hit",
        npix=64,
        extent=MDC_OUTER_RADIUS_MM,
        geometry="xy",
        n_layers=43,
        outside="clip",
        scale_quantile=0.99,
        chunk_size=4096,
        engine="auto",
    ):
        self.encoding = encoding
        self.npix = npix
        self.extent = extent
        self.geometry = geometry
        self.n_layers = n_layers
        self.outside = outside
        self.scale_quantile = scale_quantile
        self.chunk_size = chunk_size
        self.engine = engine

    # -- parameters -------------------------------------------------------------
    def _encodings(self):
        enc = self.encoding
        return (enc,) if isinstance(enc, str) else tuple(enc)

    def _stateless(self):
        """Whether ``transform`` needs nothing from ``fit``."""
        return self.scale_quantile is None or set(self._encodings()) <= {"binary"}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            tags.requires_fit = not self._stateless()
        except TypeError:  # an invalid encoding: fit will say so
            tags.requires_fit = True
        return tags

    def _edges(self):
        """Pixel edges along the rows and the columns."""
        if self.geometry == "xy":
            e = float(self.extent)
            edges = np.linspace(-e, e, self.npix + 1)
            return edges, edges
        return (
            np.arange(self.n_layers + 1, dtype=np.float64),
            np.linspace(-np.pi, np.pi, self.npix + 1),
        )

    # -- input ------------------------------------------------------------------
    def _check_input(self, X):
        """Pad, check and return the hits (errors name the event)."""
        name = type(self).__name__
        X = check_padded(X, n_features=(3, 4, 5, 6, 7), name=name, fields=FIELDS)
        if self.geometry == "unrolled" and X.shape[2] < 4:
            raise ValueError(
                f"{name}: geometry='unrolled' needs the layer feature (column 3, "
                f"after x, y, charge); the input has {X.shape[2]} features per hit"
            )
        fitted = getattr(self, "n_features_in_", None)
        if fitted is not None and X.shape[2] != fitted:
            raise ValueError(
                f"{name}: X has {X.shape[2]} features per hit, but {name} was "
                f"fitted with {fitted}"
            )
        block = max(1, (1 << 22) // max(1, X.shape[1]))
        for start in range(0, len(X), block):
            self._check_hits(X[start : start + block], start, name)
        return X

    def _check_hits(self, X, offset, name):
        charge = X[..., 2]
        negative = charge < 0
        if negative.any():
            event, hit = np.argwhere(negative)[0]
            raise ValueError(
                f"{name}: negative charge in event {offset + int(event)} "
                f"(hit {int(hit)}: {float(charge[event, hit]):g}); charges are "
                "ADC counts, 0 or more"
            )
        if self.geometry == "unrolled":
            present = (X[..., 0] != 0) | (X[..., 1] != 0) | (charge != 0)
            layer = X[..., 3]
            bad = present & (
                (layer != np.floor(layer)) | (layer < 0) | (layer >= self.n_layers)
            )
            if bad.any():
                event, hit = np.argwhere(bad)[0]
                raise ValueError(
                    f"{name}: layer {float(layer[event, hit]):g} of hit {int(hit)} "
                    f"in event {offset + int(event)} is not a whole number in "
                    f"[0, {self.n_layers}) (n_layers={self.n_layers})"
                )

    def _outside(self, X):
        """Mask of the hits beyond ``extent`` (all False for ``"unrolled"``)."""
        if self.geometry != "xy":
            return np.zeros(X.shape[:2], dtype=bool)
        e = float(self.extent)
        return (np.abs(X[..., 0]) > e) | (np.abs(X[..., 1]) > e)

    # -- sklearn API ------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    @_fill_doc
    def fit(self, X, y=None):
        """Learn the scale of each charge channel from the training hits.

        Parameters
        ----------
        %(X)s
        %(y)s

        Returns
        -------
        self : EnergyEncoder
            The encoder, with ``scale_``, the pixel edges and ``n_outside_``
            set.
        """
        for attr in ("n_features_in_", "scale_"):  # refitting starts afresh
            self.__dict__.pop(attr, None)
        X = self._check_input(X)
        encodings = self._encodings()
        totals, counts, charges = [], [], []
        for start in range(0, len(X), self.chunk_size):
            chunk = X[start : start + self.chunk_size]
            event, _, _, q, _ = _hits(chunk)
            counts.append(np.bincount(event, minlength=len(chunk)))
            totals.append(np.bincount(event, weights=q, minlength=len(chunk)))
            charges.append(q)
        total, count = np.concatenate(totals), np.concatenate(counts)
        with_hits = count > 0
        values = {
            "total": total[with_hits],
            "average": total[with_hits] / count[with_hits],
            "per_hit": np.concatenate(charges),
        }
        scale = np.ones(len(encodings))
        if self.scale_quantile is not None:
            for c, enc in enumerate(encodings):
                if enc != "binary" and len(values[enc]):
                    s = float(np.quantile(values[enc], self.scale_quantile))
                    scale[c] = s if s > 0 else 1.0
        self.n_features_in_ = X.shape[2]
        self.n_channels_ = len(encodings)
        self.channel_names_ = list(encodings)
        self.scale_ = scale
        self.row_edges_, self.column_edges_ = self._edges()
        self.n_outside_ = int(self._outside(X).sum())
        return self

    @_fill_doc
    def count_outside(self, X):
        """Count the hits of each event that lie beyond ``extent``.

        How they are drawn is ``outside``'s choice; ``"unrolled"`` images have
        no extent (every count is 0).

        Parameters
        ----------
        %(X)s

        Returns
        -------
        counts : ndarray of shape (n_events,), int64
            Hits beyond the extent per event.
        """
        self._validate_params()
        X = self._check_input(X)
        return self._outside(X).sum(axis=1).astype(np.int64)

    @_fill_doc
    def transform(self, X):
        """Make the hit images.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        images : ndarray of shape (n_events, n_channels, n_rows, npix), float32
            Image ``i`` belongs to event ``i``; ``n_rows`` is ``npix`` for
            ``"xy"`` and ``n_layers`` for ``"unrolled"``.
        """
        self._validate_params()
        encodings = self._encodings()
        scale = self._scales(encodings)
        X = self._check_input(X)
        row_edges, col_edges = self._edges()
        n_rows, n_cols = len(row_edges) - 1, len(col_edges) - 1
        shape = (len(X), len(encodings), n_rows, n_cols)
        kernel = self._numba_kernel()
        if kernel is not None:
            out = np.empty(shape, dtype=np.float32)
            lost, overflow = kernel(
                X,
                self.geometry == "unrolled",
                float(self.extent),
                self.outside == "clip",
                np.array([ENCODINGS.index(e) for e in encodings], dtype=np.int64),
                scale,
                row_edges,
                col_edges,
                out,
            )
            if overflow.any():  # the NumPy engine words the error
                i = int(np.argmax(overflow))
                self._encode(
                    X[i : i + 1], i, encodings, scale, row_edges, col_edges, out
                )
        else:
            out = np.zeros(shape, dtype=np.float32)
            lost = np.zeros(len(X), dtype=np.int64)
            for start in range(0, len(X), self.chunk_size):
                stop = min(start + self.chunk_size, len(X))
                lost[start:stop] = self._encode(
                    X[start:stop], start, encodings, scale, row_edges, col_edges, out
                )
        if lost.any():
            events = np.flatnonzero(lost)
            shown = ", ".join(map(str, events[:5])) + (
                ", ..." if len(events) > 5 else ""
            )
            what = (
                "clipped to the border pixels"
                if self.outside == "clip"
                else "left out of the images"
            )
            warnings.warn(
                f"{type(self).__name__}: {int(lost.sum())} hit(s) lie beyond the "
                f"extent (|x| or |y| > {float(self.extent):g} mm) and are {what} "
                f"(outside={self.outside!r}; events {shown})",
                UserWarning,
                stacklevel=2,
            )
        return out

    def _numba_kernel(self):
        """Return the compiled kernel, or None for the NumPy engine."""
        if self.engine == "numpy":
            return None
        try:
            from ._hits_numba import hit_images
        except ImportError:
            if self.engine == "numba":
                raise ImportError(
                    'EnergyEncoder(engine="numba") needs numba: '
                    'pip install "hepclf[fast]"'
                ) from None
            return None
        return hit_images

    def _scales(self, encodings):
        """Return the divisor of each channel, from ``fit`` where one is needed."""
        if self.scale_quantile is None:
            return np.ones(len(encodings))
        if set(encodings) <= {"binary"}:
            return np.ones(len(encodings))
        check_is_fitted(self, "scale_")
        fitted = dict(zip(self.channel_names_, self.scale_, strict=True))
        missing = [e for e in encodings if e != "binary" and e not in fitted]
        if missing:
            raise ValueError(
                f"{type(self).__name__}: fitted with encoding {self.channel_names_}, "
                f"which has no scale for {missing}; call fit again"
            )
        return np.array([1.0 if e == "binary" else fitted[e] for e in encodings])

    # -- the arithmetic -----------------------------------------------------------
    def _encode(self, X, offset, encodings, scale, row_edges, col_edges, out):
        """Write the images of events ``X`` (the first is ``offset``) into ``out``.

        Returns the number of hits beyond the extent per event.
        """
        n_events = len(X)
        n_rows, n_cols = len(row_edges) - 1, len(col_edges) - 1
        event, x, y, q, rows = _hits(X)
        total = np.bincount(event, weights=q, minlength=n_events)
        count = np.bincount(event, minlength=n_events)
        lost = np.zeros(n_events, dtype=np.int64)
        if self.geometry == "xy":
            e = float(self.extent)
            far = (np.abs(x) > e) | (np.abs(y) > e)
            lost = np.bincount(event[far], minlength=n_events)
            if self.outside == "clip":
                x, y = np.clip(x, -e, e), np.clip(y, -e, e)
            else:
                keep = ~far
                event, x, y, q = event[keep], x[keep], y[keep], q[keep]
            col, row = _bin(x, col_edges), _bin(y, row_edges)
        else:
            col = _bin(np.arctan2(y, x), col_edges)
            row = rows[:, 3].astype(np.int64)  # checked: whole, in [0, n_layers)
        image = n_rows * n_cols
        n_channels = out.shape[1]
        pixel, inverse = np.unique(
            event * image + row * n_cols + col, return_inverse=True
        )
        pixel_event = pixel // image
        # flat index of channel 0 of each occupied pixel in the whole output
        base = (offset + pixel_event) * (n_channels * image) + pixel % image
        flat = out.reshape(-1)
        per_hit = None
        for c, enc in enumerate(encodings):
            if enc == "binary":
                values = np.ones(len(pixel))
            elif enc == "total":
                values = total[pixel_event] / scale[c]
            elif enc == "average":
                values = (total / np.maximum(count, 1))[pixel_event] / scale[c]
            else:
                if per_hit is None:
                    per_hit = np.bincount(inverse, weights=q, minlength=len(pixel))
                values = per_hit / scale[c]
            if len(values) and values.max() > FLOAT32_MAX:
                bad = offset + int(pixel_event[np.argmax(values)])
                raise ValueError(
                    f"{type(self).__name__}: the {enc} charge of event {bad} is "
                    f"{values.max():.3g}, beyond float32 images (max "
                    f"{FLOAT32_MAX:.3g}); check the units"
                )
            flat[base + c * image] = values
        return lost


def _hits(X):
    """Return the non-padding hits of ``X`` as flat float64 arrays: event, x, y, q.

    Also returns the hits' rows as they are (all features). Hits come grouped
    by event, in row order.
    """
    present = (X[..., 0] != 0) | (X[..., 1] != 0) | (X[..., 2] != 0)
    event = np.nonzero(present)[0]
    rows = X[present]
    x, y, q = (rows[:, k].astype(np.float64) for k in range(3))
    return event, x, y, q, rows


def _bin(values, edges):
    """Pixel of each value: ``edges[j] <= v < edges[j + 1]``, the last edge closed.

    The caller ensures every value lies within ``[edges[0], edges[-1]]``.
    """
    j = np.searchsorted(edges, values, side="right") - 1
    return np.clip(j, 0, len(edges) - 2)


register_graph(
    EnergyEncoder,
    reason=(
        "its pixel binning scatters a variable number of hits per event "
        "(np.unique and searchsorted on the hits); no ONNX graph is written for it"
    ),
)
