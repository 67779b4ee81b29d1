"""Compiled JetImager kernel (numba): one pass per jet, jets in parallel.

The arithmetic is the same as the NumPy path in ``_jet.py`` (same formulas, float64
throughout, same summation order), so both give the same images;
``tests/imaging/test_jet_engines.py`` checks it. Note ``np.float64(x)``: numba's
``float(x)`` keeps a float32 scalar in float32.
Used automatically when numba is installed (``pip install "hepclf[fast]"``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..kinematics._numba import energy, pt_eta_phi, wrap_phi

# error codes returned by the kernel (0: fine); the jet index comes with them
STRAY, NEGATIVE_E, NEGATIVE_PT, NEGATIVE_MASS, OVERFLOW = 1, 2, 3, 4, 5
FLOAT32_MAX = float(np.finfo(np.float32).max)


@numba.njit(inline="always")
def _flip(coord, pt, m):
    """Reflect ``coord[:m]`` if its pT-weighted sign sum is negative."""
    balance = 0.0
    for i in range(m):
        balance += pt[i] * np.sign(coord[i])
    if balance < 0:
        for i in range(m):
            coord[i] = -coord[i]


def _jet_images(
    X,
    epxpypz,
    center,
    rotate,
    flip,
    normalize,
    kinds,
    eta_lo,
    eta_hi,
    phi_lo,
    phi_hi,
    out,
):
    """Fill ``out`` (n_jets, n_kinds, n_phi, n_eta) with jet images; return errors."""
    n_jets, n_items, n_feat = X.shape
    n_kinds, n_phi, n_eta = out.shape[1], out.shape[2], out.shape[3]
    errors = np.zeros((n_jets, 2), dtype=np.int64)
    scale_eta = n_eta / (eta_hi - eta_lo)
    scale_phi = n_phi / (phi_hi - phi_lo)
    for j in numba.prange(n_jets):
        pt = np.empty(n_items)
        eta = np.empty(n_items)
        phi = np.empty(n_items)
        energies = np.empty(n_items)
        m = 0
        for i in range(n_items):
            if epxpypz:
                # float64 arithmetic whatever the input dtype, as the NumPy engine
                e = np.float64(X[j, i, 0])
                px = np.float64(X[j, i, 1])
                py = np.float64(X[j, i, 2])
                pz = np.float64(X[j, i, 3])
                if px == 0 and py == 0:
                    if e != 0 or pz != 0:
                        errors[j, 0] = STRAY
                    continue
                if e < 0:
                    errors[j, 0] = NEGATIVE_E
                pt[m], eta[m], phi[m] = pt_eta_phi(px, py, pz)
                energies[m] = e
            else:
                p = np.float64(X[j, i, 0])
                if p == 0:
                    continue
                if p < 0:
                    errors[j, 0] = NEGATIVE_PT
                pt[m] = p
                eta[m] = np.float64(X[j, i, 1])
                phi[m] = np.float64(X[j, i, 2])
                mass = 0.0
                if n_feat == 4:
                    mass = np.float64(X[j, i, 3])
                    if mass < 0:
                        errors[j, 0] = NEGATIVE_MASS
                energies[m] = energy(p, eta[m], mass)
            m += 1
        if m == 0 or errors[j, 0] != 0:
            for k in range(n_kinds):
                for r in range(n_phi):
                    for c in range(n_eta):
                        out[j, k, r, c] = 0.0
            continue
        x = eta  # reuse the buffers for the image coordinates
        y = phi
        eta_c = 0.0
        phi_c = 0.0
        if center or rotate or flip:
            # centroid, with the first constituent's phi as wrap-around reference
            ref = phi[0]
            s_pt = 0.0
            s_eta = 0.0
            s_dphi = 0.0
            for i in range(m):
                s_pt += pt[i]
                s_eta += pt[i] * eta[i]
                s_dphi += pt[i] * wrap_phi(phi[i] - ref)
            safe = s_pt if s_pt > 0 else 1.0
            eta_c = s_eta / safe
            phi_c = ref + s_dphi / safe
            for i in range(m):
                x[i] = eta[i] - eta_c
                y[i] = wrap_phi(phi[i] - phi_c)
        else:
            # absolute coordinates as given: no round trip through the centroid,
            # whose rounding depends on the constituent order
            for i in range(m):
                y[i] = wrap_phi(phi[i])
        if rotate:
            sxx = 0.0
            syy = 0.0
            sxy = 0.0
            for i in range(m):
                sxx += pt[i] * x[i] * x[i]
                syy += pt[i] * y[i] * y[i]
                sxy += pt[i] * x[i] * y[i]
            alpha = math.pi / 2 - 0.5 * math.atan2(2 * sxy, sxx - syy)
            cos, sin = math.cos(alpha), math.sin(alpha)
            for i in range(m):
                xi, yi = x[i], y[i]
                x[i] = xi * cos - yi * sin
                y[i] = xi * sin + yi * cos
        if flip:
            _flip(x, pt, m)
            _flip(y, pt, m)
        if not center and (rotate or flip):
            for i in range(m):
                x[i] = x[i] + eta_c
                y[i] = wrap_phi(y[i] + phi_c)
        for k in range(n_kinds):
            total = 0.0
            for i in range(m):
                ix = math.floor((x[i] - eta_lo) * scale_eta)
                iy = math.floor((y[i] - phi_lo) * scale_phi)
                if 0 <= ix < n_eta and 0 <= iy < n_phi:
                    total += (
                        pt[i]
                        if kinds[k] == 0
                        else (energies[i] if kinds[k] == 1 else 1.0)
                    )
            if not normalize and total > FLOAT32_MAX:
                errors[j, 0] = OVERFLOW
                errors[j, 1] = k
                break
            norm = total if (normalize and total > 0) else 1.0
            # pixel sums in float64, as the NumPy engine's bincount, then one cast
            pixels = np.zeros((n_phi, n_eta))
            for i in range(m):
                ix = math.floor((x[i] - eta_lo) * scale_eta)
                iy = math.floor((y[i] - phi_lo) * scale_phi)
                if 0 <= ix < n_eta and 0 <= iy < n_phi:
                    w = (
                        pt[i]
                        if kinds[k] == 0
                        else (energies[i] if kinds[k] == 1 else 1.0)
                    )
                    pixels[int(iy), int(ix)] += w / norm
            for r in range(n_phi):
                for c in range(n_eta):
                    out[j, k, r, c] = pixels[r, c]
    return errors


# One compiled kernel, parallel over jets. (numba's on-disk cache is keyed by the
# Python function, not by the compile options: a serial and a parallel njit of the
# same function share one cache entry, and whichever compiled first served both.
# A parallel region over a single jet costs a few microseconds, so none is needed.)
_kernel = numba.njit(parallel=True, cache=True, nogil=True)(_jet_images)


def jet_images(X, *args):
    """Run the kernel, in parallel over jets (``numba.set_num_threads`` caps it)."""
    return _kernel(X, *args)
