from __future__ import annotations

import re
import tracemalloc

import h5py
import numpy as np
import pytest
from numpy.testing import assert_array_equal

from hepclf.datasets import (
    ParticleImages,
    iter_particle_images,
    load_larcv_sparse2d,
    load_particle_images,
    write_larcv_sparse2d,
    write_particle_images,
)

CHALLENGE_CODES = [11, 13, 22, 2212]  # e-, mu-, photon, proton: labels 0, 1, 2, 3


def sparse_images(n, height=12, width=10, seed=0, occupancy=0.04):
    """Mostly empty images: a few per cent of the pixels carry a charge."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, height, width), dtype=np.float32)
    hit = rng.random(X.shape) < occupancy
    X[hit] = rng.uniform(0.1, 5.0, hit.sum()).astype(np.float32)
    X[:, 0, 0] = np.arange(n, dtype=np.float32) + 1  # each image is unique
    return X


def cycling_pdg(n):
    return np.array([2212, 11, 22, 13] * (n // 4 + 1), dtype=np.int32)[:n]


def h5(path, **datasets):
    """A plain h5py file with the given datasets, written independently of hepclf."""
    with h5py.File(path, "w") as f:
        for name, data in datasets.items():
            f.create_dataset(name, data=data)
    return path


@pytest.fixture
def challenge_file(tmp_path):
    X = sparse_images(23)
    pdg = cycling_pdg(23)
    return write_particle_images(tmp_path / "train.h5", X, pdg), X, pdg


# -- the challenge layout ----------------------------------------------------------
def test_labels_are_the_index_of_the_sorted_pdg_codes(tmp_path):
    X = sparse_images(5)
    path = write_particle_images(tmp_path / "p.h5", X, [2212, 11, 22, 13, 11])
    images, labels = load_particle_images(path)
    assert images.dtype == np.float32
    assert images.shape == (5, 1, 12, 10)
    assert_array_equal(images[:, 0], X)
    assert labels.dtype == np.int64
    assert labels.tolist() == [3, 0, 2, 1, 0]
    info = load_particle_images(path, return_info=True)
    assert isinstance(info, ParticleImages)
    assert info.pdg_codes.tolist() == CHALLENGE_CODES
    assert info.class_names == ["electron", "muon", "photon", "proton"]
    assert_array_equal(info.pdg_codes[info.labels], info.pdg)
    assert info.pdg.tolist() == [2212, 11, 22, 13, 11]


def test_reads_the_original_layout_written_by_plain_h5py(tmp_path):
    """The challenge's own datasets: image float32, pdg/index int32, mean/std (1,)."""
    X = sparse_images(8, 16, 16)
    pdg = np.array([13, 13, 2212, 22, 11, 22, 2212, 11], dtype=np.int32)
    path = h5(
        tmp_path / "train.h5",
        image=X,
        pdg=pdg,
        index=np.arange(8, dtype=np.int32),
        mean=np.array([0.094]),
        std=np.array([0.0031]),
    )
    images, labels = load_particle_images(path)
    assert_array_equal(images[:, 0], X)
    assert labels.tolist() == [1, 1, 3, 2, 0, 2, 3, 0]


def test_five_classes_with_pions(tmp_path):
    pdg = [211, 2212, 11, 13, 22]
    path = write_particle_images(tmp_path / "p.h5", sparse_images(5), pdg)
    info = load_particle_images(path, return_info=True)
    assert info.pdg_codes.tolist() == [11, 13, 22, 211, 2212]
    assert info.labels.tolist() == [3, 4, 0, 1, 2]
    assert info.class_names == ["electron", "muon", "photon", "pion", "proton"]


def test_writer_layout_is_chunked_per_image_and_compressed(tmp_path):
    X = sparse_images(40, 64, 64, occupancy=0.03)
    path = write_particle_images(tmp_path / "p.h5", X, cycling_pdg(40))
    with h5py.File(path, "r") as f:
        assert sorted(f) == ["image", "index", "pdg"]
        assert f["image"].dtype == np.float32
        assert f["image"].shape == (40, 64, 64)
        assert f["image"].chunks == (1, 64, 64)
        assert f["image"].compression == "gzip"
        assert f["pdg"].dtype == np.int32
        assert_array_equal(f["pdg"][:], cycling_pdg(40))
        assert f["index"].dtype == np.int32
        assert_array_equal(f["index"][:], np.arange(40))
    # 97 % empty images: the file is a fraction of the raw float32 bytes
    assert path.stat().st_size < X.nbytes / 4
    # written uncompressed on request, still read back exactly
    raw = write_particle_images(tmp_path / "raw.h5", X, cycling_pdg(40), compression=0)
    with h5py.File(raw, "r") as f:
        assert f["image"].compression is None
    assert_array_equal(load_particle_images(raw)[0][:, 0], X)


