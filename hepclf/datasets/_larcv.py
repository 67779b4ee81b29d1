"""Read and write liquid-argon particle images.

Two layouts are supported, both read with h5py alone (no larcv installation):

- The **challenge layout** of the DeepLearnPhysics/KMI 2020 single-particle
  images ("Challenge A"): a plain HDF5 file with a dataset ``image`` of shape
  ``(N, height, width)`` (float32, 192 x 192 in the original files) and a
  dataset ``pdg`` of shape ``(N,)`` (int32 PDG codes). The original files also
  hold ``index`` (int32) and ``mean``/``std`` (float64, shape ``(1,)``); the
  readers do not need them. The label of an image is the index of its PDG code
  in the sorted list of the distinct codes (0 = e-, 1 = mu-, 2 = photon,
  3 = proton for the codes 11, 13, 22, 2212).
- **larcv3 sparse2d** products: ``/Events/event_id`` and, per product,
  ``/Data/sparse2d_<producer>_group`` with the datasets ``extents``,
  ``voxel_extents``, ``image_meta`` and ``voxels``, as written by larcv3's
  ``IOManager`` and ``EventSparseTensor`` (at larcv3 commit ed62f8b).

The dense challenge images are mostly empty pixels and the files are large
(400,000 images of 192 x 192 are 59 GB as float32), so the readers take a row
range or iterate in batches: memory follows the batch, never the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from numbers import Integral
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, validate_params

__all__ = [
    "ParticleImageBatches",
    "ParticleImages",
    "iter_particle_images",
    "load_larcv_sparse2d",
    "load_particle_images",
    "write_larcv_sparse2d",
    "write_particle_images",
]

#: Dataset names of the challenge layout.
IMAGE_KEY = "image"
PDG_KEY = "pdg"
INDEX_KEY = "index"

#: Names of the particles by PDG code (the classes of the DeepLearnPhysics
#: single-particle sets, and their antiparticles).
PARTICLE_NAMES = {
    11: "electron",
    -11: "positron",
    13: "muon",
    -13: "antimuon",
    22: "photon",
    211: "pion",
    -211: "antipion",
    2212: "proton",
}
_CODES_BY_NAME = {name: code for code, name in PARTICLE_NAMES.items()}

#: Rows of ``pdg`` read at once when scanning it (4 MB of int32).
_PDG_CHUNK = 1 << 20

#: larcv3 sparse2d: the datasets of a product group and the fields each needs.
SPARSE2D_FIELDS = {
    "extents": ("first", "N"),
    "voxel_extents": ("first", "N", "ID"),
    "image_meta": ("number_of_voxels",),
    "voxels": ("id", "value"),
}

# larcv3 (ed62f8b) datatypes, as its C++ structs lay them out:
# Extents_t {unsigned long long first; unsigned int n;},
# IDExtents_t {... first; unsigned int n; unsigned int id;},
# Voxel {unsigned long _id; float _value;}, EventID {long run, subrun, event},
# ImageMeta<2> {bool valid; size_t projection_id; double image_sizes[2];
# size_t number_of_voxels[2]; double origin[2]; ...}.
_EXTENTS = np.dtype([("first", "<u8"), ("N", "<u4")], align=True)
_ID_EXTENTS = np.dtype([("first", "<u8"), ("N", "<u4"), ("ID", "<u4")], align=True)
_VOXEL = np.dtype([("id", "<u8"), ("value", "<f4")], align=True)
_EVENT_ID = np.dtype([("run", "<i8"), ("subrun", "<i8"), ("event", "<i8")])
_META_2D = np.dtype(
    [
        ("valid", "u1"),
        ("projection_id", "<u8"),
        ("image_sizes", "<f8", (2,)),
        ("number_of_voxels", "<u8", (2,)),
        ("origin", "<f8", (2,)),
    ],
    align=True,
)


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is a dependency
        raise ImportError(
            "reading liquid-argon image files needs h5py: pip install h5py"
        ) from exc
    return h5py


def _open(path: str | os.PathLike):
    """Open ``path`` read-only with h5py; failures name the file."""
    h5py = _h5py()
    file = Path(os.fspath(path))
    if not file.exists():
        raise FileNotFoundError(f"{file}: no such file")
    if file.is_dir():
        raise IsADirectoryError(f"{file} is a directory, not an HDF5 file")
    try:
        return file, h5py.File(file, "r")
    except OSError as exc:
        raise ValueError(
            f"{file} could not be opened as an HDF5 file; it may be truncated, "
            f"corrupt or not HDF5 ({exc})"
        ) from exc


def _get(parent, key: str, kind):
    """Return ``parent[key]`` if it exists and is a ``kind``, else None."""
    obj = parent.get(key)
    return obj if isinstance(obj, kind) else None


def _members(group) -> str:
    names = sorted(group.keys())
    return ", ".join(repr(n) for n in names) if names else "none"


def _slice_range(start: int, stop: int | None, n: int) -> tuple[int, int]:
    """Rows ``start:stop`` of ``n`` (Python slice semantics, step 1)."""
    a, b, _ = slice(start, stop).indices(n)
    return a, max(a, b)


# -- the challenge layout ----------------------------------------------------------
class ParticleImages(NamedTuple):
    """Images and labels read by :func:`load_particle_images`.

    Parameters
    ----------
    images : ndarray of shape (n_images, 1, height, width), dtype float32
        The images, one channel.
    labels : ndarray of shape (n_images,), dtype int64
        Index of each image's PDG code in ``pdg_codes``.
    pdg : ndarray of shape (n_images,), dtype int64
        The PDG code of each image, as stored.
    pdg_codes : ndarray of shape (n_classes,), dtype int64
        The PDG code of each label: ``pdg == pdg_codes[labels]``.
    class_names : list of str
        A name for each label (``"electron"``, ``"muon"``, ...; ``"pdg <code>"``
        for codes without a name).
    """

    images: np.ndarray
    labels: np.ndarray
    pdg: np.ndarray
    pdg_codes: np.ndarray
    class_names: list[str]


def _class_names(codes) -> list[str]:
    return [PARTICLE_NAMES.get(int(c), f"pdg {int(c)}") for c in codes]


def _challenge_datasets(f, file: Path):
    """Return the ``image`` and ``pdg`` datasets of an open file, checked."""
    h5py = _h5py()
    found = {}
    for key in (IMAGE_KEY, PDG_KEY):
        obj = _get(f, key, h5py.Dataset)
        if obj is None:
            raise ValueError(
                f"{file} has no dataset {key!r}, so it is not in the particle-image "
                f"layout (datasets 'image' (N, height, width) and 'pdg' (N,)); "
                f"members present: {_members(f)}"
            )
        found[key] = obj
    image, pdg = found[IMAGE_KEY], found[PDG_KEY]
    if image.ndim != 3:
        raise ValueError(
            f"{file}: dataset 'image' has shape {image.shape}; expected 3 axes "
            "(N, height, width)"
        )
    if image.dtype.kind not in "fiub":
        raise ValueError(
            f"{file}: dataset 'image' must be numeric, got dtype {image.dtype}"
        )
    if pdg.ndim != 1:
        raise ValueError(
            f"{file}: dataset 'pdg' has shape {pdg.shape}; expected 1 axis (N,)"
        )
    if pdg.dtype.kind not in "iu":
        raise ValueError(
            f"{file}: dataset 'pdg' must hold integer PDG codes, got dtype {pdg.dtype}"
        )
    if pdg.shape[0] != image.shape[0]:
        raise ValueError(
            f"{file}: dataset 'image' has {image.shape[0]} images but dataset "
            f"'pdg' has {pdg.shape[0]} codes"
        )
    return image, pdg


def _pdg_chunks(pdg, a: int, b: int) -> Iterator[tuple[int, np.ndarray]]:
    for lo in range(a, b, _PDG_CHUNK):
        yield lo, pdg[lo : min(b, lo + _PDG_CHUNK)].astype(np.int64)


def _resolve_classes(pdg, file: Path, classes, a: int, b: int) -> np.ndarray:
    """Return the PDG code of each label.

    ``classes=None``: the sorted distinct codes of the whole file (not only
    rows ``a:b``, so a label means the same in every slice of a file).
    Otherwise the given codes (or particle names), in the given order; every
    code in rows ``a:b`` must be among them.
    """
    if classes is None:
        codes = np.zeros(0, dtype=np.int64)
        for _, chunk in _pdg_chunks(pdg, 0, pdg.shape[0]):
            codes = np.union1d(codes, chunk)
        return codes
    codes = []
    for c in classes:
        if isinstance(c, str):
            if c not in _CODES_BY_NAME:
                raise ValueError(
                    f"unknown particle name {c!r} in classes; known names: "
                    f"{sorted(_CODES_BY_NAME)} (or give PDG codes)"
                )
            codes.append(_CODES_BY_NAME[c])
        elif isinstance(c, Integral | np.integer) and not isinstance(c, bool):
            codes.append(int(c))
        else:
            raise TypeError(
                f"classes must hold PDG codes (int) or particle names, got {c!r}"
            )
    codes = np.asarray(codes, dtype=np.int64)
    if codes.size == 0:
        raise ValueError("classes is empty; give at least one PDG code")
    if np.unique(codes).size != codes.size:
        raise ValueError(f"classes names a PDG code twice: {codes.tolist()}")
    for lo, chunk in _pdg_chunks(pdg, a, b):
        bad = ~np.isin(chunk, codes)
        if bad.any():
            row = lo + int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{file}: dataset 'pdg' holds PDG code {int(chunk[row - lo])} "
                f"(image {row}), which is not in classes {codes.tolist()} "
                f"(images outside classes in rows {lo}-{lo + len(chunk) - 1}: "
                f"{int(bad.sum())})"
            )
    return codes


def _labels(pdg: np.ndarray, codes: np.ndarray) -> np.ndarray:
    order = np.argsort(codes, kind="stable")
    return order[np.searchsorted(codes[order], pdg)].astype(np.int64)


def _read_images(image, a: int, b: int, file: Path) -> np.ndarray:
    """Rows ``a:b`` of ``image`` as float32 ``(b - a, 1, height, width)``."""
    n = b - a
    height, width = image.shape[1:]
    out = np.empty((n, 1, height, width), dtype=np.float32)
    if n:
        # HDF5 converts to float32 while reading: no copy in the stored dtype.
        image.read_direct(out.reshape(n, height, width), np.s_[a:b])
    finite = np.isfinite(out)
    if not finite.all():
        bad = np.flatnonzero(~finite.reshape(n, -1).all(axis=1))
        kind = "NaN" if np.isnan(out[bad[0]]).any() else "infinite"
        raise ValueError(
            f"{file}: dataset 'image' has {kind} pixels in image {a + int(bad[0])} "
            f"(images with such pixels in rows {a}-{b - 1}: {bad.size})"
        )
    return out


def _batch(f, file, a, b, codes, return_info):
    image, pdg = f[IMAGE_KEY], f[PDG_KEY]
    X = _read_images(image, a, b, file)
    codes_read = pdg[a:b].astype(np.int64)
    y = _labels(codes_read, codes)
    if return_info:
        return ParticleImages(X, y, codes_read, codes.copy(), _class_names(codes))
    return X, y


_READ_PARAMS = {
    "path": [str, os.PathLike],
    "start": [Integral],
    "stop": [Integral, None],
    "classes": ["array-like", None],
    "return_info": ["boolean"],
}


@validate_params(_READ_PARAMS, prefer_skip_nested_validation=True)
def load_particle_images(
    path: str | os.PathLike,
    *,
    start: int = 0,
    stop: int | None = None,
    classes: Sequence[int | str] | None = None,
    return_info: bool = False,
) -> tuple[np.ndarray, np.ndarray] | ParticleImages:
    """Load particle images in the challenge HDF5 layout.

    Reads the single-particle liquid-argon images of the DeepLearnPhysics
    KMI 2020 challenge (``train.h5``, ``test.h5``) or files written by
    :func:`write_particle_images`: a dataset ``image`` of shape
    ``(N, height, width)`` and a dataset ``pdg`` of shape ``(N,)``. Only rows
    ``start:stop`` are read from the disk (HDF5 hyperslab reads, converted to
    float32 on the way), so a slice of a 59 GB file costs the memory of the
    slice.

    Parameters
    ----------
    path : str or path-like
        The HDF5 file.
    start, stop : int, default=0, None
        Read only images ``start:stop`` (Python slice semantics; negative
        values count from the end). The original example trains on the first
        half of ``train.h5`` and validates on the second half.
    classes : sequence of int or str, default=None
        PDG codes (or particle names such as ``"electron"``, see
        ``PARTICLE_NAMES``) of the labels, in label order. ``None`` uses the
        sorted distinct codes of the whole file (not only of the rows read, so
        that a label means the same in every slice), as the challenge defines
        its labels. A code in the rows read that is not in ``classes`` is an
        error.
    return_info : bool, default=False
        Return a :class:`ParticleImages` with the PDG codes and class names
        as well.

    Returns
    -------
    images : ndarray of shape (n_images, 1, height, width), dtype float32
        The images, as stored (no normalisation).
    labels : ndarray of shape (n_images,), dtype int64
        Index of each image's PDG code in the class list.
    info : ParticleImages
        Instead of ``(images, labels)`` when ``return_info=True``.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not HDF5, lacks the ``image`` or ``pdg`` dataset, has
        an ``image`` dataset that is not 3-D or numeric, a ``pdg`` dataset that
        is not 1-D integers or not as long as ``image``, NaN or infinite
        pixels in the rows read, or a code not in ``classes``. Each message
        names the file and the dataset.

    See Also
    --------
    iter_particle_images : The same rows in batches.
    write_particle_images : Write images in this layout.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from hepclf.datasets import load_particle_images, write_particle_images
    >>> path = os.path.join(tempfile.mkdtemp(), "particles.h5")
    >>> images = np.zeros((4, 8, 8), dtype=np.float32)
    >>> _ = write_particle_images(path, images, [2212, 11, 22, 13])
    >>> X, y = load_particle_images(path)
    >>> X.shape, y.tolist()
    ((4, 1, 8, 8), [3, 0, 2, 1])
    >>> load_particle_images(path, return_info=True).class_names
    ['electron', 'muon', 'photon', 'proton']
    """
    file, f = _open(path)
    with f:
        _, pdg = _challenge_datasets(f, file)
        a, b = _slice_range(int(start), None if stop is None else int(stop), len(pdg))
        codes = _resolve_classes(pdg, file, classes, a, b)
        return _batch(f, file, a, b, codes, return_info)


class ParticleImageBatches:
    """Batches of particle images from one file, re-iterable.

    Made by :func:`iter_particle_images`; each iteration opens the file,
    reads one batch at a time and closes it at the end, so it can serve
    several epochs.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    batch_size : int
        Images per batch (the last may be smaller).
    rows : tuple of int
        The row range ``(start, stop)`` iterated over.
    pdg_codes : ndarray of shape (n_classes,)
        The PDG code of each label.
    image_shape : tuple of int
        ``(1, height, width)`` of each image.
    return_info : bool
        Whether batches are :class:`ParticleImages` or ``(images, labels)``.

    Attributes
    ----------
    class_names : list of str
        A name for each label.
    n_images : int
        Images over all batches.
    """

    def __init__(self, path, batch_size, rows, pdg_codes, image_shape, return_info):
        self.path = path
        self.batch_size = batch_size
        self.rows = rows
        self.pdg_codes = pdg_codes
        self.image_shape = image_shape
        self.return_info = return_info
        self.class_names = _class_names(pdg_codes)
        self.n_images = rows[1] - rows[0]

    def __len__(self) -> int:
        return (self.n_images + self.batch_size - 1) // self.batch_size

    def __iter__(self) -> Iterator[Any]:
        a, b = self.rows
        file, f = _open(self.path)
        with f:
            _challenge_datasets(f, file)
            for lo in range(a, b, self.batch_size):
                hi = min(b, lo + self.batch_size)
                yield _batch(f, file, lo, hi, self.pdg_codes, self.return_info)

    def __repr__(self) -> str:
        return (
            f"ParticleImageBatches({str(self.path)!r}, {self.n_images} images in "
            f"{len(self)} batches of {self.batch_size}, classes {self.class_names})"
        )


@validate_params(
    {**_READ_PARAMS, "batch_size": [Interval(Integral, 1, None, closed="left")]},
    prefer_skip_nested_validation=True,
)
def iter_particle_images(
    path: str | os.PathLike,
    *,
    batch_size: int = 256,
    start: int = 0,
    stop: int | None = None,
    classes: Sequence[int | str] | None = None,
    return_info: bool = False,
) -> ParticleImageBatches:
    """Iterate over particle images in the challenge HDF5 layout, in batches.

    The layout, labels and checks are those of :func:`load_particle_images`;
    the file is checked and the class list fixed when this function is
    called, and each batch is read from the disk when it is reached, so the
    memory is that of one batch (``batch_size * height * width * 4`` bytes
    for the images).

    Parameters
    ----------
    path : str or path-like
        The HDF5 file.
    batch_size : int, default=256
        Images per batch; the last batch holds the rest.
    start, stop : int, default=0, None
        Iterate over images ``start:stop`` only (Python slice semantics).
    classes : sequence of int or str, default=None
        As in :func:`load_particle_images`; every code in ``start:stop`` is
        checked before the first batch.
    return_info : bool, default=False
        Yield :class:`ParticleImages` instead of ``(images, labels)``.

    Returns
    -------
    batches : ParticleImageBatches
        Re-iterable; ``len(batches)`` is the number of batches, and
        ``batches.pdg_codes`` and ``batches.class_names`` name the labels.

    Raises
    ------
    FileNotFoundError, ValueError
        As :func:`load_particle_images`; NaN or infinite pixels are reported
        by the batch that holds them.

    See Also
    --------
    load_particle_images : Read a row range at once.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from hepclf.datasets import iter_particle_images, write_particle_images
    >>> path = os.path.join(tempfile.mkdtemp(), "particles.h5")
    >>> _ = write_particle_images(path, np.ones((5, 4, 4)), [11, 13, 22, 2212, 11])
    >>> batches = iter_particle_images(path, batch_size=2)
    >>> [(X.shape[0], y.tolist()) for X, y in batches]
    [(2, [0, 1]), (2, [2, 3]), (1, [0])]
    """
    file, f = _open(path)
    with f:
        image, pdg = _challenge_datasets(f, file)
        a, b = _slice_range(int(start), None if stop is None else int(stop), len(pdg))
        codes = _resolve_classes(pdg, file, classes, a, b)
        shape = (1, *image.shape[1:])
    return ParticleImageBatches(
        file, int(batch_size), (a, b), codes, shape, return_info
    )


def _as_images(images, name: str) -> np.ndarray:
    X = np.asarray(images)
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name}: images must be numeric, got dtype {X.dtype}")
    if X.ndim == 4:
        if X.shape[1] != 1:
            raise ValueError(
                f"{name}: images must have one channel, got shape {X.shape}"
            )
        X = X[:, 0]
    if X.ndim != 3:
        raise ValueError(
            f"{name}: images must have shape (n_images, height, width) or "
            f"(n_images, 1, height, width), got {X.shape}"
        )
    return X


def _finite_images(X: np.ndarray, name: str) -> None:
    if X.dtype.kind == "f":
        bad = ~np.isfinite(X).reshape(len(X), -1).all(axis=1)
        if bad.any():
            raise ValueError(
                f"{name}: images contain NaN or inf (image {int(np.flatnonzero(bad)[0])})"
            )


def _replace_atomically(path, write) -> Path:
    path = Path(os.fspath(path))
    tmp = path.with_name(path.name + ".tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


@validate_params(
    {
        "path": [str, os.PathLike],
        "images": ["array-like"],
        "pdg": ["array-like"],
        "compression": [Interval(Integral, 0, 9, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def write_particle_images(
    path: str | os.PathLike, images, pdg, *, compression: int = 4
) -> Path:
    """Write particle images in the challenge HDF5 layout.

    Writes the datasets ``image`` (float32, ``(N, height, width)``), ``pdg``
    (int32, ``(N,)``) and ``index`` (int32, ``0 ... N-1``) that
    :func:`load_particle_images` and the challenge's own h5py readers read.
    ``image`` is stored in chunks of one image, gzip-compressed with byte
    shuffling: mostly empty images shrink many times, and any row range reads
    only its own chunks. The ``mean``/``std`` datasets of the original files
    are not written: what they are the mean and spread of is not documented.

    Parameters
    ----------
    path : str or path-like
        Output file; it is replaced if it exists (written to a temporary file
        first).
    images : array-like of shape (N, height, width) or (N, 1, height, width)
        The images; stored as float32.
    pdg : array-like of shape (N,)
        Integer PDG code of each image (11 electron, 13 muon, 22 photon,
        211 pion, 2212 proton); stored as int32.
    compression : int, default=4
        gzip level, 0 (none) to 9. On images with 3 % of their pixels
        charged, any level makes the file about ten times smaller than 0, and
        reading it back about three times slower (decompression: some 650
        instead of 2,400 images of 192 x 192 per second on one shared CPU
        core); choose 0 when reading speed matters more than disk space.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        On images that are not 3-D (or 4-D with one channel), not numeric or
        not finite, or PDG codes that are not integers or not one per image.

    See Also
    --------
    load_particle_images : Read the file back.
    """
    h5py = _h5py()
    name = "write_particle_images"
    X = _as_images(images, name)
    _finite_images(X, name)
    codes = np.asarray(pdg)
    if codes.shape != (len(X),):
        raise ValueError(
            f"{name}: pdg must have shape ({len(X)},), one code per image, got "
            f"{codes.shape}"
        )
    if codes.dtype.kind not in "iu":
        raise ValueError(f"{name}: pdg must hold integers, got dtype {codes.dtype}")
    level = int(compression)
    height, width = X.shape[1:]

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            chunked = {"chunks": (1, height, width)} if len(X) else {}
            if level and len(X):
                chunked.update(compression="gzip", compression_opts=level, shuffle=True)
            f.create_dataset(IMAGE_KEY, data=X, dtype=np.float32, **chunked)
            f.create_dataset(PDG_KEY, data=codes.astype(np.int32))
            f.create_dataset(INDEX_KEY, data=np.arange(len(X), dtype=np.int32))

    return _replace_atomically(path, write)


# -- larcv3 sparse2d ---------------------------------------------------------------
def _sparse2d_group(f, file: Path, producer: str | None):
    """Return the ``/Data/sparse2d_<producer>_group`` of an open file, checked."""
    h5py = _h5py()
    data = _get(f, "Data", h5py.Group)
    if data is None:
        raise ValueError(
            f"{file} has no group '/Data', so it is not a larcv3 file; members "
            f"present: {_members(f)}"
        )
    if producer is None:
        groups = sorted(
            n for n in data if n.startswith("sparse2d_") and n.endswith("_group")
        )
        if len(groups) != 1:
            raise ValueError(
                f"{file}: '/Data' holds {len(groups)} sparse2d groups "
                f"({', '.join(groups) or 'none'}); give producer= to choose one. "
                f"Groups present: {_members(data)}"
            )
        name = groups[0]
    else:
        name = f"sparse2d_{producer}_group"
    group = _get(data, name, h5py.Group)
    if group is None:
        raise ValueError(
            f"{file} has no group '/Data/{name}'; groups in '/Data': {_members(data)}"
        )
    for key, fields in SPARSE2D_FIELDS.items():
        ds = _get(group, key, h5py.Dataset)
        if ds is None:
            raise ValueError(
                f"{file}: group '/Data/{name}' has no dataset {key!r}; a larcv3 "
                f"sparse2d group holds 'extents', 'voxel_extents', 'image_meta' "
                f"and 'voxels'; present: {_members(group)}"
            )
        have = ds.dtype.names or ()
        missing = [x for x in fields if x not in have]
        if missing:
            raise ValueError(
                f"{file}: dataset '/Data/{name}/{key}' has no field(s) "
                f"{', '.join(map(repr, missing))}; fields present: "
                f"{', '.join(map(repr, have)) or 'none (not a compound dataset)'}"
            )
    return name, group


def _select(name: str, file: Path, entry: int, ids: np.ndarray, projections):
    """Positions, among one entry's projection rows, of the projections asked for."""
    if projections is None:
        return np.arange(len(ids))
    where = []
    for p in projections:
        hit = np.flatnonzero(ids == p)
        if hit.size == 0:
            raise ValueError(
                f"{file}: entry {entry} of '/Data/{name}' has no projection {p}; "
                f"its projections: {ids.tolist()}"
            )
        where.append(int(hit[0]))
    return np.asarray(where, dtype=np.int64)


