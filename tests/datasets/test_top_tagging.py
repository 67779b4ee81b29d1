from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf.datasets import load_top_tagging, write_top_tagging
from hepclf.datasets._top_tagging import SAMPLE_FILE


def _jets(n_jets=30, n_constituents=12, seed=0):
    """Random padded jets: (E, px, py, pz) with E > |p|, sorted rows, zero padding."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n_jets, n_constituents, 4), dtype=np.float32)
    for i in range(n_jets):
        k = rng.integers(1, n_constituents + 1)
        p = rng.normal(scale=20.0, size=(k, 3))
        e = np.linalg.norm(p, axis=1) + rng.uniform(0.0, 1.0, size=k)
        X[i, :k] = np.column_stack([e, p])
    y = rng.integers(0, 2, size=n_jets)
    ttv = rng.integers(0, 3, size=n_jets)
    truth = rng.normal(size=(n_jets, 4)).astype(np.float32) * y[:, None]
    return X, y, ttv, truth


def _frame(X, y, ttv):
    _n, k, _ = X.shape
    cols = {}
    for i in range(k):
        for j, p in enumerate(("E", "PX", "PY", "PZ")):
            cols[f"{p}_{i}"] = X[:, i, j]
    cols["ttv"] = ttv
    cols["is_signal_new"] = y
    return pd.DataFrame(cols)


@pytest.fixture
def written(tmp_path):
    X, y, ttv, truth = _jets()
    path = write_top_tagging(tmp_path / "jets.h5", X, y, ttv=ttv, truth=truth)
    return path, X, y, ttv, truth


# --------------------------------------------------------------------------
# Round trip and layout
# --------------------------------------------------------------------------


def test_round_trip(written):
    path, X, y, _, _ = written
    X2, y2 = load_top_tagging(path, n_constituents=X.shape[1])
    assert X2.dtype == np.float32
    assert y2.dtype == np.int64
    assert_array_equal(X2, X)
    assert_array_equal(y2, y)


def test_written_layout_matches_public_files(written):
    path, X, y, ttv, truth = written
    df = pd.read_hdf(path, "table")
    n = X.shape[1]
    expected = [f"{p}_{i}" for i in range(n) for p in ("E", "PX", "PY", "PZ")]
    assert list(df.columns) == [
        *expected,
        "truthE",
        "truthPX",
        "truthPY",
        "truthPZ",
        "ttv",
        "is_signal_new",
    ]
    assert all(df[c].dtype == np.float32 for c in expected)
    assert_array_equal(df["ttv"], ttv)
    assert_array_equal(df["is_signal_new"], y)
    assert_allclose(df[["truthE", "truthPX", "truthPY", "truthPZ"]], truth)
    assert_array_equal(df["PX_0"], X[:, 0, 1])


def test_write_defaults_and_ragged_input(tmp_path):
    jets = [np.ones((3, 4)), np.ones((1, 4)) * 2]
    path = write_top_tagging(tmp_path / "r.h5", jets, [1, 0])
    df = pd.read_hdf(path, "table")
    assert_array_equal(df["ttv"], [0, 0])
    assert (df[["truthE", "truthPX", "truthPY", "truthPZ"]].to_numpy() == 0).all()
    X, _y = load_top_tagging(path, n_constituents=3)
    assert_array_equal(X[1], [[2, 2, 2, 2], [0, 0, 0, 0], [0, 0, 0, 0]])


def test_write_replaces_existing_file(written):
    path, X, y, _, _ = written
    write_top_tagging(path, X[:5], y[:5])
    assert len(load_top_tagging(path)[1]) == 5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.full(30, 2)}, "y must hold values in"),
        ({"y": np.zeros(29)}, r"y must have shape \(30,\)"),
        ({"ttv": np.full(30, 3)}, "ttv must hold values in"),
        ({"truth": np.zeros((30, 3))}, r"truth must have shape \(30, 4\)"),
        ({"truth": np.full((30, 4), np.nan)}, "truth contains NaN"),
        ({"X": np.zeros((30, 5, 3))}, "expected 4 features"),
        ({"X": np.full((30, 5, 4), np.inf)}, "inf"),
    ],
)
def test_write_rejects_bad_input(tmp_path, kwargs, match):
    X, y, _, _ = _jets()
    args = {"X": X, "y": y, **kwargs}
    with pytest.raises(ValueError, match=match):
        write_top_tagging(tmp_path / "bad.h5", args.pop("X"), args.pop("y"), **args)
    assert not (tmp_path / "bad.h5").exists()


# --------------------------------------------------------------------------
# Selection: split, rows, constituents, column order
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("split", "flag"), [("train", 0), ("val", 1), ("test", 2)])
def test_split_selects_ttv(written, split, flag):
    path, X, y, ttv, _ = written
    Xs, ys = load_top_tagging(path, split=split, n_constituents=X.shape[1])
    assert_array_equal(Xs, X[ttv == flag])
    assert_array_equal(ys, y[ttv == flag])


def test_split_none_returns_all_rows(written):
    path, X, *_ = written
    assert len(load_top_tagging(path)[0]) == len(X)


@pytest.mark.parametrize(("start", "stop"), [(0, 10), (7, 19), (25, None), (None, 4)])
def test_start_stop_reads_row_range(written, start, stop):
    path, X, y, ttv, _ = written
    Xs, ys = load_top_tagging(path, start=start, stop=stop, n_constituents=X.shape[1])
    assert_array_equal(Xs, X[start:stop])
    assert_array_equal(ys, y[start:stop])
    Xv, _ = load_top_tagging(
        path, start=start, stop=stop, split="val", n_constituents=12
    )
    assert_array_equal(Xv, X[start:stop][ttv[start:stop] == 1])


def test_n_constituents_truncates_and_pads(written):
    path, X, *_ = written
    X5, _ = load_top_tagging(path, n_constituents=5)
    assert_array_equal(X5, X[:, :5])
    X20, _ = load_top_tagging(path, n_constituents=20)
    assert X20.shape == (len(X), 20, 4)
    assert_array_equal(X20[:, :12], X)
    assert (X20[:, 12:] == 0).all()


@pytest.mark.parametrize("fmt", ["fixed", "table"])
def test_column_order_does_not_matter(tmp_path, fmt):
    X, y, ttv, _ = _jets(n_constituents=4)
    df = _frame(X, y, ttv)
    df = df[list(np.random.default_rng(1).permutation(df.columns))]
    path = tmp_path / "shuffled.h5"
    df.to_hdf(path, key="table", format=fmt)
    X2, y2 = load_top_tagging(path, n_constituents=4)
    assert_array_equal(X2, X)
    assert_array_equal(y2, y)


def test_float_labels_are_accepted(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=2)
    df = _frame(X, y.astype(np.float64), ttv.astype(np.float32))
    df.to_hdf(tmp_path / "f.h5", key="table")
    _X2, y2 = load_top_tagging(tmp_path / "f.h5", split="test", n_constituents=2)
    assert y2.dtype == np.int64
    assert_array_equal(y2, y[ttv == 2])


# --------------------------------------------------------------------------
# Errors name the file and the problem
# --------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match=r"nope\.h5: no such file"):
        load_top_tagging(path)


def test_garbage_file(tmp_path):
    path = tmp_path / "garbage.h5"
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ValueError, match=r"garbage\.h5 is not an HDF5 file"):
        load_top_tagging(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.h5"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.h5"):
        load_top_tagging(path)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_truncated_file(written, tmp_path, keep):
    path = written[0]
    data = path.read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError, match=r"cut\.h5.*(truncated or corrupt)"):
        load_top_tagging(cut)


def test_every_truncation_is_named(written, tmp_path):
    """Cut the file at 60 points from the first byte to the last: always a
    ValueError naming the file, never an unrelated exception or a partial read."""
    data = written[0].read_bytes()
    for k, n in enumerate(np.linspace(0, len(data) - 1, 60).astype(int)):
        cut = tmp_path / f"cut{k}.h5"
        cut.write_bytes(data[:n])
        with pytest.raises(ValueError, match=rf"cut{k}\.h5"):
            load_top_tagging(cut)


def test_corrupt_payload(written, tmp_path):
    """Overwrite the compressed data in the middle of the file with garbage."""
    path = written[0]
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 2000] = np.random.default_rng(0).bytes(2000)
    bad = tmp_path / "corrupt.h5"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt\.h5"):
        load_top_tagging(bad)


def test_missing_key(tmp_path):
    path = tmp_path / "other.h5"
    pd.DataFrame({"a": [1.0]}).to_hdf(path, key="jets")
    with pytest.raises(ValueError, match=r"other\.h5 has no key 'table'.*/jets"):
        load_top_tagging(path)


def test_missing_columns_are_listed(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=4)
    df = _frame(X, y, ttv).drop(columns=["PX_1", "PZ_1"])
    path = tmp_path / "cols.h5"
    df.to_hdf(path, key="table")
    # constituent 1 is incomplete: an error, not a silent truncation to constituent 0
    with pytest.raises(ValueError, match=r"cols\.h5.*lacks column\(s\) PX_1, PZ_1"):
        load_top_tagging(path)
    # asking only for the complete leading constituent works
    X2, _ = load_top_tagging(path, n_constituents=1)
    assert_array_equal(X2, X[:, :1])
    # the label column is required
    df.drop(columns=["is_signal_new"]).to_hdf(path, key="table")
    with pytest.raises(ValueError, match=r"cols\.h5.*lacks column\(s\).*is_signal_new"):
        load_top_tagging(path)


def test_no_constituent_columns(tmp_path):
    path = tmp_path / "nocons.h5"
    pd.DataFrame({"is_signal_new": [0, 1]}).to_hdf(path, key="table")
    with pytest.raises(ValueError, match=r"nocons\.h5.*E_0, PX_0, PY_0, PZ_0"):
        load_top_tagging(path)


def test_split_needs_ttv_column(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=2)
    path = tmp_path / "nottv.h5"
    _frame(X, y, ttv).drop(columns=["ttv"]).to_hdf(path, key="table")
    load_top_tagging(path)  # fine without a split
    with pytest.raises(ValueError, match=r"nottv\.h5.*ttv"):
        load_top_tagging(path, split="train")


def test_non_numeric_column(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=2)
    df = _frame(X, y, ttv)
    df["PY_1"] = df["PY_1"].astype(str)
    path = tmp_path / "text.h5"
    df.to_hdf(path, key="table", format="table")
    with pytest.raises(ValueError, match=r"text\.h5.*PY_1 are not numeric"):
        load_top_tagging(path)


def test_nan_values(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=3)
    df = _frame(X, y, ttv)
    df.loc[4, "PZ_2"] = np.nan
    path = tmp_path / "nan.h5"
    df.to_hdf(path, key="table")
    with pytest.raises(ValueError, match=r"nan\.h5: NaN values.*'PZ_2' of jet 4"):
        load_top_tagging(path)
    # rows outside the selection do not matter
    load_top_tagging(path, start=5)


def test_bad_labels(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=2)
    y = y.copy()
    y[3] = 2
    path = tmp_path / "labels.h5"
    _frame(X, y, ttv).to_hdf(path, key="table")
    with pytest.raises(ValueError, match=r"labels\.h5.*found 2 in row 3"):
        load_top_tagging(path)


def test_bad_ttv(tmp_path):
    X, y, ttv, _ = _jets(n_constituents=2)
    ttv = ttv.copy()
    ttv[0] = 7
    path = tmp_path / "ttv.h5"
    _frame(X, y, ttv).to_hdf(path, key="table")
    with pytest.raises(ValueError, match=r"ttv\.h5.*'ttv' must hold 0"):
        load_top_tagging(path, split="val")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"split": "validation"}, ValueError, "'split' parameter"),
        ({"n_constituents": 0}, ValueError, "'n_constituents' parameter"),
        ({"n_constituents": 2.5}, ValueError, "'n_constituents' parameter"),
        ({"start": 1.5}, TypeError, "'start' parameter"),
        ({"stop": "10"}, TypeError, "'stop' parameter"),
    ],
)
def test_bad_arguments(written, kwargs, error, match):
    with pytest.raises(error, match=match):
        load_top_tagging(written[0], **kwargs)


def test_directory_is_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory"):
        load_top_tagging(tmp_path)


# --------------------------------------------------------------------------
# The bundled sample
# --------------------------------------------------------------------------


def _jet_kinematics(X):
    p = X.astype(np.float64).sum(axis=1)
    pt = np.hypot(p[:, 1], p[:, 2])
    eta = np.arcsinh(p[:, 3] / pt)
    m = np.sqrt(np.maximum(p[:, 0] ** 2 - np.sum(p[:, 1:] ** 2, axis=1), 0.0))
    return pt, eta, m


@pytest.fixture(scope="module")
def sample():
    return load_top_tagging()


def test_sample_is_inside_the_package():
    ref = resources.files("hepclf.datasets").joinpath("data", SAMPLE_FILE)
    assert ref.is_file()
    assert resources.files("hepclf.datasets").joinpath("data", "README.md").is_file()


def test_sample_shape_and_classes(sample):
    X, y = sample
    assert X.shape == (5000, 200, 4)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    assert (y == 1).sum() == 2500
    assert (y == 0).sum() == 2500


def test_sample_splits():
    sizes = {s: load_top_tagging(split=s)[1] for s in ("train", "val", "test")}
    assert {s: len(v) for s, v in sizes.items()} == {
        "train": 3000,
        "val": 1000,
        "test": 1000,
    }
    assert all(v.mean() == 0.5 for v in sizes.values())


def test_sample_padding_and_order(sample):
    X, _ = sample
    present = X[:, :, 0] > 0
    n = present.sum(axis=1)
    # real constituents first, zero rows after
    assert_array_equal(present, np.arange(X.shape[1]) < n[:, None])
    assert (X[~present] == 0).all()
    assert n.min() >= 5
    assert n.max() < 200  # every constituent is stored
    pt = np.hypot(X[..., 1], X[..., 2])
    assert (np.diff(pt, axis=1) <= 1e-4).all()  # decreasing pT


def test_sample_physics(sample):
    X, y = sample
    pt, eta, m = _jet_kinematics(X)
    # jets were selected on these cuts (detector-level jets from these constituents)
    assert pt.min() > 550 - 0.1
    assert pt.max() < 650 + 0.1
    assert np.abs(eta).max() < 2.0 + 1e-3
    assert 165 < m[y == 1].mean() < 190
    assert 150 < np.median(m[y == 1]) < 185
    assert m[y == 0].mean() < 110
    assert np.median(m[y == 0]) < 100
    # physical four-momenta: E >= |p| up to rounding for each constituent
    p = np.linalg.norm(X[..., 1:].astype(np.float64), axis=-1)
    assert (X[..., 0] >= p - 1e-3 * np.maximum(p, 1)).all()


def test_sample_path_none_equals_explicit_path(sample):
    ref = resources.files("hepclf.datasets").joinpath("data", SAMPLE_FILE)
    with resources.as_file(ref) as path:
        X, y = load_top_tagging(path, start=100, stop=200)
    assert_array_equal(X, sample[0][100:200])
    assert_array_equal(y, sample[1][100:200])