def test_writer_takes_one_channel_images_and_any_numeric_dtype(tmp_path):
    X = sparse_images(4)
    path = write_particle_images(
        tmp_path / "p.h5", X[:, None].astype(np.float64), [11] * 4
    )
    assert_array_equal(load_particle_images(path)[0][:, 0], X)


@pytest.mark.parametrize("stored", [np.float64, np.uint8, np.int16])
def test_stored_dtypes_are_read_as_float32(tmp_path, stored):
    X = np.round(sparse_images(6) * 10)
    path = h5(tmp_path / "p.h5", image=X.astype(stored), pdg=cycling_pdg(6))
    images, _ = load_particle_images(path)
    assert images.dtype == np.float32
    assert_array_equal(images[:, 0], X)


def test_start_stop_select_rows_and_keep_the_labels_of_the_whole_file(challenge_file):
    path, X, pdg = challenge_file
    images, labels = load_particle_images(path, start=3, stop=9)
    assert_array_equal(images[:, 0], X[3:9])
    full_labels = np.searchsorted(CHALLENGE_CODES, pdg)
    assert_array_equal(labels, full_labels[3:9])
    # a slice holding protons only: still label 3, not 0
    only_protons = load_particle_images(path, start=4, stop=5, return_info=True)
    assert only_protons.pdg.tolist() == [2212]
    assert only_protons.labels.tolist() == [3]
    # Python slice semantics
    assert_array_equal(load_particle_images(path, start=-2)[0][:, 0], X[-2:])
    assert_array_equal(load_particle_images(path, stop=-20)[0][:, 0], X[:3])
    empty, empty_labels = load_particle_images(path, start=10, stop=10)
    assert empty.shape == (0, 1, 12, 10)
    assert empty_labels.shape == (0,)


def test_a_slice_reads_only_its_rows(tmp_path):
    """Rows outside the slice are never read: NaN there goes unnoticed, and the
    memory used is that of the slice, not of the file."""
    n, size = 600, 64
    X = sparse_images(n, size, size)
    X[0, 5, 5] = np.nan
    X[-1, 5, 5] = np.nan
    path = write_particle_images(tmp_path / "big.h5", np.nan_to_num(X), cycling_pdg(n))
    with h5py.File(path, "r+") as f:  # the writer refuses NaN: put them in by hand
        f["image"][0] = X[0]
        f["image"][-1] = X[-1]
    slice_bytes = 10 * size * size * 4
    tracemalloc.start()
    try:
        images, _ = load_particle_images(path, start=300, stop=310)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_array_equal(images[:, 0], X[300:310])
    assert X.nbytes > 50 * slice_bytes  # the file is much larger than the slice
    assert peak < 3 * slice_bytes + 200_000, peak
    with pytest.raises(ValueError, match=r"NaN pixels in image 599 "):
        load_particle_images(path, start=590)


def test_iterator_yields_the_rows_in_batches(challenge_file):
    path, X, pdg = challenge_file
    batches = iter_particle_images(path, batch_size=5)
    assert len(batches) == 5
    assert batches.n_images == 23
    assert batches.image_shape == (1, 12, 10)
    assert batches.pdg_codes.tolist() == CHALLENGE_CODES
    assert batches.class_names == ["electron", "muon", "photon", "proton"]
    for _epoch in range(2):  # re-iterable
        got = list(batches)
        assert [len(x) for x, _ in got] == [5, 5, 5, 5, 3]
        assert_array_equal(np.concatenate([x for x, _ in got])[:, 0], X)
        labels = np.concatenate([y for _, y in got])
        assert_array_equal(labels, np.searchsorted(CHALLENGE_CODES, pdg))
    part = list(iter_particle_images(path, batch_size=4, start=2, stop=12))
    assert [len(x) for x, _ in part] == [4, 4, 2]
    assert_array_equal(np.concatenate([x for x, _ in part])[:, 0], X[2:12])
    info = next(iter(iter_particle_images(path, batch_size=3, return_info=True)))
    assert isinstance(info, ParticleImages)
    assert info.pdg.tolist() == pdg[:3].tolist()
    assert len(iter_particle_images(path, batch_size=100)) == 1
    assert len(iter_particle_images(path, start=5, stop=5)) == 0