@validate_params(
    {
        "path": [str, os.PathLike],
        "producer": [str, None],
        "projections": ["array-like", Integral, None],
        "start": [Integral],
        "stop": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def load_larcv_sparse2d(
    path: str | os.PathLike,
    producer: str | None = None,
    *,
    projections: int | Sequence[int] | None = None,
    start: int = 0,
    stop: int | None = None,
) -> np.ndarray:
    """Load larcv3 sparse2d images as dense arrays, with h5py alone.

    Reads entries ``start:stop`` of the product ``sparse2d_<producer>``
    of a larcv3 HDF5 file and scatters each projection's voxels into a
    dense image. Only the index rows and voxels of those entries are read.

    What is established (from larcv3's own source, commit ed62f8b:
    ``IOManager``, ``EventSparseTensor``, ``ImageMeta``, ``DataFormatTypes``,
    ``Voxel``) and relied on here:

    - the product is the group ``/Data/sparse2d_<producer>_group`` holding
      the datasets ``extents``, ``voxel_extents``, ``image_meta`` and
      ``voxels``;
    - row ``i`` of ``extents`` (fields ``first``, ``N``) is entry ``i`` and
      points at its rows of ``voxel_extents`` (fields ``first``, ``N``, ``ID``:
      one row per projection, ``ID`` its projection id), and ``image_meta``
      has one row per ``voxel_extents`` row (field ``number_of_voxels``, one
      count per axis);
    - each ``voxel_extents`` row points at its rows of ``voxels`` (fields
      ``id``, a flat index, and ``value``, float32);
    - the flat index is row-major over ``number_of_voxels`` (the last axis
      varies fastest), so axis ``k`` of the dense image is axis ``k`` of the
      meta (axis 0 is larcv3's first coordinate, its "x").

    Not established, so not done: the distance unit (not stored in the
    file; ``image_sizes`` and ``origin`` are not used here), the producer
    names of any public data set (PILArNet's release was not confirmed to be
    larcv3 HDF5), and which ``particle`` product row gives an image's label;
    labels are therefore not read. Fields are found by name, so files
    written with other integer widths (older larcv3 versions store ``first``
    as 32-bit) read the same.

    Parameters
    ----------
    path : str or path-like
        The larcv3 HDF5 file.
    producer : str, default=None
        The producer name (``"data"`` for ``sparse2d_data_group``). ``None``
        takes the only sparse2d group of the file, and is an error if there
        are several.
    projections : int or sequence of int, default=None
        Projection ids to return, as channels in this order. ``None`` returns
        every projection of each entry in stored order (all entries must then
        have the same number).
    start, stop : int, default=0, None
        Read only entries ``start:stop`` (Python slice semantics).

    Returns
    -------
    images : ndarray of shape (n_entries, n_projections, n0, n1), dtype float32
        Dense images, zero where no voxel is stored; ``(n0, n1)`` is the
        ``number_of_voxels`` of the meta, which must be the same for every
        projection and entry returned.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not HDF5, lacks ``/Data``, the group or one of its
        datasets or fields (the message names the missing one), an entry
        lacks a requested projection, metas differ in size, a voxel index is
        beyond its image, or an index row points beyond its dataset.

    See Also
    --------
    write_larcv_sparse2d : Write images in this layout.
    load_particle_images : The dense challenge layout.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from hepclf.datasets import load_larcv_sparse2d, write_larcv_sparse2d
    >>> path = os.path.join(tempfile.mkdtemp(), "larcv.h5")
    >>> images = np.zeros((2, 1, 4, 5), dtype=np.float32)
    >>> images[0, 0, 1, 3] = 2.5
    >>> _ = write_larcv_sparse2d(path, images, producer="data")
    >>> out = load_larcv_sparse2d(path, "data")
    >>> out.shape, float(out[0, 0, 1, 3]), float(out.sum())
    ((2, 1, 4, 5), 2.5, 2.5)
    """
    if isinstance(projections, Integral):
        projections = [int(projections)]
    elif projections is not None:
        projections = [int(p) for p in np.asarray(projections).ravel()]
    file, f = _open(path)
    with f:
        name, group = _sparse2d_group(f, file, producer)
        extents = group["extents"]
        a, b = _slice_range(
            int(start), None if stop is None else int(stop), len(extents)
        )
        if a == b and a < len(extents):  # no entries: take the sizes of the next
            return _dense_entries(group, name, file, a, a + 1, projections)[:0]
        return _dense_entries(group, name, file, a, b, projections)


def _span(first: np.ndarray, n: np.ndarray, size: int, file, where, row_numbers):
    """Return the row range ``lo:hi`` covering index rows ``first``/``n``."""
    if first.size == 0:
        return 0, 0
    end = first + n
    bad = np.flatnonzero(end > size)
    if bad.size:
        k = int(bad[0])
        raise ValueError(
            f"{file}: {where} row {int(row_numbers[k])} points at rows {int(first[k])}-"
            f"{int(end[k]) - 1} but the dataset it points into has {size} rows; "
            "the file is truncated or inconsistent"
        )
    return int(first.min()), int(end.max())


def _dense_entries(group, name, file, a, b, projections):
    where = f"'/Data/{name}/extents'"
    ext = group["extents"][a:b]
    e_first, e_n = ext["first"].astype(np.int64), ext["N"].astype(np.int64)
    lo, hi = _span(
        e_first, e_n, len(group["voxel_extents"]), file, where, np.arange(a, b)
    )
    if len(group["image_meta"]) < hi:
        raise ValueError(
            f"{file}: '/Data/{name}/image_meta' has {len(group['image_meta'])} rows "
            f"but 'voxel_extents' rows up to {hi - 1} are used; the file is "
            "truncated or inconsistent"
        )
    vext = group["voxel_extents"][lo:hi]
    sizes = np.asarray(group["image_meta"][lo:hi]["number_of_voxels"], dtype=np.int64)
    if sizes.ndim != 2 or (sizes.size and sizes.shape[1] != 2):
        raise ValueError(
            f"{file}: '/Data/{name}/image_meta' has number_of_voxels of shape "
            f"{sizes.shape[1:]}; a sparse2d meta has 2 axes"
        )
    ids = vext["ID"].astype(np.int64)
    rows = []  # per entry, the voxel_extents rows (relative to lo) returned
    for i in range(b - a):
        k0 = int(e_first[i]) - lo
        chosen = k0 + _select(name, file, a + i, ids[k0 : k0 + e_n[i]], projections)
        if rows and len(chosen) != len(rows[0]):
            raise ValueError(
                f"{file}: entry {a + i} of '/Data/{name}' has {len(chosen)} "
                f"projections but entry {a} has {len(rows[0])}; choose them with "
                "projections="
            )
        rows.append(chosen)
    n_channels = len(rows[0]) if rows else len(projections or ())
    rows = np.asarray(rows, dtype=np.int64).reshape(b - a, n_channels)
    used = sizes[rows.ravel()] if rows.size else np.zeros((0, 2), np.int64)
    shape = tuple(int(v) for v in used[0]) if len(used) else (0, 0)
    differ = np.flatnonzero((used != used[:1]).any(axis=1)) if len(used) else []
    if len(differ):
        k = int(differ[0])
        raise ValueError(
            f"{file}: projection {int(ids[rows.ravel()[k]])} of entry "
            f"{a + k // n_channels} of '/Data/{name}' is {used[k][0]} x "
            f"{used[k][1]} voxels, but the first image read is {shape[0]} x "
            f"{shape[1]}; read projections of different sizes separately "
            "(projections=)"
        )
    out = np.zeros((b - a, n_channels, *shape), dtype=np.float32)
    if not rows.size:
        return out
    v_first = vext["first"].astype(np.int64)[rows.ravel()]
    v_n = vext["N"].astype(np.int64)[rows.ravel()]
    where = f"'/Data/{name}/voxel_extents'"
    v_lo, v_hi = _span(
        v_first, v_n, len(group["voxels"]), file, where, lo + rows.ravel()
    )
    voxels = group["voxels"][v_lo:v_hi]
    vid = voxels["id"].astype(np.int64)
    value = voxels["value"].astype(np.float32)
    n_pixels = shape[0] * shape[1]
    flat = out.reshape(-1, n_pixels)
    for k, (first, n) in enumerate(zip(v_first - v_lo, v_n, strict=True)):
        idx = vid[first : first + n]
        if idx.size and (idx.min() < 0 or idx.max() >= n_pixels):
            raise ValueError(
                f"{file}: a voxel of entry {a + k // n_channels} of '/Data/{name}' "
                f"has index {int(idx.max())}, beyond its {shape[0]} x {shape[1]} "
                "image"
            )
        flat[k, idx] = value[first : first + n]
    return out


def _chunked(group, key, data, level):
    opts = {"compression": "gzip", "compression_opts": level} if level else {}
    group.create_dataset(
        key, data=data, maxshape=(None,), chunks=(max(1, min(len(data), 1024)),), **opts
    )


@validate_params(
    {
        "path": [str, os.PathLike],
        "images": ["array-like"],
        "producer": [str],
        "image_sizes": ["array-like", None],
        "origin": ["array-like", None],
        "compression": [Interval(Integral, 0, 9, closed="both")],
    },
    prefer_skip_nested_validation=True,
)
def write_larcv_sparse2d(
    path: str | os.PathLike,
    images,
    *,
    producer: str = "data",
    image_sizes=None,
    origin=None,
    compression: int = 1,
) -> Path:
    """Write images as a larcv3 sparse2d product, with h5py alone.

    Writes the structure :func:`load_larcv_sparse2d` reads:
    ``/Events/event_id`` (run 0, subrun 0, event ``i``) and
    ``/Data/sparse2d_<producer>_group`` with ``extents``, ``voxel_extents``,
    ``image_meta`` and ``voxels``, one entry per image and one projection
    (id ``c``) per channel; the non-zero pixels become voxels, in flat-index
    order. Datasets, field names and field types follow larcv3's source at
    commit ed62f8b (``first`` uint64, ``N`` and ``ID`` uint32, voxel ``id``
    uint64 and ``value`` float32, ``event_id`` int64, ``projection_id`` and
    ``number_of_voxels`` uint64, ``image_sizes`` and ``origin`` float64;
    ``valid`` is written as uint8, the size of HDF5's native ``hbool_t``),
    chunked, resizable and deflate-compressed as larcv3 writes them. The
    files have not been read by larcv3 itself; they are for tests and for
    exchanging images with h5py-based readers.

    Parameters
    ----------
    path : str or path-like
        Output file; it is replaced if it exists.
    images : array-like of shape (n_entries, n_projections, n0, n1) or (n_entries, n0, n1)
        Dense images; axis ``k`` of an image is axis ``k`` of its meta.
    producer : str, default="data"
        The producer name in the group name.
    image_sizes : array-like of shape (2,), default=None
        Physical size of an image along each axis (larcv3 stores no unit);
        ``None`` writes the voxel counts (one unit per voxel).
    origin : array-like of shape (2,), default=None
        Position of the images' lower corner; ``None`` writes zeros.
    compression : int, default=1
        Deflate level, 0 (none) to 9.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        On images that are not 3-D or 4-D, not numeric or not finite, or
        ``image_sizes``/``origin`` that are not two finite numbers.

    See Also
    --------
    load_larcv_sparse2d : Read the file back.
    """
    h5py = _h5py()
    name = "write_larcv_sparse2d"
    X = np.asarray(images)
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name}: images must be numeric, got dtype {X.dtype}")
    if X.ndim == 3:
        X = X[:, None]
    if X.ndim != 4:
        raise ValueError(
            f"{name}: images must have shape (n_entries, n_projections, n0, n1) "
            f"or (n_entries, n0, n1), got {X.shape}"
        )
    X = X.astype(np.float32, copy=False)
    _finite_images(X, name)
    n_entries, n_proj, n0, n1 = X.shape
    pair = {}
    for key, value, default in (
        ("image_sizes", image_sizes, (float(n0), float(n1))),
        ("origin", origin, (0.0, 0.0)),
    ):
        v = np.asarray(default if value is None else value, dtype=np.float64)
        if v.shape != (2,) or not np.isfinite(v).all():
            raise ValueError(f"{name}: {key} must be two finite numbers, got {value!r}")
        pair[key] = v

    flat = X.reshape(n_entries * n_proj, n0 * n1)
    rows, cols = np.nonzero(flat)
    counts = np.bincount(rows, minlength=n_entries * n_proj)
    voxels = np.zeros(len(rows), dtype=_VOXEL)
    voxels["id"], voxels["value"] = cols, flat[rows, cols]
    vext = np.zeros(n_entries * n_proj, dtype=_ID_EXTENTS)
    vext["first"] = np.concatenate([[0], np.cumsum(counts)[:-1]]) if counts.size else 0
    vext["N"] = counts
    vext["ID"] = np.tile(np.arange(n_proj), n_entries)
    extents = np.zeros(n_entries, dtype=_EXTENTS)
    extents["first"] = np.arange(n_entries) * n_proj
    extents["N"] = n_proj
    meta = np.zeros(n_entries * n_proj, dtype=_META_2D)
    meta["valid"] = 1
    meta["projection_id"] = vext["ID"]
    meta["image_sizes"] = pair["image_sizes"]
    meta["number_of_voxels"] = (n0, n1)
    meta["origin"] = pair["origin"]
    event_id = np.zeros(n_entries, dtype=_EVENT_ID)
    event_id["event"] = np.arange(n_entries)
    level = int(compression)

    def write(tmp):
        with h5py.File(tmp, "w") as f:
            _chunked(f.create_group("Events"), "event_id", event_id, level)
            group = f.create_group("Data").create_group(f"sparse2d_{producer}_group")
            _chunked(group, "extents", extents, level)
            _chunked(group, "voxel_extents", vext, level)
            _chunked(group, "image_meta", meta, level)
            _chunked(group, "voxels", voxels, level)

    return _replace_atomically(path, write)
