"""AcceleratedCNNClassifier: CNNClassifier through Hugging Face Accelerate, on the CPU."""

from __future__ import annotations

import io
import math
import os
import socket
import sys
import time

import joblib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, JetImager, load_model, save_model

from .conftest import TINY, make_blob_images

torch = pytest.importorskip("torch")
accelerate = pytest.importorskip("accelerate")

from hepclf.parallel import AcceleratedCNNClassifier


def _reset_accelerate():
    # Accelerate keeps one process-wide state; a new Accelerator with other
    # settings needs it cleared (skorch's own tests do the same)
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)


@pytest.fixture
def accelerator():
    _reset_accelerate()
    yield accelerate.Accelerator(cpu=True)
    _reset_accelerate()


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images()


def tiny(accelerator, **kwargs):
    params = {"max_epochs": 3, "batch_size": 32, "random_state": 0, **TINY, **kwargs}
    return AcceleratedCNNClassifier(accelerator=accelerator, **params)


def test_fit_predict_separable_blobs(accelerator, blobs, capsys):
    X, y = blobs
    clf = tiny(accelerator).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), 2)
    assert proba.dtype == np.float32
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert roc_auc_score(y, proba[:, 1]) > 0.95
    assert_array_equal(clf.classes_, [0, 1])
    assert clf.device is None  # left to the accelerator
    assert clf.device_ == torch.device("cpu")
    assert len(clf.history) == 3
    # verbose=0 prints nothing, and the "auto" sink parameter stays as given
    assert capsys.readouterr().out == ""
    assert clf.get_params(deep=False)["callbacks__print_log__sink"] == "auto"
    # seeded: the same run gives the same model
    again = tiny(accelerator).fit(X, y)
    assert_array_equal(again.predict_proba(X), proba)


def test_sample_weights_and_validation_split(accelerator, blobs):
    from skorch.dataset import ValidSplit

    X, y = blobs
    weight = np.where(y == 1, 2.0, 1.0)
    clf = tiny(accelerator, max_epochs=2, train_split=ValidSplit(4))
    clf.fit(X, y, sample_weight=weight)
    assert np.isfinite(clf.history[:, "valid_loss"]).all()
    assert clf.history[-1, "valid_acc"] > 0.9
    assert len(clf.history[-1, "batches"]) == 10 + 4  # 300 train, 100 valid, by 32


def test_clone_shares_the_accelerator(accelerator):
    clf = tiny(accelerator)
    twin = clone(clf)
    assert twin.accelerator is accelerator
    assert twin.get_params()["iterator_train"] is torch.utils.data.DataLoader


def test_in_a_pipeline_behind_jet_imager(accelerator, top_sample):
    X, y = top_sample
    pipe = make_pipeline(JetImager(npix=16), tiny(accelerator, max_epochs=1))
    pipe.fit(X[:300], y[:300])
    assert pipe.predict_proba(X[300:350]).shape == (50, 2)


def test_pickle_round_trip(accelerator, blobs):
    X, y = blobs
    clf = tiny(accelerator, max_epochs=1).fit(X, y)
    buffer = io.BytesIO()
    joblib.dump(clf, buffer)
    buffer.seek(0)
    loaded = joblib.load(buffer)  # no DeviceWarning about device=None
    assert loaded.device is None
    assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    loaded.partial_fit(X, y)  # trains on
    assert len(loaded.history) == 2


def test_to_cnn_classifier_for_portable_files(accelerator, blobs, tmp_path):
    X, y = blobs
    clf = tiny(accelerator, max_epochs=1).fit(X, y)
    plain = clf.to_cnn_classifier()
    assert type(plain) is CNNClassifier
    assert plain.device == "auto"
    assert_allclose(plain.predict_proba(X), clf.predict_proba(X), atol=1e-6)
    save_model(plain, tmp_path / "tagger.hepclf")
    loaded = load_model(tmp_path / "tagger.hepclf")
    assert_allclose(loaded.predict_proba(X), clf.predict_proba(X), atol=1e-6)


def test_device_and_precision_belong_to_the_accelerator(accelerator, blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="set device=None"):
        tiny(accelerator, device="cpu").fit(X, y)
    with pytest.raises(ValueError, match="mixed_precision"):
        tiny(accelerator, precision="bf16").fit(X, y)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_in_process(out_dir, X, y):
    """One of several data-parallel processes (started by accelerate)."""
    os.environ["OMP_NUM_THREADS"] = "1"  # else Accelerate sets it, with a warning
    torch.set_num_threads(1)
    acc = accelerate.Accelerator()
    clf = tiny(acc, max_epochs=2)
    clf.fit(X, y)
    proba = clf.predict_proba(X)
    info = {
        "num_processes": acc.num_processes,
        "distributed": acc.distributed_type.value,
        "batches_per_epoch": len(clf.history[-1, "batches"]),
        "wrapped": type(clf.module_).__name__,
    }
    rank = acc.process_index
    np.save(os.path.join(out_dir, f"proba{rank}.npy"), proba)
    np.save(os.path.join(out_dir, f"info{rank}.npy"), info)
    state = {
        "parameters": {k: v.detach() for k, v in clf.module_.named_parameters()},
        "buffers": dict(clf.module_.named_buffers()),
    }
    torch.save(state, os.path.join(out_dir, f"state{rank}.pt"))


