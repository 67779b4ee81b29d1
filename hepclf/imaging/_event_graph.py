"""``EventImager``'s export graph: its rasteriser as a ``torch.nn.Module``.

The module tests every pixel of the canvas against every object slot of the
padded ``(batch, n_objects, n_features)`` input with masks, so its shapes do
not depend on the data and it exports to a static ONNX graph. The geometry --
object centres, semi-axes, the covered columns of each pixel row -- is
computed in float64 with the same operations as ``EventImager``'s span
formulas, so that objects cover the same pixels; the pixel sums are added in
another order (a matrix product over objects), which changes their last bit
at most. The images are cast to float32 at the end, as ``EventImager`` writes
them.

Memory grows as ``batch x n_objects x n_phi x n_eta`` (one coverage mask per
object): feed large batches in parts.

Constants that a float32 cannot hold (pi, the pixel scales, the radius
scales) are float64 tensors, never Python floats: the exporter stores a Python
float as a float32 constant.

Registered for ``EventImager`` in :mod:`hepclf.export`'s graph registry (at the
end of ``_event.py``), which ``export_onnx`` asks for a pipeline's imaging step.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from ..kinematics._formulas import PI
from ..kinematics._torch import wrap_phi
from ._event import _MAX_CODE, _MET, MIN_RADIUS_PX, OBJECT_TYPES, EventImager
from ._graph import _ImageGraph

PADDING_TEXT = (
    "rows (type, pt, eta, phi[, extra]) with the type codes of 'object_types'; a "
    "row of type 0 is padding and contributes nothing (anywhere in the event); an "
    "event of padding only gives probabilities for an empty image"
)


class EventImageModule(_ImageGraph):
    """``EventImager.transform`` as a torch module on padded event objects.

    Parameters
    ----------
    imager : EventImager
        The imager whose parameters to use (any options are supported).
    n_features : int, default=4
        Features per object in the input: 4 ``(type, pt, eta, phi)`` or 5
        (the fifth is ignored).

    Notes
    -----
    ``forward(X)`` takes ``(batch, n_objects, n_features)`` (float32 or
    float64) and returns float32 images ``(batch, n_channels, n_phi, n_eta)``
    equal to ``imager.transform(X)``. Unlike ``EventImager`` the module does
    not validate its input: unknown type codes, negative or zero pT and NaN
    are not reported, and objects that end up outside the canvas give no
    warning.
    """

    #: name of the exported graph's input
    input_name = "objects"

    def __init__(self, imager: EventImager, n_features: int = 4):
        super().__init__()
        if n_features not in (4, 5):
            raise ValueError(f"n_features={n_features!r}; expected 4 or 5")
        imager._validate_params()
        recipe = imager._recipe()
        self.recipe = recipe
        self.n_features = n_features
        sx, sy = recipe.scales
        lo, hi = recipe.eta_range
        self._set_constants(
            eta_lo=lo,
            eta_hi=hi,
            sx=sx,
            sy=sy,
            scale_eta=recipe.radius_scale[0],
            scale_phi=recipe.radius_scale[1],
            half_line=recipe.half_line,
        )
        self.register_buffer(
            "row_phi", torch.from_numpy(recipe.row_phi), persistent=False
        )
        self.register_buffer(
            "columns",
            torch.arange(recipe.n_eta, dtype=torch.float64),
            persistent=False,
        )
        self.register_buffer(
            "channel_of", torch.from_numpy(recipe.channel_of), persistent=False
        )
        self.register_buffer(
            "rank", torch.from_numpy(recipe.rank).to(torch.float64), persistent=False
        )
        self.register_buffer(
            "palette", torch.from_numpy(recipe.palette), persistent=False
        )

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(n_channels, n_phi, n_eta)`` of the images."""
        r = self.recipe
        return (r.n_channels, r.n_phi, r.n_eta)

    def metadata(self) -> dict[str, str]:
        """Return what the exported file says about its input."""
        return {
            "input_format": "type, pt, eta, phi" + (", extra" * (self.n_features - 4)),
            "object_types": json.dumps({"padding": 0, **OBJECT_TYPES}),
            "padding": PADDING_TEXT,
        }

    def example_input(self, n_objects=None, dtype=np.float32, seed=0):
        """Random events for tracing and checking the export.

        Padding rows anywhere, an event with no objects, objects straddling
        phi = +-pi and (with ``outside_eta="clip"``) beyond the eta range, MET
        rows; with ``channels="rgb"`` only types that have a colour.
        """
        r = self.recipe
        rng = np.random.default_rng(seed)
        n = n_objects or 12
        # the coverage masks hold n_events x n x n_phi x n_eta float64 values
        n_events = int(np.clip(2**24 // (n * r.n_phi * r.n_eta), 8, 64))
        drawable = [c for c in OBJECT_TYPES.values() if r.channel_of[c] >= 0]
        if not drawable:
            drawable = list(OBJECT_TYPES.values())
        types = rng.choice(drawable, (n_events, n)).astype(float)
        pt = rng.exponential(40.0, (n_events, n)) + 15.0
        eta = rng.normal(0, 1.8, (n_events, n))
        if not r.clip:  # beyond the canvas an object may vanish (and warn)
            eta = np.clip(eta, *r.eta_range)
        phi = rng.uniform(-PI, PI, (n_events, n))
        phi[: n_events // 4, :3] = PI - 0.03  # straddling the +-pi boundary
        extra = rng.normal(size=(n_events, n))
        types[rng.random((n_events, n)) < 0.3] = 0  # padding rows anywhere
        types[0] = 0  # an event with no objects
        X = np.stack([types, pt, eta, phi, extra][: self.n_features], axis=-1)
        X[types == 0, 1:] = 0.0
        return X.astype(dtype)

    def forward(self, X):
        """Return the event images of ``X`` (float32)."""
        r = self.recipe
        c = self._constants()
        X = X.to(torch.float64)
        code = X[..., 0]
        index = torch.clamp(code, 0, _MAX_CODE).to(torch.int64)
        drawn = (code != 0) & (self.channel_of[index] >= 0)
        is_met = code == _MET
        one = torch.ones_like(code)
        zero = torch.zeros_like(code)
        pt = torch.where(drawn, X[..., 1], one)
        eta, phi = X[..., 2], X[..., 3]
        if r.clip:
            eta = torch.minimum(torch.maximum(eta, c["eta_lo"]), c["eta_hi"])
        eta = torch.where(is_met, zero, eta)
        if r.periodic:
            phi = wrap_phi(phi)
        log_pt = torch.log(pt)
        a = torch.clamp(c["scale_eta"] * log_pt * c["sx"], min=MIN_RADIUS_PX)
        b = torch.clamp(c["scale_phi"] * log_pt * c["sy"], min=MIN_RADIUS_PX)
        band = is_met & r.band
        if r.outline:
            ai, bi = a - c["half_line"], b - c["half_line"]
            a, b = a + c["half_line"], b + c["half_line"]
            bi = torch.where((ai > 0) & (bi > 0), bi, -one)
        else:
            ai = bi = -one
        value = one if r.count else pt
        u0 = (eta - c["eta_lo"]) * c["sx"]

        # per (event, object, row): the covered columns [c0, e0) and [e1, c1)
        def col(v):
            return v[..., None]

        dphi = self.row_phi - col(phi)
        if r.periodic:
            dphi = wrap_phi(dphi)
        dy = dphi * c["sy"]
        inside = torch.abs(dy) <= col(b)
        inf = torch.full_like(dy, float("inf"))

        def half_width(semi_a, semi_b, mask):
            q = torch.where(mask, dy, torch.zeros_like(dy)) / col(semi_b)
            h = col(semi_a) * torch.sqrt(torch.clamp(1.0 - q * q, min=0.0))
            return torch.where(col(band), inf, h)

        h = half_width(a, b, inside)
        c0 = torch.ceil(col(u0) - h - 0.5)
        c1 = torch.floor(col(u0) + h - 0.5) + 1.0
        hole = torch.abs(dy) < col(bi)
        hh = half_width(ai, bi, hole)
        e0 = torch.floor(col(u0) - hh - 0.5) + 1.0
        e1 = torch.maximum(torch.ceil(col(u0) + hh - 0.5), e0)
        e0 = torch.where(hole, e0, c1)
        e1 = torch.where(hole, e1, c1)
        n_eta = float(r.n_eta)
        c0 = torch.clamp(c0, 0.0, n_eta)
        c1 = torch.where(inside, torch.clamp(c1, 0.0, n_eta), c0)
        e0 = torch.minimum(torch.maximum(e0, c0), c1)
        e1 = torch.minimum(torch.maximum(e1, c0), c1)

        # per (event, object, row, column): covered or not
        x = self.columns

        def pixel(v):
            return v[..., None]

        cover = ((x >= pixel(c0)) & (x < pixel(e0))) | (
            (x >= pixel(e1)) & (x < pixel(c1))
        )
        cover = cover & drawn[..., None, None]
        batch, n_obj = code.shape
        n_pix = r.n_phi * r.n_eta
        if r.rgb:
            slot = torch.arange(n_obj, dtype=torch.float64, device=X.device)
            priority = self.rank[index] * n_obj + slot
            key = torch.where(cover, priority[..., None, None], -one[..., None, None])
            top = torch.amax(key, dim=1).reshape(batch, n_pix)  # (batch, pixels)
            painted = top >= 0
            top_slot = torch.remainder(torch.clamp(top, min=0.0), n_obj)
            top_code = torch.gather(index, 1, top_slot.to(torch.int64))
            top_code = torch.where(painted, top_code, torch.zeros_like(top_code))
            images = self.palette[top_code]  # (batch, pixels, 3)
            return images.transpose(1, 2).reshape(batch, 3, r.n_phi, r.n_eta)
        cover = cover.to(torch.float64).reshape(batch, n_obj, n_pix)
        count = cover.sum(dim=2)
        weight = value / torch.where(count > 0, count, one)
        channel = self.channel_of[index]
        n_channels = r.n_channels
        onehot = (
            channel[..., None] == torch.arange(n_channels, device=X.device)
        ) & drawn[..., None]
        onehot = onehot.to(torch.float64) * weight[..., None]  # (batch, obj, ch)
        images = torch.matmul(cover.transpose(1, 2), onehot)  # (batch, pixels, ch)
        images = images.transpose(1, 2).reshape(batch, n_channels, r.n_phi, r.n_eta)
        return images.to(torch.float32)
