"""Read and write the Top Quark Tagging Reference Dataset layout.

The public data set of Kasieczka, Plehn, Thompson and Russell (the one used by
the INFIERI 2019 top-tagging challenge) is a pandas HDF5 file with a single
key ``"table"``. Each row is a jet: the four-momenta ``E_i, PX_i, PY_i, PZ_i``
(GeV) of its leading 200 constituents sorted by decreasing pT and zero padded,
the truth top four-momentum ``truthE, truthPX, truthPY, truthPZ`` (zero for
QCD jets), the split flag ``ttv`` (0 = train, 1 = validation, 2 = test) and the
label ``is_signal_new`` (1 = top, 0 = QCD).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from contextlib import ExitStack
from importlib import resources
from numbers import Integral
from pathlib import Path

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..utils._validation import check_padded

__all__ = ["load_top_tagging", "write_top_tagging"]

#: Name of the bundled sample inside ``hepclf/datasets/data``.
SAMPLE_FILE = "top_tagging_sample.h5"

#: HDF5 key of the table in the public files.
KEY = "table"

#: Per-constituent column prefixes, in the order of the last axis of ``X``.
CONSTITUENT_PREFIXES = ("E", "PX", "PY", "PZ")

#: Truth top four-momentum columns.
TRUTH_COLUMNS = ("truthE", "truthPX", "truthPY", "truthPZ")

#: Column with the split flag and its meaning.
SPLIT_COLUMN = "ttv"
SPLITS = {"train": 0, "val": 1, "test": 2}

#: Column with the label (1 = top, 0 = QCD).
LABEL_COLUMN = "is_signal_new"

#: Number of constituents stored in the public files.
N_CONSTITUENTS_PUBLIC = 200


def _constituent_columns(n: int) -> list[str]:
    """Column names of ``n`` constituents, interleaved as in the public files."""
    return [f"{p}_{i}" for i in range(n) for p in CONSTITUENT_PREFIXES]


def _summarise(names: Sequence[str], limit: int = 12) -> str:
    names = list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names)} in total)"


def _n_stored(columns) -> int:
    """Count the constituents stored.

    One more than the highest index of any ``E_i``/``PX_i``/``PY_i``/``PZ_i``
    column (gaps are reported as missing).
    """
    pattern = re.compile(rf"^({'|'.join(CONSTITUENT_PREFIXES)})_(\d+)$")
    indices = [int(m.group(2)) for c in columns if (m := pattern.match(str(c)))]
    return max(indices) + 1 if indices else 0


def _read_table(path: Path, start: int | None, stop: int | None):
    """Read the ``table`` key, turning HDF5 failures into clear errors."""
    import pandas as pd
    import tables

    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not an HDF5 file")
    try:
        is_hdf5 = tables.is_hdf5_file(str(path))
    except (OSError, tables.exceptions.HDF5ExtError) as exc:
        raise ValueError(
            f"{path} could not be opened as an HDF5 file; it may be truncated or "
            f"corrupt ({exc})"
        ) from exc
    if not is_hdf5:
        raise ValueError(f"{path} is not an HDF5 file (no HDF5 signature found)")
    try:
        store = pd.HDFStore(path, mode="r")
    except Exception as exc:  # tables raises several unrelated classes here
        raise ValueError(
            f"{path} could not be opened as an HDF5 file; it may be truncated or "
            f"corrupt ({type(exc).__name__}: {exc})"
        ) from exc
    with store:
        try:
            keys = store.keys()
        except Exception as exc:
            raise ValueError(
                f"{path}: could not list the HDF5 keys; the file may be truncated "
                f"or corrupt ({type(exc).__name__}: {exc})"
            ) from exc
        if f"/{KEY}" not in keys:
            raise ValueError(
                f"{path} has no key {KEY!r}, so it is not in the top-tagging "
                f"layout; keys present: {keys or 'none'}"
            )
        try:
            return store.select(KEY, start=start, stop=stop)
        except Exception as exc:
            raise ValueError(
                f"{path}: could not read key {KEY!r}; the file may be truncated or "
                f"corrupt, or not written by pandas ({type(exc).__name__}: {exc})"
            ) from exc


def _numeric(df, columns: list[str], path: Path, dtype) -> np.ndarray:
    """Columns of ``df`` as one numeric array, with an error naming bad columns."""
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    bad = [c for c in columns if not (is_numeric_dtype(df[c]) or is_bool_dtype(df[c]))]
    if bad:
        raise ValueError(
            f"{path}: column(s) {_summarise(bad)} are not numeric "
            f"(dtype {df[bad[0]].dtype})"
        )
    return df[columns].to_numpy(dtype=dtype)


def _sample_path():
    """Context manager yielding a real file path of the bundled sample."""
    ref = resources.files("hepclf.datasets").joinpath("data", SAMPLE_FILE)
    return resources.as_file(ref)


@validate_params(
    {
        "path": [str, os.PathLike, None],
        "split": [StrOptions(set(SPLITS)), None],
        "n_constituents": [Interval(Integral, 1, None, closed="left")],
        "start": [Integral, None],
        "stop": [Integral, None],
    },
    prefer_skip_nested_validation=True,
)
def load_top_tagging(
    path: str | os.PathLike | None = None,
    *,
    split: str | None = None,
    n_constituents: int = 200,
    start: int | None = None,
    stop: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load jets in the Top Quark Tagging Reference Dataset layout.

    Reads the pandas HDF5 files of the public top-tagging data set
    (Kasieczka et al.; ``train.h5``, ``val.h5``, ``test.h5``) or files written
    by :func:`write_top_tagging` and :func:`make_top_tagging`. Columns are
    found by name, so their order in the file does not matter.

    Parameters
    ----------
    path : str or path-like, default=None
        The HDF5 file. ``None`` loads the sample bundled with hepclf
        (``hepclf/datasets/data/top_tagging_sample.h5``: 2,500 top and 2,500
        QCD jets made with :func:`make_top_tagging` at detector level, see its
        ``README.md``).
    split : {"train", "val", "test"}, default=None
        Keep only the rows whose ``ttv`` column is 0, 1 or 2 respectively.
        ``None`` keeps all rows.
    n_constituents : int, default=200
        Number of leading constituents to return. Fewer than stored truncates
        (constituents are stored by decreasing pT); more than stored pads the
        extra rows with zeros.
    start, stop : int, default=None
        Read only rows ``start:stop`` of the file (Python slice semantics),
        without loading the rest, e.g. to take part of the 1.2M-jet public
        training file. ``split`` is applied after the row range.

    Returns
    -------
    X : ndarray of shape (n_jets, n_constituents, 4), dtype float32
        Constituent four-momenta ``(E, px, py, pz)`` in GeV, by decreasing pT;
        rows of zeros are padding.
    y : ndarray of shape (n_jets,), dtype int64
        1 for top jets, 0 for QCD jets.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not HDF5, is truncated or corrupt, has no ``table`` key,
        lacks columns, holds non-numeric, NaN or infinite values, or labels
        other than 0/1; scikit-learn's ``InvalidParameterError`` (a
        ``ValueError`` and ``TypeError``) names a bad ``split``,
        ``n_constituents``, ``start`` or ``stop``.

    See Also
    --------
    write_top_tagging : Write arrays in this layout.
    make_top_tagging : Generate top and QCD jets with Pythia 8 and FastJet.

    Notes
    -----
    The file is read with :func:`pandas.read_hdf` semantics (PyTables), so
    both the ``fixed`` and the ``table`` pandas formats work. The real files
    store the columns interleaved (``E_0, PX_0, PY_0, PZ_0, E_1, ...``).

    Examples
    --------
    >>> from hepclf.datasets import load_top_tagging
    >>> X, y = load_top_tagging(split="train", n_constituents=50)
    >>> X.shape[1:], X.dtype, sorted(set(y.tolist()))
    ((50, 4), dtype('float32'), [0, 1])
    """
    n_constituents = int(n_constituents)
    start = None if start is None else int(start)
    stop = None if stop is None else int(stop)

    with ExitStack() as stack:
        if path is None:
            file = Path(stack.enter_context(_sample_path()))
        else:
            file = Path(os.fspath(path))
        df = _read_table(file, start, stop)
    return _to_arrays(df, file, split=split, n_constituents=n_constituents)


