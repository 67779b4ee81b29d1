"""ROOT files read lazily with uproot.dask and imaged block-wise."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from hepclf import JetImager
from hepclf.parallel import transform_dask

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")
dak = pytest.importorskip("dask_awkward")
da = pytest.importorskip("dask.array")


def _ptetaphim(jets):
    """Padded (E, px, py, pz) to ragged (pt, eta, phi, mass) records, float32."""
    E, px, py, pz = np.moveaxis(jets.astype(np.float64), -1, 0)
    present = (px != 0) | (py != 0)
    pt = np.hypot(px, py)
    safe = np.where(present, pt, 1.0)
    eta = np.arcsinh(pz / safe)
    phi = np.arctan2(py, px)
    mass = np.sqrt(np.clip(E**2 - pt**2 - pz**2, 0.0, None))
    counts = present.sum(axis=1)
    return ak.zip(
        {
            name: ak.unflatten(values[present].astype(np.float32), counts)
            for name, values in (("pt", pt), ("eta", eta), ("phi", phi), ("mass", mass))
        }
    )


@pytest.fixture(scope="module")
def root_file(top_sample, tmp_path_factory):
    """A jets tree: one entry per jet, constituents as jagged branches.

    Branches: ``nConstituent`` (counter), ``Constituent_pt``,
    ``Constituent_eta``, ``Constituent_phi``, ``Constituent_mass`` (float32,
    GeV and rad) and ``label`` (int32), written in three baskets.
    """
    jets, y = top_sample
    constituents = _ptetaphim(jets[:600])
    labels = y[:600].astype(np.int32)
    path = tmp_path_factory.mktemp("root") / "jets.root"
    with uproot.recreate(path) as f:
        f.mktree("jets", {"Constituent": constituents.type.content, "label": np.int32})
        for start in range(0, 600, 200):
            f["jets"].extend(
                {
                    "Constituent": constituents[start : start + 200],
                    "label": labels[start : start + 200],
                }
            )
    return path


def _records(events):
    return dak.zip(
        {
            "pt": events.Constituent_pt,
            "eta": events.Constituent_eta,
            "phi": events.Constituent_phi,
            "mass": events.Constituent_mass,
        }
    )


def _eager_records(root_file):
    """The same jets read eagerly with uproot, as ragged (pt, eta, phi, mass)."""
    with uproot.open(root_file) as f:
        eager = f["jets"].arrays(filter_name="Constituent_*")
    return ak.zip(
        {name: eager[f"Constituent_{name}"] for name in ("pt", "eta", "phi", "mass")}
    )


def test_uproot_dask_images_equal_eager_images(client, root_file):
    imager = JetImager(npix=16, input_format="ptetaphi")
    events = uproot.dask({str(root_file): "jets"}, step_size=150)
    assert events.npartitions == 4
    jets = _records(events)
    images = transform_dask(imager, jets)
    assert images.numblocks[0] == 4
    assert images.shape[1:] == (1, 16, 16)
    assert images.dtype == np.float32
    result = images.compute()  # on the cluster

    assert_array_equal(result, imager.transform(_eager_records(root_file)))
    assert result.shape == (600, 1, 16, 16)


def test_uproot_dask_with_known_divisions_and_mean(client, root_file):
    imager = JetImager(npix=8, input_format="ptetaphi", intensity="count")
    jets = _records(uproot.dask({str(root_file): "jets"}, step_size=200))
    jets.eager_compute_divisions()
    images = transform_dask(imager, jets)
    assert images.chunks[0] == (200, 200, 200)
    assert images.shape == (600, 1, 8, 8)

    expected = imager.transform(_eager_records(root_file))
    # each jet's image, pixel by pixel and in order, as the eager transform
    result = images.compute()
    assert_array_equal(result, expected)
    assert_allclose(result.sum(axis=(1, 2, 3)), 1.0, rtol=1e-6)  # unit sums
    # the mean image, reduced by dask across the blocks on the cluster
    mean = images.mean(axis=0).compute()
    assert mean.shape == (1, 8, 8)
    assert_allclose(mean, expected.mean(axis=0, dtype=np.float64), rtol=1e-5, atol=0)
    assert np.count_nonzero(mean) > 8  # a spread of pixels, not one bright pixel


def test_records_with_the_wrong_fields_fail_before_reading(root_file):
    events = uproot.dask({str(root_file): "jets"})
    jets = dak.zip({"pt": events.Constituent_pt, "eta": events.Constituent_eta})
    with pytest.raises(ValueError, match="expected fields"):
        transform_dask(JetImager(input_format="ptetaphi"), jets)
