"""The formulas of :mod:`hepclf.kinematics._formulas` for torch tensors.

Used by the networks (float32, under autocast too) and by the graphs exported
to ONNX (float64). Constants are made as tensors of the input's dtype, never
left as Python floats: torch's ONNX exporter stores a Python float as a float32
constant, which would move float64 angles by 1e-7.

ONNX Runtime's CPU kernels have no float64 ``Atan``, ``Asinh`` or ``Cosh``, so
:func:`atan2`, :func:`asinh` and :func:`cosh` build them from operations that
have one; they agree with NumPy to about 1e-16.
"""

from __future__ import annotations

import torch

from ._formulas import HALF_OVER_PI, PI, TWO_PI


def wrap_phi(phi):
    """Map angles to ``[-pi, pi)``, as :func:`hepclf.kinematics.wrap_phi`."""
    two_pi, pi, half_over_pi = (phi.new_tensor(v) for v in (TWO_PI, PI, HALF_OVER_PI))
    return phi - two_pi * torch.floor((phi + pi) * half_over_pi)


def pt_eta_phi(px, py, pz, *, pt_floor=None, mask=None):
    """Transverse momentum, pseudorapidity and azimuth of momentum tensors.

    As :func:`hepclf.kinematics.pt_eta_phi`, with the zero-pT rows made safe:
    ``pt`` is clamped below at ``pt_floor``, and padding rows (``mask``
    False) are read as ``px, py = 1, 0``, so ``pt = 1``, ``phi = 0`` and every
    gradient is finite.

    Parameters
    ----------
    px, py, pz : Tensor
        Momentum components (GeV).
    pt_floor : float, optional
        Smallest transverse momentum.
    mask : Tensor of bool, optional
        False for padding rows.

    Returns
    -------
    pt, eta, phi : Tensor
        The (safe) transverse momentum, ``asinh(pz / pt)`` and ``atan2(py, px)``.
    """
    if mask is not None:
        # padding reads as (1, 0): hypot and atan2 have 0/0 gradients at the
        # origin, which would reach the inputs as NaN through the masked rows
        px = torch.where(mask, px, torch.ones_like(px))
        py = torch.where(mask, py, torch.zeros_like(py))
    pt = torch.hypot(px, py)
    if pt_floor is not None:
        pt = pt.clamp_min(pt_floor)
    return pt, torch.asinh(pz / pt), torch.atan2(py, px)


def _is_negative(v):
    """``v < 0``, and True for -0.0 too (the sign bit, for finite ``v``)."""
    return (v < 0) | ((v == 0) & (torch.reciprocal(v) < 0))


def atan2(y, x):
    """``numpy.arctan2`` in float64 from operations ONNX Runtime has for doubles.

    A float32 ``atan(y / x)`` (moved to the right quadrant) is refined with one
    Newton step, ``theta += (y cos theta - x sin theta) / (x cos theta + y sin
    theta)``, whose error is the cube of the float32 error (~1e-21). Zeros and
    the axes give IEEE's exact values, signed zeros included.
    """
    pi = y.new_tensor(PI)
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