def _to_arrays(df, path: Path, *, split: str | None, n_constituents: int):
    columns = list(df.columns)
    n_stored = _n_stored(columns)
    n_read = min(n_constituents, n_stored)
    required = [*_constituent_columns(max(n_read, 1)), LABEL_COLUMN]
    if split is not None:
        required.append(SPLIT_COLUMN)
    present = set(columns)
    missing = [c for c in required if c not in present]
    if missing:
        raise ValueError(
            f"{path}: the table lacks column(s) {_summarise(missing)}; the "
            "top-tagging layout needs E_i, PX_i, PY_i, PZ_i for each constituent "
            f"and {LABEL_COLUMN!r}" + (f" and {SPLIT_COLUMN!r}" if split else "")
        )

    y_raw = _numeric(df, [LABEL_COLUMN], path, np.float64)[:, 0]
    bad = ~np.isin(y_raw, (0.0, 1.0))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{path}: column {LABEL_COLUMN!r} must hold 0 (QCD) or 1 (top); found "
            f"{y_raw[row]:g} in row {row} ({int(bad.sum())} bad rows)"
        )
    keep = slice(None)
    if split is not None:
        ttv = _numeric(df, [SPLIT_COLUMN], path, np.float64)[:, 0]
        bad = ~np.isin(ttv, (0.0, 1.0, 2.0))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{path}: column {SPLIT_COLUMN!r} must hold 0 (train), 1 (val) or "
                f"2 (test); found {ttv[row]:g} in row {row} ({int(bad.sum())} bad rows)"
            )
        keep = np.flatnonzero(ttv == SPLITS[split])
        df = df.iloc[keep]
        y_raw = y_raw[keep]

    n_jets = len(df)
    X = np.zeros((n_jets, n_constituents, 4), dtype=np.float32)
    if n_read:
        cols = _constituent_columns(n_read)
        values = _numeric(df, cols, path, np.float32)
        X[:, :n_read] = values.reshape(n_jets, n_read, 4)
    finite = np.isfinite(X)
    if not finite.all():
        jet, constituent, feature = np.argwhere(~finite)[0]
        column = f"{CONSTITUENT_PREFIXES[feature]}_{constituent}"
        kind = "NaN" if np.isnan(X[~finite]).any() else "infinite"
        raise ValueError(
            f"{path}: {kind} values in the constituent columns "
            f"({int((~finite).sum())} entries; first in column {column!r} of "
            f"jet {int(jet)} of the selection)"
        )
    return X, y_raw.astype(np.int64)


