"""Compiled EventImager kernel (numba): one pass per event, events in parallel.

The arithmetic is that of the NumPy engine in ``_event.py``: the same span
formulas (compiled from the very functions the NumPy engine calls), float64
throughout, every pixel's contributions added in the order of the objects, so
both engines give the same images; ``tests/imaging/test_event.py`` checks it.
Instead of expanding every covered pixel into index arrays, the kernel writes
each object's pixel rows straight into a per-block float64 scratch image and
copies only the touched rows out, so the output is written once.
Used automatically when numba is installed (``pip install "hepclf[fast]"``).
"""

from __future__ import annotations

import numba
import numpy as np

from ..kinematics._numba import wrap_phi
from . import _event

_half_width = numba.njit(inline="always")(_event._half_width)
_covered = numba.njit(inline="always")(_event._covered)
_hole = numba.njit(inline="always")(_event._hole)
_clamp = numba.njit(inline="always")(_event._clamp)

MET = _event._MET
PHI_LO = _event._PHI_LO
MIN_RADIUS = _event.MIN_RADIUS_PX


@numba.njit(inline="always")
def _row_range(phi, b, sy, n_phi, periodic):
    """First candidate row and their number (as ``_event._row_range``)."""
    v0 = (phi - PHI_LO) * sy
    lo = _clamp(np.floor(v0 - b) - 1.0, -n_phi - 4.0, 2.0 * n_phi + 4.0)
    hi = _clamp(np.ceil(v0 + b) + 1.0, -n_phi - 4.0, 2.0 * n_phi + 4.0)
    if periodic:
        n = hi - lo + 1.0
        if n >= n_phi:
            return 0, n_phi
        return int(np.mod(lo, n_phi)), int(n)
    lo = max(lo, 0.0)
    hi = min(hi, n_phi - 1.0)
    return int(lo), int(max(hi - lo + 1.0, 0.0))


