"""Callbacks that hepclf's networks add to skorch's defaults."""

from __future__ import annotations

import numpy as np
import torch
from skorch.callbacks import Callback


def accuracy_on_codes(net, X, y):
    """Score validation accuracy against the encoded labels skorch holds in fit."""
    return float(np.mean(net.predict_proba(X).argmax(axis=1) == np.asarray(y)))


class EpochSeed(Callback):
    """Reseed torch at every epoch from the net's seed and the epoch number.

    Each epoch's shuffling, dropout and noise then depend on (seed, epoch)
    alone, so a run resumed from a checkpoint repeats the epochs it missed
    exactly as an uninterrupted run would have.
    """

    def on_epoch_begin(self, net, **kwargs):
        seed = getattr(net, "random_seed_", None)
        if seed is not None:
            state = np.random.SeedSequence([seed, len(net.history)]).generate_state(1)
            torch.manual_seed(int(state[0]))
