from __future__ import annotations

import numpy as np
import pytest

from .._kinematics import p4

torch = pytest.importorskip("torch")

#: a small, fast network for tests: one conv block, one dense layer
TINY = {
    "module__conv_blocks": ((8,),),
    "module__pool_size": 2,
    "module__dense": (16,),
    "module__dropout": 0.0,
}


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def make_blob_images(n=400, size=16, n_classes=2, seed=0, channels=1):
    """Noise images; class k has a bright blob at a class-specific place."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = rng.random((n, channels, size, size)).astype(np.float32) * 0.5
    for k in range(n_classes):
        r = 3 + 4 * k
        X[y == k, :, r : r + 3, r : r + 3] += 1.0
    return X, y


@pytest.fixture(scope="module")
def blobs():
    return make_blob_images()


def assert_same_training(actual, expected):
    """Outputs of two trainings that should be the same model.

    Bitwise on the CPU; on CUDA to float32 rounding, since cuDNN's backward
    convolutions accumulate in a non-deterministic order (seen on an H200:
    differences of 1e-7).
    """
    if torch.cuda.is_available():
        np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(actual, expected)


#: a small, fast particle transformer for tests
SMALL = {
    "module__dim": 16,
    "module__n_heads": 2,
    "module__n_layers": 1,
    "module__n_class_layers": 1,
    "module__pair_dim": 8,
}


def prong_jets(n=400, seed=0, n_max=12):
    """Class 0: one hard prong; class 1: three prongs 0.4 apart. Soft spray on both."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.zeros((n, n_max, 4))
    for i in range(n):
        axes = [(0.0, 0.0)] if y[i] == 0 else [(0.0, 0.0), (0.4, 0.0), (0.0, 0.4)]
        parts = [p4(300.0 / len(axes), *a) for a in axes]
        for _ in range(rng.integers(2, n_max - 3)):
            parts.append(p4(rng.uniform(1, 5), *rng.normal(0, 0.3, 2)))
        rng.shuffle(parts)
        X[i, : len(parts)] = parts
    return X, y