def _event_images(
    X,
    channel_of,
    rank,
    palette,
    rgb,
    count_intensity,
    outline,
    band_met,
    periodic,
    clip,
    eta_lo,
    eta_hi,
    sx,
    sy,
    scale_eta,
    scale_phi,
    half_line,
    row_phi,
    n_blocks,
    out,
):
    """Fill ``out`` (n_events, n_channels, n_phi, n_eta); return lost objects.

    The events are processed in ``n_blocks`` blocks in parallel, each with its
    own scratch image.
    """
    n_events, n_slots = X.shape[0], X.shape[1]
    n_channels, n_phi, n_eta = out.shape[1], out.shape[2], out.shape[3]
    lost = np.zeros(n_events, dtype=np.int64)
    n_blocks = min(n_events, n_blocks)
    step = -(-n_events // n_blocks)
    fn_eta = float(n_eta)
    for block in numba.prange(n_blocks):
        # scratch of this block: float64 pixel sums (or, when painting, 1 + the
        # priority of the object on top, 0 for the background, and the type
        # code of each priority) and which rows an event touched; reset row by row
        sums = np.zeros((n_channels, n_phi, n_eta))
        top = np.zeros((n_phi, n_eta), dtype=np.int64)
        code_of = np.zeros((rank.max() + 1) * n_slots + 1, dtype=np.int64)
        touched = np.zeros((n_channels, n_phi), dtype=np.bool_)
        spans = np.empty((n_phi, 5), dtype=np.int64)  # row, c0, e0, e1, c1
        painted = np.empty((n_slots * n_phi, 5), dtype=np.int64)  # an event's spans
        for j in range(block * step, min(n_events, (block + 1) * step)):
            n_painted = 0
            for i in range(n_slots):
                code = int(X[j, i, 0])
                if code == 0 or channel_of[code] < 0:
                    continue
                ch = channel_of[code]
                pt = np.float64(X[j, i, 1])
                eta = np.float64(X[j, i, 2])
                phi = np.float64(X[j, i, 3])
                is_met = code == MET
                if clip:
                    eta = _clamp(eta, eta_lo, eta_hi)
                if is_met:
                    eta = 0.0
                if periodic:
                    phi = wrap_phi(phi)
                log_pt = np.log(pt)
                a = max(scale_eta * log_pt * sx, MIN_RADIUS)
                b = max(scale_phi * log_pt * sy, MIN_RADIUS)
                band = is_met and band_met
                ai = -1.0
                bi = -1.0
                if outline:
                    ai = a - half_line
                    bi = b - half_line
                    a = a + half_line
                    b = b + half_line
                    if not (ai > 0 and bi > 0):
                        bi = -1.0
                value = 1.0 if count_intensity else pt
                u0 = (eta - eta_lo) * sx
                lo, n_rows = _row_range(phi, b, sy, n_phi, periodic)
                covered = 0
                m = 0
                for k in range(n_rows):
                    row = lo + k
                    if periodic:
                        row %= n_phi
                    dphi = row_phi[row] - phi
                    if periodic:
                        dphi = wrap_phi(dphi)
                    dy = dphi * sy
                    if not abs(dy) <= b:
                        continue
                    if band:
                        c0, c1 = 0.0, fn_eta
                    else:
                        c0, c1 = _covered(u0, _half_width(a, dy, b))
                    e0, e1 = c1, c1
                    if abs(dy) < bi:
                        if band:
                            e0, e1 = -np.inf, np.inf
                        else:
                            e0, e1 = _hole(u0, _half_width(ai, dy, bi))
                    c0 = _clamp(c0, 0.0, fn_eta)
                    c1 = _clamp(c1, 0.0, fn_eta)
                    e0 = _clamp(e0, c0, c1)
                    e1 = _clamp(e1, c0, c1)
                    n = int(e0 - c0) + int(c1 - e1)
                    if n == 0:
                        continue
                    covered += n
                    spans[m, 0] = row
                    spans[m, 1] = int(c0)
                    spans[m, 2] = int(e0)
                    spans[m, 3] = int(e1)
                    spans[m, 4] = int(c1)
                    m += 1
                if covered == 0:
                    lost[j] += 1
                    continue
                if rgb:
                    priority = rank[code] * n_slots + i
                    code_of[priority + 1] = code
                    for s in range(m):
                        row = spans[s, 0]
                        for c in range(spans[s, 1], spans[s, 2]):
                            top[row, c] = max(top[row, c], priority + 1)
                        for c in range(spans[s, 3], spans[s, 4]):
                            top[row, c] = max(top[row, c], priority + 1)
                        painted[n_painted] = spans[s]
                        n_painted += 1
                    continue
                w = value / np.float64(covered)
                for s in range(m):
                    row = spans[s, 0]
                    touched[ch, row] = True
                    for c in range(spans[s, 1], spans[s, 2]):
                        sums[ch, row, c] += w
                    for c in range(spans[s, 3], spans[s, 4]):
                        sums[ch, row, c] += w
            # write the event out, resetting the scratch rows it touched
            if rgb:
                # the background everywhere, then the colour on top at every
                # painted pixel, then the scratch reset where it was painted
                image = out[j].reshape(3 * n_phi * n_eta)  # a view: flat writes
                for c in range(3):
                    image[c * n_phi * n_eta : (c + 1) * n_phi * n_eta] = palette[0, c]
                for s in range(n_painted):
                    row = painted[s, 0]
                    for lo_, hi_ in ((1, 2), (3, 4)):
                        for col in range(painted[s, lo_], painted[s, hi_]):
                            code = code_of[top[row, col]]
                            for c in range(3):
                                out[j, c, row, col] = palette[code, c]
                for s in range(n_painted):
                    row = painted[s, 0]
                    for col in range(painted[s, 1], painted[s, 4]):
                        top[row, col] = 0
                continue
            for ch in range(n_channels):
                for row in range(n_phi):
                    if not touched[ch, row]:
                        for col in range(n_eta):
                            out[j, ch, row, col] = 0.0
                        continue
                    touched[ch, row] = False
                    for col in range(n_eta):
                        out[j, ch, row, col] = sums[ch, row, col]
                        sums[ch, row, col] = 0.0
    return lost


_kernel = numba.njit(parallel=True, cache=True, nogil=True)(_event_images)


def event_images(X, recipe, out):
    """Draw ``X`` into ``out`` with the kernel; return the objects not drawn per event."""
    return _kernel(
        X,
        recipe.channel_of,
        recipe.rank,
        recipe.palette,
        recipe.rgb,
        recipe.count,
        recipe.outline,
        recipe.band,
        recipe.periodic,
        recipe.clip,
        recipe.eta_range[0],
        recipe.eta_range[1],
        recipe.scales[0],
        recipe.scales[1],
        recipe.radius_scale[0],
        recipe.radius_scale[1],
        recipe.half_line,
        recipe.row_phi,
        8 * numba.get_num_threads(),
        out,
    )