def test_iterator_memory_follows_the_batch(tmp_path):
    n, size, batch = 600, 64, 16
    X = sparse_images(n, size, size)
    path = write_particle_images(tmp_path / "big.h5", X, cycling_pdg(n))
    batch_bytes = batch * size * size * 4
    total = 0.0
    tracemalloc.start()
    try:
        for images, _ in iter_particle_images(path, batch_size=batch):
            total += float(images.sum(dtype=np.float64))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == pytest.approx(float(X.sum(dtype=np.float64)), rel=1e-6)
    assert X.nbytes > 30 * batch_bytes
    assert peak < 4 * batch_bytes + 200_000, peak


def test_classes_fix_the_label_order(challenge_file):
    path, _, pdg = challenge_file
    order = [2212, 11, 211, 13, 22]  # pytorch-resnet-example's PdgClassList
    info = load_particle_images(path, classes=order, return_info=True)
    assert_array_equal(np.asarray(order)[info.labels], pdg)
    assert info.class_names == ["proton", "electron", "pion", "muon", "photon"]
    by_name = load_particle_images(
        path, classes=["proton", "electron", "photon", "muon"]
    )
    assert_array_equal(np.array([2212, 11, 22, 13])[by_name[1]], pdg)
    batches = iter_particle_images(path, classes=order)
    assert batches.pdg_codes.tolist() == order


def test_unknown_pdg_code_when_classes_are_given(challenge_file):
    path, _, _ = challenge_file
    with pytest.raises(
        ValueError,
        match=re.escape(
            "train.h5: dataset 'pdg' holds PDG code 2212 (image 0), which is not "
            "in classes [11, 13, 22]"
        ),
    ):
        load_particle_images(path, classes=[11, 13, 22])
    with pytest.raises(ValueError, match=r"PDG code 2212 \(image 0\)"):
        iter_particle_images(path, classes=[11, 13, 22])
    # only the rows read are checked: image 1 is an electron
    assert load_particle_images(path, start=1, stop=2, classes=[11])[1].tolist() == [0]
    with pytest.raises(ValueError, match="names a PDG code twice"):
        load_particle_images(path, classes=[11, 11])
    with pytest.raises(ValueError, match="unknown particle name 'kaon'"):
        load_particle_images(path, classes=["kaon"])


@pytest.mark.parametrize(
    ("datasets", "message"),
    [
        ({"pdg": np.ones(3, np.int32)}, "has no dataset 'image', so it is not in"),
        ({"image": np.zeros((3, 4, 4), np.float32)}, "has no dataset 'pdg'"),
        (
            {"image": np.zeros((3, 16), np.float32), "pdg": np.ones(3, np.int32)},
            "dataset 'image' has shape (3, 16); expected 3 axes (N, height, width)",
        ),
        (
            {"image": np.zeros((3, 1, 4, 4), np.float32), "pdg": np.ones(3, np.int32)},
            "dataset 'image' has shape (3, 1, 4, 4); expected 3 axes",
        ),
        (
            {
                "image": np.zeros((3, 4, 4), np.float32),
                "pdg": np.ones((3, 1), np.int32),
            },
            "dataset 'pdg' has shape (3, 1); expected 1 axis (N,)",
        ),
        (
            {"image": np.zeros((3, 4, 4), np.float32), "pdg": np.ones(3)},
            "dataset 'pdg' must hold integer PDG codes, got dtype float64",
        ),
        (
            {"image": np.zeros((3, 4, 4), np.float32), "pdg": np.ones(4, np.int32)},
            "dataset 'image' has 3 images but dataset 'pdg' has 4 codes",
        ),
        (
            {"image": np.full((3, 2, 2), b"ab"), "pdg": np.ones(3, np.int32)},
            "dataset 'image' must be numeric, got dtype |S2",
        ),
    ],
)
def test_wrong_layout_names_the_file_and_the_dataset(tmp_path, datasets, message):
    path = h5(tmp_path / "bad.h5", **datasets)
    for read in (load_particle_images, iter_particle_images):
        with pytest.raises(ValueError, match=re.escape(f"{path}")) as info:
            read(path)
        assert message in str(info.value)


