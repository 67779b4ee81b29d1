"""``JetImager``'s export graph: its arithmetic as a ``torch.nn.Module``.

The module works on the padded ``(batch, n_constituents, n_features)`` array
with masks instead of gathering the non-padding rows, so its shapes do not
depend on the data and it exports to a static ONNX graph. Every geometric
quantity is computed in float64, as ``JetImager`` does, with the same
sequence of operations and the formulas of :mod:`hepclf.kinematics._torch`
(ONNX Runtime has no float64 ``Atan``, ``Asinh`` or ``Cosh``: they are built
from operations that have one, and agree with NumPy to about 1e-16), so that
constituents land in the same pixels; per-jet sums are added in a different
order than NumPy's, which changes their last bit at most. The images are cast
to float32 at the end, as ``JetImager`` writes them.

Constants that a float32 cannot hold (pi, the pixel scales) are float64
tensors, never Python floats: the exporter stores a Python float as a float32
constant, which would move constituents near pixel edges and the phi seam.

Registered for ``JetImager`` in :mod:`hepclf.export`'s graph registry (at the
end of ``_jet.py``), which ``export_onnx`` asks for a pipeline's imaging step.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import kinematics
from ..kinematics._formulas import HALF_PI
from ..kinematics._torch import asinh, atan2, cosh, wrap_phi
from ._graph import _ImageGraph
from ._jet import JetImager

#: How a padding row looks, per input format (for the exported file's metadata).
PADDING = {
    "epxpypz": (
        "rows (E, px, py, pz); a row with px == py == 0 is padding and contributes "
        "nothing (pad with all-zero rows, anywhere in the jet); a jet of padding "
        "only gives probabilities for an all-zero image"
    ),
    "ptetaphi": (
        "rows (pt, eta, phi[, mass]); a row with pt == 0 is padding and contributes "
        "nothing (pad with all-zero rows, anywhere in the jet); a jet of padding "
        "only gives probabilities for an all-zero image"
    ),
}


class JetImageModule(_ImageGraph):
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

    #: name of the exported graph's input
    input_name = "constituents"

    def __init__(self, imager: JetImager, n_features: int = 4):
        super().__init__()
        n_eta, n_phi, eta_range, phi_range, intensity = imager._geometry()
        allowed = (4,) if imager.input_format == "epxpypz" else (3, 4)
        if n_features not in allowed:
            raise ValueError(
                f"n_features={n_features!r} does not fit input_format="
                f"{imager.input_format!r}; expected {' or '.join(map(str, allowed))}"
            )
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
        self._set_constants(
            eta_lo=eta_lo,
            phi_lo=phi_lo,
            eta_scale=n_eta / (eta_hi - eta_lo),
            phi_scale=n_phi / (phi_hi - phi_lo),
        )

    @property
    def output_shape(self) -> tuple[int, int, int]:
        """``(n_channels, n_phi, n_eta)`` of the images."""
        return (len(self.intensity), self.n_phi, self.n_eta)

    def metadata(self) -> dict[str, str]:
        """Return what the exported file says about its input."""
        return {
            "input_format": self.input_format,
            "padding": PADDING[self.input_format],
        }

    def example_input(self, n_constituents=None, dtype=np.float32, seed=0):
        """Random jets for tracing and checking the export.

        Padding rows anywhere (also between a jet's constituents), a jet with
        no constituents, and a quarter of the jets straddling phi = +-pi.
        """
        rng = np.random.default_rng(seed)
        n_jets = 64
        n = n_constituents or 24
        pt = rng.exponential(20.0, (n_jets, n))
        eta = rng.normal(0, 0.3, (n_jets, 1)) + rng.normal(0, 0.3, (n_jets, n))
        phi0 = rng.uniform(-np.pi, np.pi, (n_jets, 1))
        phi0[: n_jets // 4] = np.pi - 0.05  # straddling the +-pi boundary
        phi = phi0 + rng.normal(0, 0.3, (n_jets, n))
        pt[rng.random((n_jets, n)) < 0.3] = 0.0  # padding rows, also between jets' rows
        pt[0] = 0.0  # a jet with no constituents
        phi = kinematics.wrap_phi(phi)
        mass = rng.exponential(0.2, (n_jets, n))
        if self.input_format == "epxpypz":
            X = np.stack(kinematics.epxpypz(pt, eta, phi, 0.0), axis=-1)
        else:
            X = np.stack([pt, eta, phi, mass][: self.n_features], axis=-1)
        X[pt == 0] = 0.0
        return X.astype(dtype)

    def _kinematics(self, X):
        if self.input_format == "epxpypz":
            E, px, py, pz = X[..., 0], X[..., 1], X[..., 2], X[..., 3]
            mask = (px != 0) | (py != 0)
            pt = torch.sqrt(px * px + py * py)
            eta = asinh(pz / torch.where(mask, pt, torch.ones_like(pt)))
            phi = atan2(py, px)
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
        c = self._constants()
        mask, pt, eta, phi, E = self._kinematics(X)
        batch = X.shape[0]

        def per_jet_sum(v):
            return torch.sum(v, dim=1, keepdim=True)

        # each jet's first non-padding constituent is the phi reference
        first = torch.argmax(mask.to(torch.int32), dim=1, keepdim=True)
        phi_ref = torch.gather(phi, 1, first)
        sum_pt = per_jet_sum(pt)
        safe = torch.where(sum_pt > 0, sum_pt, torch.ones_like(sum_pt))
        dphi_ref = wrap_phi(phi - phi_ref)
        eta_c = per_jet_sum(pt * eta) / safe
        phi_c = phi_ref + per_jet_sum(pt * dphi_ref) / safe
        x = eta - eta_c
        y = wrap_phi(phi - phi_c)

        if self.rotate:
            sxx = per_jet_sum(pt * x * x)
            syy = per_jet_sum(pt * y * y)
            sxy = per_jet_sum(pt * x * y)
            theta = 0.5 * atan2(2 * sxy, sxx - syy)
            alpha = theta.new_tensor(HALF_PI) - theta
            cos, sin = torch.cos(alpha), torch.sin(alpha)
            x, y = x * cos - y * sin, x * sin + y * cos
        if self.flip:
            one = torch.ones_like(sum_pt)
            x = x * torch.where(per_jet_sum(pt * torch.sign(x)) < 0, -one, one)
            y = y * torch.where(per_jet_sum(pt * torch.sign(y)) < 0, -one, one)
        if not self.center:
            x = x + eta_c
            y = wrap_phi(y + phi_c)

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
