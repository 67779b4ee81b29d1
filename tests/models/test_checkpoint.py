from __future__ import annotations

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback, LRScheduler

from hepclf import CNNClassifier

from .conftest import TINY, assert_same_training


class Killed(Exception):
    pass


class KillAfter(Callback):
    """Stand-in for a killed job: raise after the given epoch was checkpointed."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise Killed


def tiny(**kwargs):
    params = {"max_epochs": 4, "batch_size": 32, "random_state": 0, **TINY, **kwargs}
    params["module__dropout"] = 0.3  # randomness inside every epoch
    return CNNClassifier(**params)


def test_resumed_run_matches_uninterrupted(blobs, tmp_path):
    X, y = blobs
    expected = tiny().fit(X, y).predict_proba(X)

    with pytest.raises(Killed):
        tiny(checkpoint_dir=tmp_path, callbacks=[KillAfter(2)]).fit(X, y)
    assert (tmp_path / "params.pt").exists()

    resumed = tiny(checkpoint_dir=tmp_path).fit(X, y)
    assert len(resumed.history_) == 4
    assert [row["epoch"] for row in resumed.history_] == [1, 2, 3, 4]
    assert_same_training(resumed.predict_proba(X), expected)

    # a finished run only reloads its last state
    again = tiny(checkpoint_dir=tmp_path).fit(X, y)
    assert len(again.history_) == 4
    assert_same_training(again.predict_proba(X), expected)


@pytest.mark.parametrize(
    "schedules",
    [
        [("lr", LRScheduler("CosineAnnealingLR", T_max=4))],
        [("lr", LRScheduler("StepLR", step_size=1, gamma=0.5))],
        [
            (
                "warm",
                LRScheduler(
                    "CyclicLR",
                    base_lr=1e-3,
                    max_lr=1e-2,
                    step_size_up=3,
                    step_every="batch",
                ),
            ),
            ("decay", LRScheduler("ExponentialLR", gamma=0.7)),
        ],
    ],
    ids=["cosine", "step", "batch-and-epoch"],
)
def test_resumed_learning_rate_schedule_continues_where_it_stopped(
    blobs, tmp_path, schedules
):
    X, y = blobs
    uninterrupted = tiny(callbacks=schedules, optimizer=torch.optim.SGD)
    uninterrupted.fit(X, y)

    with pytest.raises(Killed):
        tiny(
            checkpoint_dir=tmp_path,
            callbacks=[*schedules, ("kill", KillAfter(2))],
            optimizer=torch.optim.SGD,
        ).fit(X, y)
    resumed = tiny(
        checkpoint_dir=tmp_path, callbacks=schedules, optimizer=torch.optim.SGD
    )
    resumed.fit(X, y)

    # the rate each epoch trained at, and so the model, as if never stopped
    def rates(net):
        return [group["lr"] for group in net.optimizer_.param_groups]

    assert rates(resumed) == rates(uninterrupted)
    assert_same_training(resumed.predict_proba(X), uninterrupted.predict_proba(X))


def test_resumed_plateau_schedule_continues_where_it_stopped(blobs, tmp_path):
    X, y = blobs
    # no loss improves by 10: the rate halves after every epoch but the first
    halving = LRScheduler(
        "ReduceLROnPlateau",
        monitor="train_loss",
        factor=0.5,
        patience=0,
        threshold=10,
        threshold_mode="abs",
    )
    plateau = [("lr", halving)]
    options = {"optimizer": torch.optim.SGD, "lr": 0.1, "checkpoint_dir": tmp_path}
    with pytest.raises(Killed):
        tiny(callbacks=[*plateau, ("kill", KillAfter(2))], **options).fit(X, y)
    resumed = tiny(callbacks=plateau, **options).fit(X, y)
    # halved after epochs 2, 3 and 4, as if never stopped (skorch alone
    # would restart the plateau at epoch 3 and reach 0.05)
    assert resumed.optimizer_.param_groups[0]["lr"] == 0.1 * 0.5**3
    assert resumed.history[:, "train_loss"] == pytest.approx(
        tiny(callbacks=plateau, **{**options, "checkpoint_dir": None})
        .fit(X, y)
        .history[:, "train_loss"],
        rel=0,
        abs=0,
    )


def test_checkpointing_does_not_change_training(blobs, tmp_path):
    X, y = blobs
    plain = tiny(max_epochs=2).fit(X, y).predict_proba(X)
    with_cp = tiny(max_epochs=2, checkpoint_dir=tmp_path).fit(X, y).predict_proba(X)
    assert_same_training(plain, with_cp)


def test_random_state_instance_gives_distinct_fits(blobs):
    X, y = blobs
    rng = np.random.RandomState(0)
    clf = tiny(max_epochs=1, random_state=rng)
    a = clf.fit(X, y).predict_proba(X)
    b = clf.fit(X, y).predict_proba(X)
    assert not np.array_equal(a, b)