def write_top_tagging(
    path: str | os.PathLike,
    X,
    y,
    *,
    ttv=None,
    truth=None,
) -> Path:
    """Write jets in the Top Quark Tagging Reference Dataset layout.

    The result is a pandas HDF5 file (key ``"table"``, ``fixed`` format, zlib
    level 9 compression with byte shuffling) that :func:`load_top_tagging`,
    :func:`pandas.read_hdf` and any reader of the public files can read with
    only PyTables installed.

    Parameters
    ----------
    path : str or path-like
        Output file; it is replaced if it exists.
    X : array-like of shape (n_jets, n_constituents, 4)
        Constituent four-momenta ``(E, px, py, pz)`` in GeV, zero padded.
        Stored as float32 columns ``E_i, PX_i, PY_i, PZ_i`` for
        ``i < n_constituents``, interleaved per constituent as in the public
        files. Ragged input (a list of per-jet arrays) is padded.
    y : array-like of shape (n_jets,)
        Labels, 1 for top and 0 for QCD; stored as int64 ``is_signal_new``.
    ttv : array-like of shape (n_jets,), default=None
        Split flag, 0 (train), 1 (validation) or 2 (test); stored as int64.
        ``None`` marks every jet as training (0).
    truth : array-like of shape (n_jets, 4), default=None
        Truth top four-momentum ``(E, px, py, pz)`` in GeV (zeros for QCD),
        stored as float32 ``truthE, truthPX, truthPY, truthPZ``. ``None``
        writes zeros.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        On wrong shapes, NaN or infinite values, labels other than 0/1 or
        split flags other than 0/1/2.

    See Also
    --------
    load_top_tagging : Read the file back.
    """
    import pandas as pd

    X = check_padded(X, n_features=4, name="write_top_tagging: X", dtype=np.float32)
    n_jets, n_constituents, _ = X.shape
    y = _column(y, n_jets, "y", allowed=(0, 1))
    ttv = (
        np.zeros(n_jets, dtype=np.int64)
        if ttv is None
        else _column(ttv, n_jets, "ttv", allowed=(0, 1, 2))
    )
    if truth is None:
        truth = np.zeros((n_jets, 4), dtype=np.float32)
    else:
        truth = np.asarray(truth, dtype=np.float32)
        if truth.shape != (n_jets, 4):
            raise ValueError(
                f"write_top_tagging: truth must have shape ({n_jets}, 4), "
                f"got {truth.shape}"
            )
        if not np.isfinite(truth).all():
            raise ValueError("write_top_tagging: truth contains NaN or inf values")

    constituents = pd.DataFrame(
        X.reshape(n_jets, n_constituents * 4),
        columns=_constituent_columns(n_constituents),
    )
    rest = pd.DataFrame(
        {
            **{name: truth[:, k] for k, name in enumerate(TRUTH_COLUMNS)},
            SPLIT_COLUMN: ttv,
            LABEL_COLUMN: y,
        }
    )
    df = pd.concat([constituents, rest], axis=1)
    path = Path(os.fspath(path))
    tmp = path.with_name(path.name + ".tmp")
    try:
        df.to_hdf(tmp, key=KEY, mode="w", format="fixed", complevel=9, complib="zlib")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _column(values, n: int, name: str, *, allowed: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(values)
    if a.shape != (n,):
        raise ValueError(
            f"write_top_tagging: {name} must have shape ({n},) to match X, "
            f"got {a.shape}"
        )
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise ValueError(f"write_top_tagging: {name} must be numeric, got {a.dtype}")
    bad = ~np.isin(a, allowed)
    if bad.any():
        raise ValueError(
            f"write_top_tagging: {name} must hold values in {list(allowed)}; "
            f"found {a[bad][0].item()!r} ({int(bad.sum())} entries)"
        )
    return a.astype(np.int64)