def test_a_group_named_image_is_not_a_dataset(tmp_path):
    with h5py.File(tmp_path / "g.h5", "w") as f:
        f.create_group("image")
        f.create_dataset("pdg", data=np.ones(2, np.int32))
    with pytest.raises(
        ValueError, match=r"has no dataset 'image'.*members present: 'image', 'pdg'"
    ):
        load_particle_images(tmp_path / "g.h5")


def test_nan_and_inf_pixels_name_the_image(tmp_path):
    X = sparse_images(6)
    X[4, 2, 3] = np.inf
    path = h5(tmp_path / "p.h5", image=X, pdg=cycling_pdg(6))
    with pytest.raises(
        ValueError, match=r"p.h5: dataset 'image' has infinite pixels in image 4"
    ):
        load_particle_images(path)
    assert load_particle_images(path, stop=4)[0].shape[0] == 4
    batches = iter_particle_images(path, batch_size=2)
    it = iter(batches)
    next(it), next(it)
    with pytest.raises(ValueError, match="infinite pixels in image 4"):
        next(it)


def test_files_that_are_not_there_or_not_hdf5(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nope.h5: no such file"):
        load_particle_images(tmp_path / "nope.h5")
    with pytest.raises(IsADirectoryError):
        load_particle_images(tmp_path)
    text = tmp_path / "text.h5"
    text.write_text("not HDF5")
    with pytest.raises(
        ValueError, match=r"text.h5 could not be opened as an HDF5 file"
    ):
        load_particle_images(text)
    good = write_particle_images(
        tmp_path / "good.h5", sparse_images(20), cycling_pdg(20)
    )
    blob = good.read_bytes()
    good.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(ValueError, match=r"good.h5"):
        load_particle_images(good)


def test_writer_checks_its_input(tmp_path):
    X = sparse_images(3)
    with pytest.raises(
        ValueError, match=r"pdg must have shape \(3,\), one code per image"
    ):
        write_particle_images(tmp_path / "a.h5", X, [11, 13])
    with pytest.raises(ValueError, match="pdg must hold integers, got dtype float64"):
        write_particle_images(tmp_path / "a.h5", X, [11.0, 13.0, 22.0])
    with pytest.raises(ValueError, match="images must have one channel"):
        write_particle_images(tmp_path / "a.h5", np.zeros((3, 2, 4, 4)), [11] * 3)
    with pytest.raises(ValueError, match=r"images must have shape \(n_images, height"):
        write_particle_images(tmp_path / "a.h5", np.zeros((3, 4)), [11] * 3)
    X[1, 0, 1] = np.nan
    with pytest.raises(ValueError, match=r"images contain NaN or inf \(image 1\)"):
        write_particle_images(tmp_path / "a.h5", X, [11] * 3)
    assert not (tmp_path / "a.h5").exists()


# -- larcv3 sparse2d ---------------------------------------------------------------
def larcv_by_hand(
    path, *, first_dtype="<u8", groups=("data",), drop=None, field_order=1
):
    """A larcv3 sparse2d file built straight from the established layout.

    One entry, one projection (ID 0) of 4 x 5 voxels holding the flat indices
    0, 7 and 19 (values 1, 2, 3): row-major, last axis fastest, so (0, 0),
    (1, 2) and (3, 4). ``field_order=-1`` stores the fields in reverse order.
    """

    def table(fields, rows):
        fields = fields[::field_order]
        arr = np.zeros(len(rows), dtype=fields)
        for i, row in enumerate(rows):
            for name, value in row.items():
                arr[i][name] = value
        return arr

    with h5py.File(path, "w") as f:
        f.create_dataset(
            "Events/event_id",
            data=np.zeros(1, [("run", "<i8"), ("subrun", "<i8"), ("event", "<i8")]),
        )
        for producer in groups:
            g = f.create_group(f"Data/sparse2d_{producer}_group")
            data = {
                "extents": table(
                    [("first", first_dtype), ("N", "<u4")], [{"first": 0, "N": 1}]
                ),
                "voxel_extents": table(
                    [("first", first_dtype), ("N", "<u4"), ("ID", "<u4")],
                    [{"first": 0, "N": 3, "ID": 0}],
                ),
                "image_meta": table(
                    [
                        ("valid", "u1"),
                        ("projection_id", "<u8"),
                        ("image_sizes", "<f8", (2,)),
                        ("number_of_voxels", "<u8", (2,)),
                        ("origin", "<f8", (2,)),
                    ],
                    [
                        {
                            "valid": 1,
                            "image_sizes": (2.0, 2.5),
                            "number_of_voxels": (4, 5),
                        }
                    ],
                ),
                "voxels": table(
                    [("id", "<u8"), ("value", "<f4")],
                    [
                        {"id": 0, "value": 1},
                        {"id": 7, "value": 2},
                        {"id": 19, "value": 3},
                    ],
                ),
            }
            for name, arr in data.items():
                if name != drop:
                    g.create_dataset(name, data=arr)
    return path


@pytest.mark.parametrize("first_dtype", ["<u8", "<u4"])
@pytest.mark.parametrize("field_order", [1, -1])
def test_larcv_voxel_index_is_row_major(tmp_path, first_dtype, field_order):
    path = larcv_by_hand(
        tmp_path / "l.h5", first_dtype=first_dtype, field_order=field_order
    )
    images = load_larcv_sparse2d(path)
    expected = np.zeros((1, 1, 4, 5), dtype=np.float32)
    expected[0, 0, 0, 0], expected[0, 0, 1, 2], expected[0, 0, 3, 4] = 1, 2, 3
    assert images.dtype == np.float32
    assert_array_equal(images, expected)


def test_larcv_round_trip_projections_and_rows(tmp_path):
    rng = np.random.default_rng(3)
    X = np.zeros((7, 3, 6, 5), dtype=np.float32)
    hit = rng.random(X.shape) < 0.1
    X[hit] = rng.uniform(0.5, 2.0, hit.sum())
    X[2, 1] = 0.0  # a projection without voxels
    path = write_larcv_sparse2d(tmp_path / "l.h5", X, producer="dense_2d")
    assert_array_equal(load_larcv_sparse2d(path, "dense_2d"), X)
    assert_array_equal(load_larcv_sparse2d(path), X)  # the only sparse2d group
    assert_array_equal(load_larcv_sparse2d(path, projections=[2, 0]), X[:, [2, 0]])
    assert_array_equal(load_larcv_sparse2d(path, projections=1), X[:, [1]])
    assert_array_equal(load_larcv_sparse2d(path, start=2, stop=5), X[2:5])
    assert_array_equal(load_larcv_sparse2d(path, start=-1), X[-1:])
    assert load_larcv_sparse2d(path, start=3, stop=3).shape == (0, 3, 6, 5)
    single = write_larcv_sparse2d(tmp_path / "s.h5", X[:, 0])  # (n, n0, n1)
    assert_array_equal(load_larcv_sparse2d(single, "data"), X[:, :1])


def test_larcv_writer_follows_larcv3_types(tmp_path):
    X = np.zeros((2, 2, 3, 4), dtype=np.float32)
    X[0, 0, 1, 2] = 5.0
    X[1, 1, 2, 3] = 7.0
    X[1, 1, 0, 0] = 1.0
    path = write_larcv_sparse2d(
        tmp_path / "l.h5", X, image_sizes=(1.5, 2.0), origin=(-1.0, 3.0)
    )
    with h5py.File(path, "r") as f:
        assert sorted(f) == ["Data", "Events"]
        assert list(f["Data"]) == ["sparse2d_data_group"]
        ev = f["Events/event_id"]
        assert ev.dtype.names == ("run", "subrun", "event")
        assert all(ev.dtype[k] == np.dtype("<i8") for k in ev.dtype.names)
        assert ev["event"].tolist() == [0, 1]
        g = f["Data/sparse2d_data_group"]
        assert sorted(g) == ["extents", "image_meta", "voxel_extents", "voxels"]
        ext, vext, vox, meta = (
            g["extents"],
            g["voxel_extents"],
            g["voxels"],
            g["image_meta"],
        )
        assert (ext.dtype["first"], ext.dtype["N"]) == (
            np.dtype("<u8"),
            np.dtype("<u4"),
        )
        assert vext.dtype.names == ("first", "N", "ID")
        assert vext.dtype["ID"] == np.dtype("<u4")
        assert (vox.dtype["id"], vox.dtype["value"]) == (
            np.dtype("<u8"),
            np.dtype("<f4"),
        )
        assert meta.dtype["number_of_voxels"] == np.dtype(("<u8", (2,)))
        assert meta.dtype["image_sizes"] == np.dtype(("<f8", (2,)))
        for ds in (ev, ext, vext, vox, meta):
            assert ds.maxshape == (None,)
            assert ds.chunks is not None
        # entry i -> its projections -> their voxels
        assert ext[:].tolist() == [(0, 2), (2, 2)]
        assert vext[:].tolist() == [(0, 1, 0), (1, 0, 1), (1, 0, 0), (1, 2, 1)]
        assert vox[:].tolist() == [(1 * 4 + 2, 5.0), (0, 1.0), (2 * 4 + 3, 7.0)]
        assert meta["number_of_voxels"].tolist() == [[3, 4]] * 4
        assert meta["projection_id"].tolist() == [0, 1, 0, 1]
        assert meta["image_sizes"][0].tolist() == [1.5, 2.0]
        assert meta["origin"][0].tolist() == [-1.0, 3.0]
        assert meta["valid"].tolist() == [1] * 4


def test_larcv_missing_pieces_are_named(tmp_path):
    for drop in ("extents", "voxel_extents", "image_meta", "voxels"):
        path = larcv_by_hand(tmp_path / f"no-{drop}.h5", drop=drop)
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"group '/Data/sparse2d_data_group' has no dataset '{drop}'"
            ),
        ):
            load_larcv_sparse2d(path)
    challenge = write_particle_images(tmp_path / "c.h5", sparse_images(2), [11, 13])
    with pytest.raises(
        ValueError, match=r"c.h5 has no group '/Data', so it is not a larcv3"
    ):
        load_larcv_sparse2d(challenge)
    two = larcv_by_hand(tmp_path / "two.h5", groups=("a", "b"))
    with pytest.raises(ValueError, match=r"holds 2 sparse2d groups .*give producer="):
        load_larcv_sparse2d(two)
    assert load_larcv_sparse2d(two, "b").shape == (1, 1, 4, 5)
    with pytest.raises(
        ValueError, match=r"no group '/Data/sparse2d_c_group'; groups in"
    ):
        load_larcv_sparse2d(two, "c")
    with pytest.raises(
        ValueError, match="entry 0 of '/Data/sparse2d_a_group' has no projection 2"
    ):
        load_larcv_sparse2d(two, "a", projections=[0, 2])


