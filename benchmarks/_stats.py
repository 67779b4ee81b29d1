"""Uncertainties of the studies' tables: seed-to-seed spreads and bootstraps.

Every study (``events.py``, ``hits.py``, ``particles.py``) scores each model
trained with several seeds on one evaluation sample and reports, per metric,
the mean over seeds, the standard deviation between seeds and the stratified
bootstrap standard deviation over the evaluation events; a difference between
two models is bootstrapped paired (the same resampled events for both), seed
by seed. A metric is any ``metric(y, proba) -> float``.
"""

from __future__ import annotations

import numpy as np


def stratified_resamples(y, n_boot, seed):
    """Yield ``n_boot`` index arrays resampling each class with replacement."""
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    for _ in range(n_boot):
        yield np.concatenate([g[rng.integers(0, len(g), len(g))] for g in groups])


def bootstrap(metric, y, proba, *, n_boot, seed, other=None):
    """The metric (or its difference to ``other``) and its stratified bootstrap std."""

    def value(idx):
        v = metric(y[idx], proba[idx])
        return v - metric(y[idx], other[idx]) if other is not None else v

    full = value(np.arange(len(y)))
    reps = [value(idx) for idx in stratified_resamples(y, n_boot, seed)]
    return full, float(np.std(reps, ddof=1))


def _spread(values, boots, key):
    return {
        key: float(np.mean(values)),
        f"{key}_per_seed": [float(v) for v in values],
        f"{key}_seed_std": float(np.std(values, ddof=1)) if len(values) > 1 else None,
        f"{key}_std": float(np.mean(boots)),
    }


def summarise_metrics(metrics, y, probas, *, n_boot, seed):
    """Mean over seeds, seed std and mean bootstrap std of every metric.

    ``metrics`` maps a name to ``metric(y, proba)``; ``probas`` holds one
    probability array per training seed.
    """
    row = {}
    for key, metric in metrics.items():
        values, boots = zip(
            *(bootstrap(metric, y, p, n_boot=n_boot, seed=seed) for p in probas),
            strict=True,
        )
        row.update(_spread(values, boots, key))
    return row


def of_seed(probas, i):
    """Seed ``i``'s probabilities, or the only ones of a one-seed model."""
    return probas[i if len(probas) > 1 else 0]


def paired_differences(metrics, y, probas_a, probas_b, *, n_boot, seed):
    """A - B per metric, paired seed by seed (a single-seed side is reused)."""
    n = max(len(probas_a), len(probas_b))
    row = {"seeds": n}
    for key, metric in metrics.items():
        diffs, boots = zip(
            *(
                bootstrap(
                    metric,
                    y,
                    of_seed(probas_a, i),
                    n_boot=n_boot,
                    seed=seed,
                    other=of_seed(probas_b, i),
                )
                for i in range(n)
            ),
            strict=True,
        )
        row.update(_spread(diffs, boots, key))
        del row[f"{key}_per_seed"]
    return row


def pm(value, seed_std, boot_std, digits=3):
    """``value ± seeds ± bootstrap`` (the seed term left out for one seed)."""
    seeds = f" ± {seed_std:.{digits}f}" if seed_std is not None else ""
    return f"{value:.{digits}f}{seeds} ± {boot_std:.{digits}f}"


def pm_metric(row, key, digits=3):
    """``pm`` of a row's metric ``key`` (with its ``_seed_std`` and ``_std``)."""
    return pm(row[key], row[f"{key}_seed_std"], row[f"{key}_std"], digits)
