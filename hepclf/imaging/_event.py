"""Event images: reconstructed objects drawn as discs or rings on an (eta, phi) canvas.

The rasteriser works per pixel row: for every object and every row it covers,
the covered columns form one interval (a disc) or two (a ring), computed in
float64 by the span formulas below. The NumPy engine expands those intervals
into pixel indices for the whole chunk of events at once (no loop over events
or objects) and sums them with ``np.bincount``; the numba kernel in
``_event_numba.py`` walks the same intervals event by event, adding in the
same order, and both give the same images bit for bit.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import ClassVar, NamedTuple

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

from ..base import PaddedInputMixin
from ..export._registry import register_graph
from ..kinematics import wrap_phi
from ..kinematics._formulas import PI, TWO_PI
from ..utils._docstrings import fill_doc
from ..utils._param_validation import Pair, Range, _Custom
from ..utils._validation import check_padded

#: Integer type code of each kind of reconstructed object (column 0 of the
#: input). Code 0 marks a padding row. Codes are stable: new kinds get new codes.
OBJECT_TYPES = {
    "electron": 1,
    "muon": 2,
    "tau": 3,
    "photon": 4,
    "jet": 5,
    "bjet": 6,
    "met": 7,
}
#: Type code of padding rows.
PADDING = 0
_NAMES = {code: name for name, code in OBJECT_TYPES.items()}
_MAX_CODE = max(OBJECT_TYPES.values())
_MET = OBJECT_TYPES["met"]

#: Field names accepted from awkward record arrays (the first complete list wins).
FIELDS = [("type", "pt", "eta", "phi")]

#: RGB colours (0-255) of the seed's images (jzyee/cms_image_classification):
#: per object type, and the background.
SEED_COLORS = {
    "electron": (0, 0, 255),
    "muon": (0, 128, 0),
    "bjet": (255, 0, 0),
    "jet": (255, 125, 125),
    "met": (0, 0, 0),
    "background": (255, 255, 255),
}

#: Painting order of ``channels="rgb"`` (later ranks are drawn over earlier
#: ones; within a rank, later rows over earlier rows): the seed drew electrons,
#: muons, jets (b-tagged or not, in jet order), then MET.
DRAW_ORDER = {
    "electron": 0,
    "muon": 1,
    "tau": 2,
    "photon": 3,
    "jet": 4,
    "bjet": 4,
    "met": 5,
}

#: The seed's circle: diameter ``log_1.1(pT)`` pixels on a 224-pixel canvas
#: spanning eta in [-3, 3] and phi in [-pi, pi], as a radius per unit ln(pT)
#: in eta units and in rad.
_SEED_RADIUS = (3.0 / (224 * math.log(1.1)), PI / (224 * math.log(1.1)))

#: What ``preset`` fills in for every parameter left at None.
PRESETS = {
    "hepclf": {
        "npix": 64,
        "eta_range": (-3.0, 3.0),
        "channels": tuple(OBJECT_TYPES),
        "intensity": "pt",
        "shape": "disc",
        "radius_scale": 0.14,
        "line_width": 1.0,
        "met": "band",
        "periodic_phi": True,
        "outside_eta": "clip",
        "colors": SEED_COLORS,
    },
    "seed": {
        "npix": 224,
        "eta_range": (-3.0, 3.0),
        "channels": "rgb",
        "intensity": "pt",
        "shape": "outline",
        "radius_scale": _SEED_RADIUS,
        "line_width": 4 * 56 / 72,  # 4 pt at 56 dpi
        "met": "eta0",
        "periodic_phi": False,
        "outside_eta": "crop",
        "colors": SEED_COLORS,
    },
}

#: Smallest semi-axis of a drawn disc, in pixels: every object covers at least
#: the pixel its centre lies in.
MIN_RADIUS_PX = 0.75
_PHI_LO = -PI
FLOAT32_MAX = float(np.finfo(np.float32).max)


# -- the span formulas (compiled unchanged by numba in _event_numba.py) ----------------
def _half_width(a, dy, b):
    """Half-width (pixels) at row offset ``dy`` of an ellipse with semi-axes a, b.

    The caller ensures ``|dy| <= b`` (the clamp only absorbs rounding).
    """
    q = dy / b
    return a * np.sqrt(np.maximum(1.0 - q * q, 0.0))


def _covered(u0, h):
    """Columns whose centre ``c + 0.5`` lies within ``h`` of ``u0``: ``[start, stop)``."""
    return np.ceil(u0 - h - 0.5), np.floor(u0 + h - 0.5) + 1.0


def _hole(u0, h):
    """Columns whose centre lies strictly within ``h`` of ``u0``: ``[start, stop)``."""
    start = np.floor(u0 - h - 0.5) + 1.0
    return start, np.maximum(np.ceil(u0 + h - 0.5), start)


def _clamp(v, lo, hi):
    return np.minimum(np.maximum(v, lo), hi)


class _Recipe(NamedTuple):
    """The parameters with the preset filled in, in the form the engines use."""

    n_eta: int
    n_phi: int
    eta_range: tuple[float, float]
    rgb: bool
    channel_of: np.ndarray  # (n_codes,) channel per type code, -1: not drawn
    channel_names: list[str]
    palette: np.ndarray  # (n_codes, 3) float32; row 0 is the background
    has_color: np.ndarray  # (n_codes,) bool
    rank: np.ndarray  # (n_codes,) painting rank
    count: bool  # intensity "count" (else "pt")
    outline: bool
    radius_scale: tuple[float, float]
    half_line: float
    band: bool
    periodic: bool
    clip: bool

    @property
    def n_channels(self):
        return 3 if self.rgb else len(self.channel_names)

    @property
    def scales(self):
        """Pixels per unit eta and per rad."""
        lo, hi = self.eta_range
        return self.n_eta / (hi - lo), self.n_phi / TWO_PI

    @property
    def row_phi(self):
        """Phi (rad) of the centre of each pixel row."""
        return _PHI_LO + (np.arange(self.n_phi) + 0.5) * (TWO_PI / self.n_phi)


# -- parameter constraints --------------------------------------------------------------
class _Channels(_Custom):
    """A non-empty sequence of object type names or groups of them, none twice."""

    def is_satisfied_by(self, val):
        if not isinstance(val, (tuple, list)) or not val:
            return False
        seen = []
        for item in val:
            group = (item,) if isinstance(item, str) else item
            if not isinstance(group, (tuple, list)) or not group:
                return False
            if not all(isinstance(t, str) and t in OBJECT_TYPES for t in group):
                return False
            seen.extend(group)
        return len(seen) == len(set(seen))

    def __str__(self):
        return (
            "a non-empty tuple or list of object type names "
            f"({', '.join(map(repr, OBJECT_TYPES))}) or tuples of them, each "
            "type at most once"
        )


class _Colors(_Custom):
    """A dict from object type names (and "background") to RGB triples in [0, 255]."""

    def is_satisfied_by(self, val):
        if not isinstance(val, dict) or not val:
            return False
        for key, rgb in val.items():
            if key not in OBJECT_TYPES and key != "background":
                return False
            if not isinstance(rgb, (tuple, list)) or len(rgb) != 3:
                return False
            if not all(
                isinstance(v, Real) and not isinstance(v, bool) and 0 <= v <= 255
                for v in rgb
            ):
                return False
        return True

    def __str__(self):
        return (
            "a dict mapping object type names or 'background' to (r, g, b) "
            "triples of numbers in [0, 255]"
        )


_X_DOC = """X : array-like of shape (n_events, n_objects, 4 or 5), list of arrays \
or awkward.Array
    Reconstructed objects per event, one row each: ``(type, pt, eta, phi)``
    with the integer type code of :data:`OBJECT_TYPES`, pt in GeV and phi in
    rad; a fifth column (mass, charge, a b-tag score...) is ignored. Rows of
    type 0 are padding (their pt must be 0). Ragged input (a list of
    per-event 2-D arrays, or an awkward array of numbers or of records with
    fields ``type, pt, eta, phi``) is padded first."""

#: Fills ``%(X)s`` and ``%(y)s`` in the docstrings of ``fit`` and ``transform``.
_fill_doc = fill_doc(
    X=_X_DOC,
    y="""y : None
    Ignored; present for the Pipeline API.""",
)


def check_event_objects(X, name, *, offset=0):
    """Raise ``ValueError`` for bad type codes or pT of padded objects.

    The checks every consumer of event objects shares (``EventImager``,
    ``EventFeatures``, the ``"objects"`` network input): whole, known type
    codes; pT not negative; zero pT exactly on padding rows. Messages name
    ``name`` and the event (``offset`` plus the row in ``X``).

    Parameters
    ----------
    X : ndarray of shape (n_events, n_objects, >= 2)
        Finite padded objects; columns 0 and 1 are the type code and the pT.
    name : str
        How to call the caller in error messages.
    offset : int, default=0
        Index of the first event of ``X`` in the caller's input.
    """
    types, pt = X[..., 0], X[..., 1]

    def first(mask):
        return offset + int(np.argwhere(mask)[0, 0])

    def first_value(mask):
        return types[tuple(np.argwhere(mask)[0])]

    fractional = types != np.floor(types)
    if fractional.any():
        raise ValueError(
            f"{name}: object type codes must be whole numbers, got "
            f"{float(first_value(fractional))!r} in event {first(fractional)}"
        )
    unknown = (types < 0) | (types > _MAX_CODE)
    if unknown.any():
        known = ", ".join(f"{c} ({n})" for n, c in OBJECT_TYPES.items())
        raise ValueError(
            f"{name}: unknown object type code {int(first_value(unknown))} in "
            f"event {first(unknown)}; known codes: 0 (padding), {known} "
            "(hepclf.imaging.OBJECT_TYPES)"
        )
    if (pt < 0).any():
        raise ValueError(
            f"{name}: negative transverse momentum in event {first(pt < 0)}"
        )
    padding = types == PADDING
    stray = padding & (pt != 0)
    if stray.any():
        raise ValueError(
            f"{name}: a padding row (type 0) has non-zero pT in event "
            f"{first(stray)}; give every object its type code "
            "(hepclf.imaging.OBJECT_TYPES)"
        )
    zero = ~padding & (pt == 0)
    if zero.any():
        code = int(first_value(zero))
        raise ValueError(
            f"{name}: a {_NAMES[code]} (type {code}) has zero pT in event "
            f"{first(zero)}; only padding rows (type 0) may have zero pT"
        )


class EventImager(PaddedInputMixin, TransformerMixin, BaseEstimator):
    """Draw the reconstructed objects of collision events as images.

    Each event becomes an image of the (pseudorapidity eta, azimuth phi) plane
    -- eta along the columns, phi along the rows -- on which every object
    (electron, muon, tau, photon, jet, b-jet, missing transverse momentum) is a
    disc or a ring centred on its direction whose radius grows with ln(pT).
    By default each object type has its own channel and a disc carries its
    object's pT spread evenly over its pixels; ``preset="seed"`` reproduces the
    RGB outline images of the CMS event-classification poster this kind grew
    from. The whole batch is rasterised with array operations (or a numba
    kernel), in chunks of ``chunk_size`` events.

    Read more in the :ref:`User Guide <events>`.

    Parameters
    ----------
    preset : {"hepclf", "seed"}, default="hepclf"
        Fills every parameter below that is left at None. ``"hepclf"``: 64x64
        pixels, one channel per object type, pT-weighted discs, phi periodic,
        objects beyond ``eta_range`` drawn at its edge, MET as a band.
        ``"seed"``: the seed's images -- 224x224 RGB (0-255) on white, ring
        outlines 4 pt (3.1 px) wide of diameter ``log_1.1(pT)`` pixels, MET at
        eta = 0, no wrap-around, objects cropped at the canvas edge. The
        values are in :data:`PRESETS`.
    npix : int or (int, int), default=None
        Pixels along eta and phi; a pair gives ``(n_eta, n_phi)``.
        None: 64 (``"hepclf"``), 224 (``"seed"``).
    eta_range : (float, float), default=None
        The canvas along eta (left to right); phi always spans
        ``[-pi, pi)`` from the bottom row to the top row. None: (-3, 3).
    channels : "rgb" or sequence of str or of tuples of str, default=None
        One channel per entry: a type name of :data:`OBJECT_TYPES` or a tuple
        of them drawn together (``("electron", "muon", ("jet", "bjet"),
        "met")``); types not listed are not drawn. ``"rgb"``: three colour
        channels (0-255) painted with ``colors`` in :data:`DRAW_ORDER` over
        the background, as the seed did. None: one channel per type, in the
        order of :data:`OBJECT_TYPES` (``"hepclf"``); ``"rgb"`` (``"seed"``).
    intensity : {"pt", "count"}, default=None
        With channels per type, what each object adds to its channel, spread
        evenly over the pixels it covers: its pT (GeV) or 1. The image sum is
        then the pT (or number) of the drawn objects. Ignored with ``"rgb"``.
        None: ``"pt"``.
    shape : {"disc", "outline"}, default=None
        Filled discs, or rings ``line_width`` pixels wide. None: ``"disc"``
        (``"hepclf"``), ``"outline"`` (``"seed"``).
    radius_scale : float or (float, float), default=None
        Radius per unit ln(pT / GeV), in eta units and in rad (a pair gives
        the two separately). Lengths are thus relative to the canvas: the same
        picture at any ``npix``. Semi-axes shorter than 0.75 pixel are
        lengthened to 0.75 pixel, so that an object always covers its own
        pixel. None: 0.14 (``"hepclf"``); ``(3, pi) / (224 ln 1.1)``, the
        seed's circle of diameter ``log_1.1(pT)`` pixels (``"seed"``).
    line_width : float, default=None
        Width of the rings of ``shape="outline"``, in pixels (at least 1).
        None: 1 (``"hepclf"``), 4 pt at 56 dpi = 3.11 (``"seed"``).
    met : {"band", "eta0"}, default=None
        Missing transverse momentum has no eta: draw it as a band across the
        whole eta range, as high as its disc would be (``"band"``), or as a
        disc at eta = 0 (``"eta0"``, the seed's choice). The eta of MET rows
        is ignored. None: ``"band"`` (``"hepclf"``), ``"eta0"`` (``"seed"``).
    periodic_phi : bool, default=None
        Wrap the canvas around in phi: a disc crossing phi = +-pi continues at
        the other edge. With False, phi is drawn as given and what crosses the
        edge is cut off. None: True (``"hepclf"``), False (``"seed"``).
    outside_eta : {"clip", "crop"}, default=None
        Objects whose eta lies beyond ``eta_range``: ``"clip"`` moves their
        centre to the nearest edge of the canvas, so that they are always
        drawn; ``"crop"`` draws them where they are, and whatever lies beyond
        the edge is cut off (an object then may not be drawn at all: a warning
        says so). Either way ``fit`` counts them in ``n_outside_`` and
        :meth:`count_outside` counts them per event. None: ``"clip"``
        (``"hepclf"``), ``"crop"`` (``"seed"``).
    colors : dict, default=None
        RGB colours (0-255) for ``channels="rgb"``: type name -> ``(r, g, b)``,
        and ``"background"``. An object of a type without a colour is an
        error. None: the seed's, :data:`SEED_COLORS` (electrons blue, muons
        green, b-jets red, other jets pink, MET black, white background).
    chunk_size : int, default=256
        Events processed at once by the NumPy engine; bounds the memory of
        intermediate arrays.
    engine : {"auto", "numba", "numpy"}, default="auto"
        ``"numba"``: a compiled kernel, events in parallel (needs numba:
        ``pip install "hepclf[fast]"``); ``"numpy"``: array operations over
        chunks of events; ``"auto"``: numba when installed. Both give the
        same images.

    Attributes
    ----------
    n_channels_ : int
        Number of output channels.
    channel_names_ : list of str
        What each channel holds: type names joined by ``"+"``, or
        ``["red", "green", "blue"]``.
    eta_edges_ : ndarray of shape (n_eta + 1,)
        Pixel edges along eta (image axis -1, the columns).
    phi_edges_ : ndarray of shape (n_phi + 1,)
        Pixel edges along phi (image axis -2, the rows; row 0 is lowest phi).
    n_outside_ : dict of str to int
        Objects of each type (MET excluded) whose eta lay beyond
        ``eta_range`` in the data given to ``fit``.

    See Also
    --------
    hepclf.JetImager : images of jet constituents.
    hepclf.imaging.EventImageModule : the same arithmetic in torch, for export.

    Notes
    -----
    Input rows are ``(type, pt, eta, phi[, extra])``. A row of type 0 is
    padding, anywhere in the event; an event with no objects gives an empty
    image (all zeros, or the background colour). Type codes must be those of
    :data:`OBJECT_TYPES`, pt must be positive (zero only on padding rows), and
    NaN or inf are errors.

    Geometry: pixel ``(row r, column c)`` has its centre at ``c + 0.5``,
    ``r + 0.5`` in pixel units; an object at ``(eta, phi)`` with semi-axes
    ``(a, b)`` pixels covers the pixels whose centres lie in its ellipse
    (``radius_scale`` times ln(pT) times pixels per unit, at least 0.75); a
    ring covers those within ``line_width / 2`` of the ellipse, i.e. inside
    the ellipse grown by half the line width and not strictly inside the one
    shrunk by it. With ``periodic_phi`` row distances are taken modulo 2 pi.

    Images are ``float32`` arrays of shape ``(n_events, n_channels, n_phi,
    n_eta)``; draw one with ``imshow(image, origin="lower", extent=(*eta_range,
    -pi, pi))``. The seed's JPEG files have row 0 at the top (phi = +pi):
    ``images[:, :, ::-1]`` gives that layout. The seed's matplotlib drawing
    was anti-aliased and saved as JPEG; these images have hard pixel edges.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf import EventImager
    >>> # one event: a 50 GeV muon and a 120 GeV jet; a padding row
    >>> events = np.array([[[2, 50.0, 0.5, 1.0], [5, 120.0, -1.2, -2.0],
    ...                     [0, 0.0, 0.0, 0.0]]])
    >>> imager = EventImager(npix=32).fit(events)
    >>> images = imager.transform(events)
    >>> images.shape, images.dtype
    ((1, 7, 32, 32), dtype('float32'))
    >>> imager.channel_names_[1], round(float(images[0, 1].sum()), 3)
    ('muon', 50.0)
    >>> EventImager(preset="seed").fit_transform(events).shape
    (1, 3, 224, 224)
    """

    _parameter_constraints: ClassVar[dict] = {
        "preset": [StrOptions(set(PRESETS))],
        "npix": [
            None,
            Interval(Integral, 1, None, closed="left"),
            Pair(Interval(Integral, 1, None, closed="left")),
        ],
        "eta_range": [None, Range()],
        "channels": [None, StrOptions({"rgb"}), _Channels()],
        "intensity": [None, StrOptions({"pt", "count"})],
        "shape": [None, StrOptions({"disc", "outline"})],
        "radius_scale": [
            None,
            Interval(Real, 0, None, closed="left"),
            Pair(Interval(Real, 0, None, closed="left"), finite=True),
        ],
        "line_width": [None, Interval(Real, 1, None, closed="left")],
        "met": [None, StrOptions({"band", "eta0"})],
        "periodic_phi": [None, "boolean"],
        "outside_eta": [None, StrOptions({"clip", "crop"})],
        "colors": [None, _Colors()],
        "chunk_size": [Interval(Integral, 1, None, closed="left")],
        "engine": [StrOptions({"auto", "numba", "numpy"})],
    }

    def __init__(
        self,
        *,
        preset="hepclf",
        npix=None,
        eta_range=None,
        channels=None,
        intensity=None,
        shape=None,
        radius_scale=None,
        line_width=None,
        met=None,
        periodic_phi=None,
        outside_eta=None,
        colors=None,
        chunk_size=256,
        engine="auto",
    ):
        self.preset = preset
        self.npix = npix
        self.eta_range = eta_range
        self.channels = channels
        self.intensity = intensity
        self.shape = shape
        self.radius_scale = radius_scale
        self.line_width = line_width
        self.met = met
        self.periodic_phi = periodic_phi
        self.outside_eta = outside_eta
        self.colors = colors
        self.chunk_size = chunk_size
        self.engine = engine

    # -- parameters -------------------------------------------------------------
    def _recipe(self) -> _Recipe:
        """Return the (validated) parameters with the preset's values filled in."""
        p = {
            name: getattr(self, name) if getattr(self, name) is not None else default
            for name, default in PRESETS[self.preset].items()
        }
        npix = p["npix"]
        n_eta, n_phi = (
            (npix, npix) if isinstance(npix, Integral) else (int(n) for n in npix)
        )
        n_codes = _MAX_CODE + 1
        rgb = p["channels"] == "rgb"
        channel_of = np.full(n_codes, -1, dtype=np.int64)
        names = ["red", "green", "blue"]
        if not rgb:
            names = []
            for c, item in enumerate(p["channels"]):
                group = (item,) if isinstance(item, str) else tuple(item)
                for name in group:
                    channel_of[OBJECT_TYPES[name]] = c
                names.append("+".join(group))
        colors = p["colors"]
        palette = np.zeros((n_codes, 3), dtype=np.float32)
        palette[0] = colors.get("background", (0, 0, 0))
        has_color = np.zeros(n_codes, dtype=bool)
        for name, rgb_value in colors.items():
            if name != "background":
                palette[OBJECT_TYPES[name]] = rgb_value
                has_color[OBJECT_TYPES[name]] = True
        if rgb:
            channel_of[has_color] = 0  # drawn (the colour says how)
        rank = np.zeros(n_codes, dtype=np.int64)
        for name, r in DRAW_ORDER.items():
            rank[OBJECT_TYPES[name]] = r
        scale = p["radius_scale"]
        scale = (
            (float(scale), float(scale))
            if isinstance(scale, Real)
            else (float(scale[0]), float(scale[1]))
        )
        return _Recipe(
            n_eta=n_eta,
            n_phi=n_phi,
            eta_range=(float(p["eta_range"][0]), float(p["eta_range"][1])),
            rgb=rgb,
            channel_of=channel_of,
            channel_names=names,
            palette=palette,
            has_color=has_color,
            rank=rank,
            count=p["intensity"] == "count",
            outline=p["shape"] == "outline",
            radius_scale=scale,
            half_line=0.5 * float(p["line_width"]),
            band=p["met"] == "band",
            periodic=bool(p["periodic_phi"]),
            clip=p["outside_eta"] == "clip",
        )

    # -- input ----------------------------------------------------------------------
    def _check_input(self, X, recipe):
        """Pad, check and return the objects (errors name the event)."""
        name = type(self).__name__
        X = check_padded(X, n_features=(4, 5), name=name, fields=FIELDS)
        # in blocks of events: no mask of the whole input is held in memory
        block = max(1, (1 << 22) // max(1, X.shape[1]))
        for start in range(0, len(X), block):
            self._check_objects(X[start : start + block, :, :2], start, recipe, name)
        return X

    @staticmethod
    def _check_objects(X, offset, recipe, name):
        check_event_objects(X, name, offset=offset)
        types, pt = X[..., 0], X[..., 1]
        padding = types == PADDING

        def first(mask):
            return offset + int(np.argwhere(mask)[0, 0])

        def first_value(mask):
            return types[tuple(np.argwhere(mask)[0])]

        if not (recipe.rgb or recipe.count):
            # every object's pT below this bound keeps every pixel sum finite
            huge = pt > FLOAT32_MAX / X.shape[1]
            if huge.any():
                raise ValueError(
                    f"{name}: a pT of {float(pt[huge].max()):.3g} GeV in event "
                    f"{first(huge)} is beyond float32 images (max {FLOAT32_MAX:.3g} "
                    "per pixel); check the units or use intensity='count'"
                )
        if recipe.rgb:
            uncoloured = ~padding & ~recipe.has_color[types.astype(np.int64)]
            if uncoloured.any():
                code = int(first_value(uncoloured))
                raise ValueError(
                    f"{name}: channels='rgb' has no colour for {_NAMES[code]} "
                    f"objects (type {code}, event {first(uncoloured)}); add one to "
                    "colors"
                )

    def _outside(self, X, recipe):
        """Mask of the objects (MET excluded) whose eta lies beyond ``eta_range``."""
        lo, hi = recipe.eta_range
        types, eta = X[..., 0], X[..., 2]
        return (types != PADDING) & (types != _MET) & ((eta < lo) | (eta > hi))

    # -- sklearn API --------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    @_fill_doc
    def fit(self, X, y=None):
        """Check the parameters and the input, and count objects beyond the canvas.

        Parameters
        ----------
        %(X)s
        %(y)s

        Returns
        -------
        self : EventImager
            The imager, with the pixel edges and ``n_outside_`` set.
        """
        recipe = self._recipe()
        X = self._check_input(X, recipe)
        self.n_channels_ = recipe.n_channels
        self.channel_names_ = list(recipe.channel_names)
        self.eta_edges_ = np.linspace(*recipe.eta_range, recipe.n_eta + 1)
        self.phi_edges_ = np.linspace(-PI, PI, recipe.n_phi + 1)
        outside = self._outside(X, recipe)
        types = X[..., 0][outside].astype(np.int64)
        counts = np.bincount(types, minlength=_MAX_CODE + 1)
        self.n_outside_ = {
            name: int(counts[code]) for name, code in OBJECT_TYPES.items()
        }
        del self.n_outside_["met"]
        return self

    @_fill_doc
    def count_outside(self, X):
        """Count the objects of each event whose eta lies beyond ``eta_range``.

        MET is not counted (it has no eta). How they are drawn is
        ``outside_eta``'s choice.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        counts : ndarray of shape (n_events,), int64
            Objects beyond the canvas per event.
        """
        self._validate_params()
        recipe = self._recipe()
        X = self._check_input(X, recipe)
        return self._outside(X, recipe).sum(axis=1).astype(np.int64)

    @_fill_doc
    def transform(self, X):
        """Draw the event images.

        Parameters
        ----------
        %(X)s

        Returns
        -------
        images : ndarray of shape (n_events, n_channels, n_phi, n_eta), float32
            Image ``i`` belongs to event ``i``.
        """
        self._validate_params()  # transform works unfitted (the imager is stateless)
        recipe = self._recipe()
        X = self._check_input(X, recipe)
        out = np.empty(
            (len(X), recipe.n_channels, recipe.n_phi, recipe.n_eta), dtype=np.float32
        )
        kernel = self._numba_kernel()
        if kernel is not None:
            lost = kernel(X, recipe, out)
        else:
            lost = np.zeros(len(X), dtype=np.int64)
            for start in range(0, len(X), self.chunk_size):
                stop = min(start + self.chunk_size, len(X))
                lost[start:stop] = _draw(X[start:stop], recipe, out[start:stop])
        if lost.any():
            events = np.flatnonzero(lost)
            shown = ", ".join(map(str, events[:5])) + (
                ", ..." if len(events) > 5 else ""
            )
            warnings.warn(
                f"{type(self).__name__}: {int(lost.sum())} object(s) lie entirely "
                f"outside the canvas and are not drawn (events {shown}); "
                "outside_eta='clip' and periodic_phi=True draw every object",
                UserWarning,
                stacklevel=2,
            )
        return out

    def _numba_kernel(self):
        """Return the compiled engine, or None for the NumPy engine."""
        if self.engine == "numpy":
            return None
        try:
            from ._event_numba import event_images
        except ImportError:
            if self.engine == "numba":
                raise ImportError(
                    'EventImager(engine="numba") needs numba: pip install "hepclf[fast]"'
                ) from None
            return None
        return event_images


# -- the NumPy engine -------------------------------------------------------------------
def _objects(X, recipe):
    """Return the drawn objects of ``X`` as flat float64 arrays, with their geometry.

    Returns ``(event, slot, code, value, u0, phi, a, b, ai, bi, band)``: the
    event and row of each object, its type code, what it adds (pT or 1), its
    centre column coordinate ``u0`` (pixels) and phi (rad), its outer semi-axes
    ``(a, b)`` and inner ones ``(ai, bi)`` (pixels; ``bi < 0``: no hole), and
    whether it is a MET band. Only the rows of drawn objects are converted to
    float64.
    """
    codes = X[..., 0]
    drawn = (codes != PADDING) & (
        recipe.channel_of[np.clip(codes, 0, _MAX_CODE).astype(np.int64)] >= 0
    )
    event, slot = np.nonzero(drawn)
    rows = X[drawn].astype(np.float64, copy=False)
    code = rows[:, 0].astype(np.int64)
    pt, eta, phi = rows[:, 1], rows[:, 2], rows[:, 3]
    is_met = code == _MET
    lo, hi = recipe.eta_range
    sx, sy = recipe.scales
    if recipe.clip:
        eta = _clamp(eta, lo, hi)
    eta = np.where(is_met, 0.0, eta)
    if recipe.periodic:
        phi = wrap_phi(phi)
    log_pt = np.log(pt)
    a = np.maximum(recipe.radius_scale[0] * log_pt * sx, MIN_RADIUS_PX)
    b = np.maximum(recipe.radius_scale[1] * log_pt * sy, MIN_RADIUS_PX)
    band = is_met & recipe.band
    if recipe.outline:
        ai, bi = a - recipe.half_line, b - recipe.half_line
        a, b = a + recipe.half_line, b + recipe.half_line
        bi = np.where((ai > 0) & (bi > 0), bi, -1.0)
    else:
        ai = bi = np.full_like(a, -1.0)
    value = np.ones_like(pt) if recipe.count else pt
    u0 = (eta - lo) * sx
    return event, slot, code, value, u0, phi, a, b, ai, bi, band


def _row_range(phi, b, recipe):
    """First candidate row and number of candidate rows of each object.

    A superset of the rows within ``b`` of the object (one row of margin on
    each side); exact membership is decided by :func:`_spans`.
    """
    n_phi = recipe.n_phi
    v0 = (phi - _PHI_LO) * recipe.scales[1]
    lo = _clamp(np.floor(v0 - b) - 1.0, -n_phi - 4.0, 2.0 * n_phi + 4.0)
    hi = _clamp(np.ceil(v0 + b) + 1.0, -n_phi - 4.0, 2.0 * n_phi + 4.0)
    if recipe.periodic:
        n = hi - lo + 1.0
        lo = np.where(n >= n_phi, 0.0, np.mod(lo, n_phi))
        return lo.astype(np.int64), np.minimum(n, n_phi).astype(np.int64)
    lo, hi = np.maximum(lo, 0.0), np.minimum(hi, n_phi - 1.0)
    return lo.astype(np.int64), np.maximum(hi - lo + 1.0, 0.0).astype(np.int64)


def _spans(u0, phi, a, b, ai, bi, band, row_phi, recipe):
    """Covered columns of one row per entry: ``[l0, l1)`` and ``[r0, r1)``.

    All arguments are per (object, row) entry; ``row_phi`` is the phi of the
    row's centre. Entries whose row the object does not reach get empty spans.
    """
    n_eta = float(recipe.n_eta)
    dphi = row_phi - phi
    if recipe.periodic:
        dphi = wrap_phi(dphi)
    dy = dphi * recipe.scales[1]
    inside = np.abs(dy) <= b
    h = np.where(band, np.inf, _half_width(a, np.where(inside, dy, 0.0), b))
    c0, c1 = _covered(u0, h)
    hole = np.abs(dy) < bi
    hi_ = np.where(band, np.inf, _half_width(ai, np.where(hole, dy, 0.0), bi))
    e0, e1 = _hole(u0, hi_)
    e0 = np.where(hole, e0, c1)
    e1 = np.where(hole, e1, c1)
    c0, c1 = _clamp(c0, 0.0, n_eta), _clamp(c1, 0.0, n_eta)
    c1 = np.where(inside, c1, c0)
    e0, e1 = _clamp(e0, c0, c1), _clamp(e1, c0, c1)
    return c0, e0, e1, c1  # [c0, e0) and [e1, c1)


def _draw(X, recipe, out):
    """Draw the events ``X`` into ``out``; return the objects not drawn per event."""
    n_events = len(X)
    n_phi, n_eta = recipe.n_phi, recipe.n_eta
    event, slot, code, value, u0, phi, a, b, ai, bi, band = _objects(X, recipe)
    n_obj = len(event)
    r_lo, n_rows = _row_range(phi, b, recipe)
    # one entry per (object, candidate row)
    obj = np.repeat(np.arange(n_obj), n_rows)
    first = np.cumsum(n_rows) - n_rows
    row = r_lo[obj] + (np.arange(len(obj)) - first[obj])
    if recipe.periodic:
        row %= n_phi
    row_phi = recipe.row_phi[row]
    l0, l1, r0, r1 = (
        v.astype(np.int64)
        for v in _spans(
            u0[obj],
            phi[obj],
            a[obj],
            b[obj],
            ai[obj],
            bi[obj],
            band[obj],
            row_phi,
            recipe,
        )
    )
    # one entry per (object, row, piece), left piece before right, then per pixel:
    # grouped by object, so every pixel sums its objects in their row order
    start = np.stack([l0, r0], axis=1).reshape(-1)
    length = np.stack([l1 - l0, r1 - r0], axis=1).reshape(-1)
    piece_obj = np.repeat(obj, 2)
    piece_row = np.repeat(row, 2)
    covered = np.bincount(piece_obj, weights=length, minlength=n_obj)
    lost = np.bincount(event[covered == 0], minlength=n_events)
    piece = np.repeat(np.arange(len(length)), length)
    piece_first = np.cumsum(length) - length
    col = start[piece] + (np.arange(len(piece)) - piece_first[piece])
    pix_obj = piece_obj[piece]
    pix_row = piece_row[piece]
    image_px = n_phi * n_eta
    if recipe.rgb:
        _paint(X, recipe, out, event, slot, code, pix_obj, pix_row, col)
        return lost
    channel = recipe.channel_of[code]
    n_channels = recipe.n_channels
    flat = (
        (event[pix_obj] * n_channels + channel[pix_obj]) * n_phi + pix_row
    ) * n_eta + col
    weight = value / np.where(covered > 0, covered, 1.0)
    pixels = np.bincount(
        flat, weights=weight[pix_obj], minlength=n_events * n_channels * image_px
    )
    out[...] = pixels.reshape(out.shape)
    return lost


def _paint(X, recipe, out, event, slot, code, pix_obj, pix_row, col):
    """Paint the covered pixels in drawing order over the background."""
    n_events, n_slots = X.shape[0], X.shape[1]
    n_phi, n_eta = recipe.n_phi, recipe.n_eta
    priority = recipe.rank[code] * n_slots + slot
    top = np.full(n_events * n_phi * n_eta, -1, dtype=np.int64)
    flat = (event[pix_obj] * n_phi + pix_row) * n_eta + col
    np.maximum.at(top, flat, priority[pix_obj])
    top = top.reshape(n_events, n_phi * n_eta)
    codes = np.zeros((n_events, n_slots + 1), dtype=np.int64)
    codes[:, :n_slots] = np.clip(X[..., 0], 0, _MAX_CODE)
    # background pixels point at the extra column of code 0
    top_slot = np.where(top >= 0, top % n_slots, n_slots)
    top_code = np.take_along_axis(codes, top_slot, axis=1)
    for c in range(3):
        out[:, c] = recipe.palette[top_code, c].reshape(n_events, n_phi, n_eta)


register_graph(EventImager, "hepclf.imaging._event_graph:EventImageModule")
