from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def top_sample():
    """A balanced 1,200-jet subset of the bundled top-tagging sample."""
    from hepclf.datasets import load_top_tagging

    X, y = load_top_tagging(split="train")
    rng = np.random.default_rng(0)
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(y == k), 600, replace=False) for k in (0, 1)]
    )
    keep = rng.permutation(keep)
    return X[keep], y[keep]
