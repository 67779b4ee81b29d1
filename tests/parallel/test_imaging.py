"""Block-wise, lazy imaging of Dask arrays and dask-awkward arrays (uproot.dask)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf import JetImager
from hepclf.parallel import transform_dask

da = pytest.importorskip("dask.array")


@pytest.fixture(scope="module")
def jets(top_sample):
    return top_sample[0]


class CountingImager(JetImager):
    """A JetImager that counts its transform calls (in this process)."""

    calls: list[int] = []  # noqa: RUF012 - shared on purpose

    def transform(self, X):
        CountingImager.calls.append(len(X))
        return super().transform(X)


def test_dask_array_images_equal_eager_images(client, jets):
    imager = JetImager(npix=16, intensity=("pt", "energy"))
    # constituents split into two blocks: rechunked so each jet sits whole
    X = da.from_array(jets, chunks=(100, 100, 4))
    images = transform_dask(imager, X)
    assert images.shape == (len(jets), 2, 16, 16)
    assert images.dtype == np.float32
    assert images.chunks[0] == X.chunks[0]
    assert images.chunks[1:] == ((2,), (16,), (16,))
    result = images.compute()  # on the cluster
    assert isinstance(result, np.ndarray)
    assert_array_equal(result, imager.transform(jets))


def test_many_blocks_stream_to_disk_and_reduce(client, jets, tmp_path):
    imager = JetImager(npix=16)
    X = da.from_array(jets, chunks=(50, -1, -1))  # 24 blocks
    images = transform_dask(imager, X)
    eager = imager.transform(jets)
    # a reduction: each worker keeps one block of images at a time
    mean = images.mean(axis=0).compute()
    assert mean.shape == (1, 16, 16)
    assert_allclose(mean, eager.mean(axis=0), rtol=1e-5, atol=1e-7)
    # block-wise storage: one file per block, written by the workers
    da.to_npy_stack(tmp_path, images, axis=0)
    assert len(list(tmp_path.glob("*.npy"))) == X.numblocks[0] == 24
    assert_array_equal(da.from_npy_stack(tmp_path).compute(), eager)


#: the package's cluster may be the default scheduler while these run locally
local_scheduler = pytest.mark.filterwarnings(
    "ignore:Running on a single-machine scheduler when a distributed client:UserWarning"
)


@local_scheduler
def test_transform_dask_is_lazy():
    rng = np.random.default_rng(0)
    X = np.zeros((30, 5, 3))  # (pt, eta, phi), two padding rows
    X[:, :3] = rng.normal(scale=0.3, size=(30, 3, 3))
    X[:, :3, 0] = np.abs(X[:, :3, 0]) + 1.0
    imager = CountingImager(npix=8, input_format="ptetaphi")
    CountingImager.calls.clear()
    images = transform_dask(imager, da.from_array(X, chunks=(10, 5, 3)))
    assert CountingImager.calls == [1]  # a one-jet probe of the output shape
    imager.set_params(npix=4)  # the graph holds its own copy
    result = images.compute(scheduler="sync")
    assert sorted(CountingImager.calls) == [1, 10, 10, 10]
    assert result.shape == (30, 1, 8, 8)
    assert_array_equal(result, JetImager(npix=8, input_format="ptetaphi").transform(X))


@local_scheduler
def test_transform_dask_output_of_empty_blocks():
    X = da.from_array(np.ones((6, 2, 4)), chunks=3)[np.array([True] * 3 + [False] * 3)]
    imager = JetImager(npix=4, input_format="ptetaphi", center=False)
    images = transform_dask(imager, X.compute_chunk_sizes())
    assert images.compute(scheduler="sync").shape == (3, 1, 4, 4)


def test_transform_dask_errors_before_reading_data():
    imager = JetImager(npix=8)
    with pytest.raises(TypeError, match=r"dask\.array\.Array or a dask_awkward\.Array"):
        transform_dask(imager, np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="expected a Dask array of shape"):
        transform_dask(imager, da.zeros((4, 4), chunks=2))
    with pytest.raises(ValueError, match="expected 4 features"):
        transform_dask(imager, da.zeros((4, 3, 3), chunks=2))
    with pytest.raises(ValueError, match="npix"):
        transform_dask(JetImager(npix=0), da.zeros((4, 3, 4), chunks=2))
    unknown = da.zeros((4, 3, 4), chunks=2)
    unknown = unknown[unknown[:, 0, 0] == 0]
    assert np.isnan(unknown.shape[0])  # fine: unknown jets axis
    assert np.isnan(transform_dask(imager, unknown).shape[0])
    with pytest.raises(ValueError, match="known sizes"):
        transform_dask(imager, unknown.transpose(1, 0, 2))


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.array", None)
    with pytest.raises(ImportError, match=r'pip install "hepclf\[dask\]"'):
        transform_dask(JetImager(), np.zeros((1, 1, 4)))