@pytest.mark.skipif(sys.platform != "linux", reason="forks the test process")
def test_two_process_data_parallel_training(blobs, tmp_path):
    """Two CPU processes (gloo): batches are sharded, gradients synchronised.

    Each process trains on its own half of every batch; only the averaged
    gradients keep the two copies of the network equal, so their weights are
    compared after training. (The predictions are gathered, so every process
    returns the same array even for unsynchronised networks.)
    """
    from accelerate.utils import PrepareForLaunch, patch_environment
    from torch.multiprocessing import start_processes

    X, y = blobs
    X, y = X[:301], y[:301]  # odd: the last batch is padded, then trimmed
    _reset_accelerate()
    try:
        # what accelerate.debug_launcher does, on a free port
        with patch_environment(
            world_size=2,
            master_addr="127.0.0.1",
            master_port=str(_free_port()),
            accelerate_mixed_precision="no",
            accelerate_debug_rdv_file=str(tmp_path / "rdv"),
            accelerate_use_cpu="yes",
            gloo_socket_ifname="lo",
        ):
            launcher = PrepareForLaunch(_train_in_process, debug=True)
            processes = start_processes(
                launcher,
                args=(str(tmp_path), X, y),
                nprocs=2,
                start_method="fork",
                join=False,
            )
            deadline = time.monotonic() + 120
            while not processes.join(timeout=1):  # re-raises a child's error
                if time.monotonic() > deadline:
                    for process in processes.processes:
                        process.kill()
                    pytest.fail("the data-parallel processes did not finish")
    finally:
        _reset_accelerate()
    per_process = math.ceil(len(X) / 2)
    for rank in range(2):
        info = np.load(tmp_path / f"info{rank}.npy", allow_pickle=True).item()
        assert info["num_processes"] == 2
        assert info["distributed"] == "MULTI_CPU"
        assert info["batches_per_epoch"] == math.ceil(per_process / 32)  # sharded
        assert info["wrapped"] == "JetCNN"  # unwrapped after training
    state0, state1 = (torch.load(tmp_path / f"state{rank}.pt") for rank in range(2))
    assert list(state0["parameters"]) == list(state1["parameters"])
    for name, value in state0["parameters"].items():  # the same weights
        assert_array_equal(state1["parameters"][name], value, err_msg=name)
    # BatchNorm's running statistics are not reduced: DDP broadcasts rank 0's
    # at each forward pass, so they differ by the last batch's update only
    assert list(state0["buffers"]) == list(state1["buffers"])
    for name, value in state0["buffers"].items():
        assert_allclose(state1["buffers"][name], value, rtol=1e-3, err_msg=name)
    proba0, proba1 = (np.load(tmp_path / f"proba{rank}.npy") for rank in range(2))
    assert proba0.shape == (len(X), 2)  # gathered, padding dropped
    assert_array_equal(proba0, proba1)
    assert roc_auc_score(y, proba0[:, 1]) > 0.9


class _DtypeRecorder(torch.nn.Module):
    """A one-convolution network that records the dtype of its activations."""

    def __init__(self, in_channels=1, image_size=(16, 16), n_classes=2):
        super().__init__()
        self.conv = torch.nn.Conv2d(in_channels, 4, 3, padding=1)
        self.dense = torch.nn.Linear(4 * image_size[0] * image_size[1], n_classes)
        self.seen = []

    def forward(self, x):
        h = torch.relu(self.conv(x))
        self.seen.append((self.training, x.dtype, h.dtype))
        return self.dense(h.flatten(1))


@pytest.mark.parametrize("unwrap_after_train", [True, False])
def test_bf16_mixed_precision_on_the_cpu(blobs, unwrap_after_train):
    X, y = blobs
    _reset_accelerate()
    try:
        acc = accelerate.Accelerator(cpu=True, mixed_precision="bf16")
        clf = AcceleratedCNNClassifier(
            _DtypeRecorder,
            accelerator=acc,
            unwrap_after_train=unwrap_after_train,
            max_epochs=3,
            batch_size=32,
            random_state=0,
        ).fit(X, y)
        # the forward pass trains in bf16 (float32 inputs, bf16 activations)
        assert set(clf.module_.seen) == {(True, torch.float32, torch.bfloat16)}
        clf.module_.seen.clear()
        proba = clf.predict_proba(X)
    finally:
        _reset_accelerate()
    # unwrapped after training: predicts in full precision; else still in bf16
    activations = torch.float32 if unwrap_after_train else torch.bfloat16
    assert set(clf.module_.seen) == {(False, torch.float32, activations)}
    assert proba.dtype == np.float32
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    assert roc_auc_score(y, proba[:, 1]) > 0.95
