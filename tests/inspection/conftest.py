"""A toy whose answer is known: only one 2 x 2 patch tells the classes apart."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from hepclf import CNNClassifier

#: the patch (rows, columns) that carries the signal in ``patch_images``
PATCH = (slice(2, 4), slice(8, 10))


def patch_images(n=200, seed=0):
    """Faint uniform noise everywhere; "photon" images also have a bright patch."""
    rng = np.random.default_rng(seed)
    X = (0.3 * rng.random((n, 1, 12, 12))).astype(np.float32)
    y = np.where(np.arange(n) % 2, "photon", "electron")
    X[y == "photon", 0, PATCH[0], PATCH[1]] += 1.5
    return X, y


#: the small network (and its training) that learns the patch toys
SMALL_CNN = {
    "lr": 3e-3,
    "batch_size": 32,
    "module__conv_blocks": ((8,),),
    "module__pool_size": 2,
    "module__dense": (16,),
    "module__dropout": 0.0,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def patch_data():
    return patch_images()


@pytest.fixture(scope="module")
def patch_classifier(patch_data):
    """A small CNN trained to tell the classes apart (100 % on its training set)."""
    X, y = patch_data
    clf = CNNClassifier(max_epochs=15, **SMALL_CNN)
    clf.fit(X, y)
    assert (clf.predict(X) == y).all()
    return clf


class LinearNet(nn.Module):
    """Logits ``W @ x.flatten()`` with no bias: every attribution has a closed form."""

    def __init__(self, in_channels=1, image_size=4, n_classes=2):
        super().__init__()
        height, width = (
            (image_size, image_size) if np.isscalar(image_size) else image_size
        )
        self.linear = nn.Linear(in_channels * height * width, n_classes, bias=False)

    def forward(self, x):
        return self.linear(x.flatten(1))


def linear_classifier(weight, classes=("a", "b"), device="cpu"):
    """A CNNClassifier whose module is ``LinearNet`` with the given weights.

    ``weight`` has shape ``(n_classes, n_channels, height, width)``.
    """
    weight = np.asarray(weight, dtype=np.float32)
    rng = np.random.default_rng(0)
    X = rng.random((8, *weight.shape[1:])).astype(np.float32)
    y = np.resize(np.asarray(classes), len(X))
    clf = CNNClassifier(LinearNet, max_epochs=1, random_state=0, device=device)
    clf.fit(X, y)
    with torch.no_grad():
        clf.module_.linear.weight.copy_(
            torch.as_tensor(weight.reshape(len(weight), -1))
        )
    return clf
