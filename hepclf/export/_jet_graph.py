"""``JetImager``'s arithmetic as a ``torch.nn.Module``, for export to ONNX.

The module works on the padded ``(batch, n_constituents, n_features)`` array
with masks instead of gathering the non-padding rows, so its shapes do not
depend on the data and it exports to a static ONNX graph. Every geometric
quantity is computed in float64, as ``JetImager`` does, with the same
sequence of operations, so that constituents land in the same pixels; the
images are cast to float32 at the end, as ``JetImager`` writes them.

ONNX Runtime's CPU kernels have no float64 ``Atan``, ``Asinh`` or ``Cosh``;
the module therefore builds them from operations that have one:

* ``atan2`` -- a float32 ``atan`` as first guess, refined with one Newton step
  in float64 (``sin``/``cos``), with IEEE's special cases (signed zeros, the
  axes) set exactly;
* ``asinh(u) = sign(u) * log(|u| + sqrt(u * u + 1))``;
* ``cosh(u) = (exp(u) + exp(-u)) / 2``.

These agree with NumPy to about 1e-16 (absolute, for the ranges of jet
coordinates); per-jet sums are added in a different order than NumPy's, which
changes their last bit at most.

Constants that a float32 cannot hold (pi, the pixel scales) are float64
buffers, never Python floats: the exporter stores a Python float as a float32
constant, which would move constituents near pixel edges and the phi seam.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ..imaging._jet import INTENSITIES, JetImager


def _double(value):
    return torch.tensor(value, dtype=torch.float64)


#: float64 constants, as computed in ``hepclf.imaging._jet``
_CONSTANTS = {
    "pi": math.pi,
    "half_pi": math.pi / 2,
    "two_pi": 2 * math.pi,
    "half_over_pi": 0.5 / math.pi,
}


def _wrap(phi, c):
    """Map angles to [-pi, pi), as ``hepclf.imaging._jet._wrap``."""
    return phi - c["two_pi"] * torch.floor((phi + c["pi"]) * c["half_over_pi"])


def _is_negative(v):
    """``v < 0``, and True for -0.0 too (the sign bit, for finite ``v``)."""
    return (v < 0) | ((v == 0) & (torch.reciprocal(v) < 0))


def atan2(y, x, pi=None):
    """``numpy.arctan2`` in float64 from operations ONNX Runtime has for doubles.

    A float32 ``atan(y / x)`` (moved to the right quadrant) is refined with one
    Newton step, ``theta += (y cos theta - x sin theta) / (x cos theta + y sin
    theta)``, whose error is the cube of the float32 error (~1e-21). Zeros and
    the axes give IEEE's exact values, signed zeros included. ``pi``: the
    float64 constant as a 0-d tensor (made here when not given).
    """
    if pi is None:
        pi = _double(math.pi).to(y.device)
    y_neg = _is_negative(y)
    x_neg = _is_negative(x)
    signed_pi = torch.where(y_neg, -pi, pi)
    guess = torch.atan((y / x).to(torch.float32)).to(y.dtype)
    guess = torch.where(x_neg, guess + signed_pi, guess)
    cos, sin = torch.cos(guess), torch.sin(guess)
    refined = guess + (y * cos - x * sin) / (x * cos + y * sin)
    on_x_axis = torch.where(x_neg, signed_pi, y)  # y is +-0 here
    on_y_axis = torch.where(y_neg, -0.5 * pi, 0.5 * pi)
    return torch.where(y == 0, on_x_axis, torch.where(x == 0, on_y_axis, refined))


def asinh(u):
    """``numpy.arcsinh`` from sqrt and log (exact to ~1e-16 absolute)."""
    a = torch.abs(u)
    return torch.sign(u) * torch.log(a + torch.sqrt(a * a + 1.0))


def cosh(u):
    """``numpy.cosh`` from exp."""
    return (torch.exp(u) + torch.exp(-u)) * 0.5


class JetImageModule(nn.Module):
    """``JetImager.transform`` as a torch module on padded constituents.

    Parameters
    ----------
    imager : JetImager
        The imager whose parameters to use (any options are supported).
    n_features : int, default=4
        Features per constituent in the input: 4 for ``"epxpypz"``; 3 or 4 for
        ``"ptetaphi"`` (the mass column is optional).

    Notes
    -----
    ``forward(X)`` takes ``(batch, n_constituents, n_features)`` (float32 or
    float64) and returns float32 images ``(batch, n_channels, n_phi, n_eta)``
    equal to ``imager.transform(X)``. A row is padding when ``px == py == 0``
    (``"epxpypz"``) or ``pt == 0`` (``"ptetaphi"``); padding rows contribute
    nothing, and a jet of padding only gives an all-zero image. Unlike
    ``JetImager`` the module does not validate its input: NaN, negative pT or
    energy and half-zero padding rows are not reported.
    """

    def __init__(self, imager: JetImager, n_features: int = 4):
        super().__init__()
        n_eta, n_phi, eta_range, phi_range, intensity = imager._settings()
        allowed = (4,) if imager.input_format == "epxpypz" else (3, 4)
        if n_features not in allowed:
            raise ValueError(
                f"n_features={n_features!r} does not fit input_format="
                f"{imager.input_format!r}; expected {' or '.join(map(str, allowed))}"
            )
        unknown = [i for i in intensity if i not in INTENSITIES]
        if unknown:  # pragma: no cover - _settings already rejects these
            raise ValueError(f"unsupported intensity {unknown}")
        self.input_format = imager.input_format
        self.n_features = n_features
        self.n_eta, self.n_phi = n_eta, n_phi
        self.eta_range, self.phi_range = eta_range, phi_range
        self.intensity = intensity
        self.center = bool(imager.center)
        self.rotate = bool(imager.rotate)
        self.flip = bool(imager.flip)
        self.normalize = bool(imager.normalize)
        (eta_lo, eta_hi), (phi_lo, phi_hi) = eta_range, phi_range
        constants = {
            **_CONSTANTS,
            "eta_lo": eta_lo,
            "phi_lo": phi_lo,
            "eta_scale": n_eta / (eta_hi - eta_lo),
            "phi_scale": n_phi / (phi_hi - phi_lo),
        }
        for name, value in constants.items():
            self.register_buffer(name, _double(value), persistent=False)
        self._constant_names = tuple(constants)

    def _kinematics(self, X):
        if self.input_format == "epxpypz":
            E, px, py, pz = X[..., 0], X[..., 1], X[..., 2], X[..., 3]
            mask = (px != 0) | (py != 0)
            pt = torch.sqrt(px * px + py * py)
            eta = asinh(pz / torch.where(mask, pt, torch.ones_like(pt)))
            phi = atan2(py, px, self.pi)
        else:
            pt, eta, phi = X[..., 0], X[..., 1], X[..., 2]
            mask = pt != 0
            E = None
            if "energy" in self.intensity:
                E = pt * cosh(eta)
                if self.n_features == 4:
                    mass = X[..., 3]
                    E = torch.sqrt(E * E + mass * mass)
        zero = torch.zeros_like(pt)
        pt, eta, phi = (torch.where(mask, v, zero) for v in (pt, eta, phi))
        if E is not None:
            E = torch.where(mask, E, zero)
        return mask, pt, eta, phi, E

    def forward(self, X):
        """Return the jet images of ``X`` (float32)."""
        X = X.to(torch.float64)
        c = {name: getattr(self, name) for name in self._constant_names}
        mask, pt, eta, phi, E = self._kinematics(X)
        batch = X.shape[0]

        def per_jet_sum(v):
            return torch.sum(v, dim=1, keepdim=True)

        # each jet's first non-padding constituent is the phi reference
        first = torch.argmax(mask.to(torch.int32), dim=1, keepdim=True)
        phi_ref = torch.gather(phi, 1, first)
        sum_pt = per_jet_sum(pt)
        safe = torch.where(sum_pt > 0, sum_pt, torch.ones_like(sum_pt))
        dphi_ref = _wrap(phi - phi_ref, c)
        eta_c = per_jet_sum(pt * eta) / safe
        phi_c = phi_ref + per_jet_sum(pt * dphi_ref) / safe
        x = eta - eta_c
        y = _wrap(phi - phi_c, c)

        if self.rotate:
            sxx = per_jet_sum(pt * x * x)
            syy = per_jet_sum(pt * y * y)
            sxy = per_jet_sum(pt * x * y)
            theta = 0.5 * atan2(2 * sxy, sxx - syy, c["pi"])
            alpha = c["half_pi"] - theta
            cos, sin = torch.cos(alpha), torch.sin(alpha)
            x, y = x * cos - y * sin, x * sin + y * cos
        if self.flip:
            one = torch.ones_like(sum_pt)
            x = x * torch.where(per_jet_sum(pt * torch.sign(x)) < 0, -one, one)
            y = y * torch.where(per_jet_sum(pt * torch.sign(y)) < 0, -one, one)
        if not self.center:
            x = x + eta_c
            y = _wrap(y + phi_c, c)

        n_eta, n_phi = self.n_eta, self.n_phi
        ix = torch.floor((x - c["eta_lo"]) * c["eta_scale"])
        iy = torch.floor((y - c["phi_lo"]) * c["phi_scale"])
        inside = mask & (ix >= 0) & (ix < n_eta) & (iy >= 0) & (iy < n_phi)
        n_pix = n_eta * n_phi
        # constituents outside the window (and padding) go to a spare bin n_pix
        flat = torch.where(inside, iy * n_eta + ix, torch.full_like(ix, n_pix))
        flat = flat.to(torch.int64)
        zero = torch.zeros_like(pt)
        channels = []
        for kind in self.intensity:
            w = {"pt": pt, "energy": E, "count": mask.to(torch.float64)}[kind]
            if self.normalize:
                total = per_jet_sum(torch.where(inside, w, zero))
                w = w / torch.where(total > 0, total, torch.ones_like(total))
            pixels = torch.zeros(
                (batch, n_pix + 1), dtype=torch.float64, device=X.device
            ).scatter_add(1, flat, w)
            channels.append(pixels[:, :n_pix].reshape(batch, n_phi, n_eta))
        return torch.stack(channels, dim=1).to(torch.float32)
