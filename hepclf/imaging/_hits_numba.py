"""Compiled EnergyEncoder kernel (numba): one pass per event, events in parallel.

The arithmetic is that of the NumPy engine in ``_hits.py``: the same pixel
rule (a binary search on the same float64 edges), float64 sums in the hits'
row order, one rounding to float32, so both give the same images
(``tests/imaging/test_hits.py`` checks it). Each event's image is zeroed and
written in one pass, so the output needs no separate zero fill. Used
automatically when numba is installed (``pip install "hepclf[fast]"``).
"""

from __future__ import annotations

import numba
import numpy as np

#: Encoding codes of the kernel, in the order of ``_hits.ENCODINGS``.
BINARY, TOTAL, AVERAGE, PER_HIT = 0, 1, 2, 3
FLOAT32_MAX = float(np.finfo(np.float32).max)


@numba.njit(inline="always")
def _bin(value, edges, per_unit):
    """``searchsorted(edges, value, side="right") - 1`` clipped to the pixels.

    A guess from the uniform spacing (``per_unit`` pixels per unit), then
    corrected against the edges themselves, so the result is the edges' rule
    exactly (a binary search costs branch mispredictions on every hit).
    """
    n = len(edges) - 1
    j = min(max(np.int64((value - edges[0]) * per_unit), 0), n - 1)
    while j > 0 and value < edges[j]:
        j -= 1
    while j < n - 1 and value >= edges[j + 1]:
        j += 1
    return j


def _hit_images(X, unrolled, extent, clip, kinds, scale, row_edges, col_edges, out):
    """Fill ``out`` (n_events, n_channels, n_rows, n_cols); return lost hits, overflow.

    ``lost[i]``: hits of event ``i`` beyond the extent; ``overflow[i]``: a
    value of event ``i`` beyond float32 (the caller words the error).
    """
    n_events, n_slots = X.shape[0], X.shape[1]
    n_channels, n_rows, n_cols = out.shape[1], out.shape[2], out.shape[3]
    n_pix = n_rows * n_cols
    row_scale = n_rows / (row_edges[-1] - row_edges[0])
    col_scale = n_cols / (col_edges[-1] - col_edges[0])
    lost = np.zeros(n_events, dtype=np.int64)
    overflow = np.zeros(n_events, dtype=np.bool_)
    per_hit = False
    for c in range(n_channels):
        per_hit = per_hit or kinds[c] == PER_HIT
    block = 64
    n_blocks = (n_events + block - 1) // block
    for b in numba.prange(n_blocks):
        sums = np.zeros(n_pix if per_hit else 1)
        pixel = np.empty(n_slots, dtype=np.int64)
        charge = np.empty(n_slots)
        for i in range(b * block, min(n_events, (b + 1) * block)):
            total = 0.0
            count = 0
            m = 0
            for k in range(n_slots):
                x = np.float64(X[i, k, 0])
                y = np.float64(X[i, k, 1])
                q = np.float64(X[i, k, 2])
                if x == 0 and y == 0 and q == 0:
                    continue
                total += q
                count += 1
                if unrolled:
                    col = _bin(np.arctan2(y, x), col_edges, col_scale)
                    row = np.int64(X[i, k, 3])
                else:
                    if abs(x) > extent or abs(y) > extent:
                        lost[i] += 1
                        if not clip:
                            continue
                        x = min(max(x, -extent), extent)
                        y = min(max(y, -extent), extent)
                    col = _bin(x, col_edges, col_scale)
                    row = _bin(y, row_edges, row_scale)
                pixel[m] = row * n_cols + col
                charge[m] = q
                m += 1
            for c in range(n_channels):  # this event's image, zeroed in the pass
                for r in range(n_rows):
                    for col in range(n_cols):
                        out[i, c, r, col] = 0
            average = total / max(count, 1)
            if per_hit:
                for j in range(m):
                    sums[pixel[j]] += charge[j]
            for c in range(n_channels):
                image = out[i, c]
                kind = kinds[c]
                if kind == BINARY:
                    value = 1.0
                elif kind == TOTAL:
                    value = total / scale[c]
                else:
                    value = average / scale[c]
                for j in range(m):
                    if kind == PER_HIT:
                        value = sums[pixel[j]] / scale[c]
                    if value > FLOAT32_MAX:
                        overflow[i] = True
                    image[pixel[j] // n_cols, pixel[j] % n_cols] = value
            if per_hit:
                for j in range(m):
                    sums[pixel[j]] = 0.0
    return lost, overflow


hit_images = numba.njit(parallel=True, cache=True, nogil=True)(_hit_images)
