"""Imaging of data larger than memory: imagers applied block-wise to Dask collections."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from ..utils import import_optional


def _output_shape(imager, probe) -> tuple[tuple[int, ...], np.dtype]:
    """Shape of one jet's output and the output dtype, from a one-jet probe.

    The probe is one jet without constituents, in the layout of the real
    input: it checks the imager's parameters and the input's features (or
    record fields) before any data is read.
    """
    out = np.asarray(imager.transform(probe))
    return out.shape[1:], out.dtype


def _transform_block(block, imager, shape, dtype):
    """Images of one block of jets (any length, including zero)."""
    if len(block) == 0:
        return np.empty((0, *shape), dtype=dtype)
    return np.asarray(imager.transform(block), dtype=dtype)


def _from_dask_array(imager, X, da):
    from dask.base import tokenize

    if X.ndim != 3:
        raise ValueError(
            "transform_dask: expected a Dask array of shape (n_jets, n_constituents, "
            f"n_features), got {X.ndim} dimension(s) with shape {X.shape}"
        )
    if any(np.isnan(s) for s in X.shape[1:]):
        raise ValueError(
            "transform_dask: the constituent and feature axes must have known sizes, "
            f"got shape {X.shape}; call X.compute_chunk_sizes() first"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"transform_dask: X must be numeric, got dtype {X.dtype}")
    if len(X.chunks[1]) > 1 or len(X.chunks[2]) > 1:
        # each jet must sit in one block whole: chunk along jets only
        X = X.rechunk({1: -1, 2: -1})
    shape, dtype = _output_shape(imager, np.zeros((1, 1, X.shape[2]), dtype=X.dtype))
    n_new = len(shape)
    return X.map_blocks(
        _transform_block,
        imager,
        shape,
        dtype,
        dtype=dtype,
        chunks=(X.chunks[0], *((s,) for s in shape)),
        drop_axis=[1, 2],
        new_axis=list(range(1, 1 + n_new)),
        meta=np.empty((0,) * (1 + n_new), dtype=dtype),
        name=f"transform-{type(imager).__name__.lower()}-{tokenize(X, imager)}",
    )


def _from_dask_awkward(imager, X, da):
    dask = import_optional("dask", extra="dask")
    import awkward as ak

    # one jet with no constituents, of the input's type (fields and all)
    shape, dtype = _output_shape(imager, ak.Array(X.form.length_one_array()))
    if X.known_divisions:
        lengths = [int(n) for n in np.diff(X.divisions)]
    else:
        lengths = [np.nan] * X.npartitions
    # optimising the graph lets dask-awkward read only the columns of X
    transform = dask.delayed(_transform_block, pure=True)
    blocks = [
        da.from_delayed(
            transform(part, imager, shape, dtype),
            shape=(n, *shape),
            dtype=dtype,
            meta=np.empty((0,) * (1 + len(shape)), dtype=dtype),
        )
        for part, n in zip(X.to_delayed(optimize_graph=True), lengths, strict=True)
    ]
    return da.concatenate(blocks, axis=0)


def transform_dask(imager: Any, X: Any) -> Any:
    """Apply an imager block by block to a Dask collection of jets, lazily.

    The images are computed per block (per partition) when the result is
    computed or stored, so data larger than memory streams through: reduce
    the images (``images.mean(axis=0)``), write them to disk
    (``images.to_zarr(...)``, ``dask.array.to_npy_stack``) or feed them batch
    by batch to a classifier. Block ``k`` of the images holds the images of
    the jets of block ``k`` of ``X``, in order, so image ``i`` belongs to jet
    ``i`` as with ``imager.transform``.

    Read more in the :ref:`User Guide <scaling>`.

    Parameters
    ----------
    imager : transformer
        A stateless imager such as :class:`hepclf.JetImager` (or any fitted
        transformer that takes padded ``(n_jets, n_constituents, n_features)``
        input and gives a fixed-shape output per jet). It is copied into the
        task graph: later changes to it do not affect the result.
    X : dask.array.Array or dask_awkward.Array
        Jet constituents. A Dask array of shape ``(n_jets, n_constituents,
        n_features)``, zero-padded as for ``imager.transform``, chunked along
        jets (other chunkings are rechunked so that every block holds whole
        jets). Or a dask-awkward array of jets, each a variable-length list of
        constituent records with the fields the imager reads (``pt, eta, phi[,
        mass]`` or ``E, px, py, pz`` for ``JetImager``), e.g. built from
        ``uproot.dask``; only those columns are read from the files.

    Returns
    -------
    images : dask.array.Array of shape (n_jets, n_channels, height, width)
        Lazy images (``float32`` for ``JetImager``), chunked along jets like
        ``X`` (one block per partition of a dask-awkward array). The lengths of
        the blocks are unknown (NaN) when those of ``X`` are; call
        ``X.eager_compute_divisions()`` on a dask-awkward input first if you
        need them (e.g. for ``to_zarr``).

    Raises
    ------
    TypeError
        If ``X`` is neither a Dask array nor a dask-awkward array.
    ValueError
        If ``X`` has the wrong rank or number of features, or the imager's
        parameters are invalid (checked before any data is read).

    See Also
    --------
    hepclf.JetImager : the jet imager.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> from hepclf import JetImager
    >>> from hepclf.parallel import transform_dask
    >>> jets = np.zeros((10, 3, 4))
    >>> jets[:, 0] = [100.0, 0.1, 0.2, 0.0]   # (pt, eta, phi, mass)
    >>> imager = JetImager(npix=8, input_format="ptetaphi")
    >>> images = transform_dask(imager, da.from_array(jets, chunks=(4, 3, 4)))
    >>> images.shape, images.dtype, images.chunks[0]
    ((10, 1, 8, 8), dtype('float32'), (4, 4, 2))
    >>> np.array_equal(images.compute(), imager.transform(jets))
    True
    """
    da = import_optional("dask.array", extra="dask")
    imager = copy.deepcopy(imager)
    if isinstance(X, da.Array):
        return _from_dask_array(imager, X, da)
    if type(X).__module__.startswith("dask_awkward"):
        return _from_dask_awkward(imager, X, da)
    raise TypeError(
        "transform_dask: X must be a dask.array.Array or a dask_awkward.Array, got "
        f"{type(X).__name__}; for in-memory data call imager.transform(X)"
    )
