"""The formulas of :mod:`hepclf.kinematics._formulas`, compiled by numba.

The very same Python functions are compiled (``inline="always"``), so a numba
kernel and a NumPy engine that both call them agree bitwise. Importing this
module needs numba (``pip install "hepclf[fast]"``).
"""

from __future__ import annotations

import numba

from . import _formulas


def _jit(function):
    return numba.njit(inline="always")(function)


wrap_phi = _jit(_formulas.wrap_phi)
pt_eta_phi = _jit(_formulas.pt_eta_phi)
energy = _jit(_formulas.energy)
