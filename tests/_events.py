"""Event-level test data and models shared by the event-imaging test modules."""

from __future__ import annotations

import numpy as np

from hepclf.imaging import OBJECT_TYPES, SEED_COLORS

SEED_TYPES = [OBJECT_TYPES[name] for name in SEED_COLORS if name != "background"]


def random_events(n=60, k=10, seed=0, eta_sigma=1.5, types=None):
    """Zero-padded (type, pt, eta, phi) events: padding rows anywhere, an empty
    event, objects near phi = +-pi and (eta_sigma) some beyond |eta| = 3.

    Edge cases rather than physics (benchmarks/bench_event_imaging.py's
    ``make_events`` draws events shaped like ttbar, W and Drell-Yan ones)."""
    rng = np.random.default_rng(seed)
    codes = rng.choice(types or list(OBJECT_TYPES.values()), (n, k)).astype(float)
    pt = rng.exponential(40.0, (n, k)) + 12.0
    eta = rng.normal(0, eta_sigma, (n, k))
    phi = rng.uniform(-np.pi, np.pi, (n, k))
    phi[: n // 4, :2] = np.pi - rng.uniform(0, 0.1, (n // 4, 2))
    codes[rng.random((n, k)) < 0.3] = 0
    codes[0] = 0
    X = np.stack([codes, pt, eta, phi], axis=-1)
    X[codes == 0, 1:] = 0.0
    return X


def small_cnn_pipeline(imager):
    """``Pipeline(imager, CNNClassifier)`` with a one-epoch, one-conv-layer CNN."""
    from sklearn.pipeline import make_pipeline

    from hepclf import CNNClassifier

    return make_pipeline(
        imager,
        CNNClassifier(
            max_epochs=1,
            random_state=0,
            module__conv_blocks=((4,),),
            module__pool_size=2,
            module__dense=(8,),
            module__dropout=0.0,
        ),
    )