def test_larcv_missing_field_and_inconsistent_files(tmp_path):
    path = larcv_by_hand(tmp_path / "l.h5")
    with h5py.File(path, "r+") as f:
        g = f["Data/sparse2d_data_group"]
        del g["voxels"]
        g.create_dataset(
            "voxels", data=np.zeros(3, [("index", "<u8"), ("value", "<f4")])
        )
    with pytest.raises(
        ValueError, match=r"'/Data/sparse2d_data_group/voxels' has no field.*'id'"
    ):
        load_larcv_sparse2d(path)

    path = larcv_by_hand(tmp_path / "short.h5")
    with h5py.File(path, "r+") as f:
        vox = f["Data/sparse2d_data_group/voxels"]
        data = vox[:2]
        del f["Data/sparse2d_data_group/voxels"]
        f["Data/sparse2d_data_group"].create_dataset("voxels", data=data)
    with pytest.raises(
        ValueError, match="voxel_extents' row 0 points at rows 0-2 but the"
    ):
        load_larcv_sparse2d(path)

    path = larcv_by_hand(tmp_path / "beyond.h5")
    with h5py.File(path, "r+") as f:
        f["Data/sparse2d_data_group/voxels"][2] = (20, 1.0)
    with pytest.raises(ValueError, match="has index 20, beyond its 4 x 5 image"):
        load_larcv_sparse2d(path)

    X = np.ones((2, 2, 3, 3), dtype=np.float32)
    path = write_larcv_sparse2d(tmp_path / "sizes.h5", X)
    with h5py.File(path, "r+") as f:
        meta = f["Data/sparse2d_data_group/image_meta"]
        row = meta[3]
        row["number_of_voxels"] = (3, 4)
        meta[3] = row
    with pytest.raises(ValueError, match=r"projection 1 of entry 1 .* is 3 x 4 voxels"):
        load_larcv_sparse2d(path)
    assert_array_equal(load_larcv_sparse2d(path, projections=0), X[:, :1])


def test_larcv_writer_checks_its_input(tmp_path):
    with pytest.raises(ValueError, match="images must have shape"):
        write_larcv_sparse2d(tmp_path / "l.h5", np.zeros((2, 3)))
    with pytest.raises(ValueError, match="image_sizes must be two finite numbers"):
        write_larcv_sparse2d(tmp_path / "l.h5", np.zeros((2, 3, 3)), image_sizes=(1.0,))
    with pytest.raises(ValueError, match="images contain NaN or inf"):
        write_larcv_sparse2d(tmp_path / "l.h5", np.full((2, 3, 3), np.nan))
