"""How well J/psi and non-resonant events can be told apart from the truth.

The drift-chamber study (``hits.py``) separates psi(3686) -> pi pi J/psi
events from the non-resonant e+e- -> pi pi mu mu (four-body phase space) with
images of their hits. This script asks what the best possible separation is
when the four charged tracks' true momenta are known exactly, and how much of
it lives in the transverse plane, which is all an (x, y) image of axial wires
can see (the longitudinal momenta show only through the stereo wires' small
offsets and the path length in each cell):

* ``pt``: the four transverse momenta, sorted;
* ``transverse``: adds each track's azimuth relative to the leading one and
  its charge relative to the leading one's (everything in the transverse
  plane);
* ``momenta``: the four momentum magnitudes, sorted;
* ``full``: the transverse features and the four longitudinal momenta.

For each feature set a ``HistGradientBoostingClassifier`` (its own early
stopping on a tenth of the training events) is trained on one sample and
scored on an independent one (equal numbers of J/psi -> ee, J/psi -> mumu and
non-resonant events; J/psi events are the positives); the errors are
stratified bootstraps over the scored events. An AUC here is a lower bound on
the ideal classifier's (a boosted-tree estimate with finite training events).

Run::

    python benchmarks/hits_ceiling.py --n-events 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from hepclf.datasets import make_drift_chamber_events

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import bootstrap

PROCESSES = ("jpsi_ee", "jpsi_mumu", "pipimumu")
CHARGED = ("pi+", "pi-", "e+", "e-", "mu+", "mu-")
FEATURE_SETS = ("pt", "transverse", "momenta", "full")


def truth_momenta(process, n_events, seed):
    """``(n_events, 4, 4)`` (px, py, pz, charge) of the charged tracks by pT."""
    truth = make_drift_chamber_events(
        process, n_events, random_state=seed, noise_occupancy=0.0, progress=False
    ).truth
    rows = truth[truth["particle"].isin(CHARGED)]
    counts = np.bincount(rows["event"], minlength=n_events)
    if not (counts == 4).all():
        raise RuntimeError(f"{process}: events without four charged tracks")
    px, py, pz = (rows[c].to_numpy() for c in ("px", "py", "pz"))
    charge = np.where(rows["particle"].str.endswith("+"), 1.0, -1.0)
    tracks = np.stack([px, py, pz, charge], axis=-1)
    event = rows["event"].to_numpy()
    order = np.lexsort((-np.hypot(px, py), event))
    return tracks[order].reshape(n_events, 4, 4)


def features(tracks, kind):
    """The feature set ``kind`` of :data:`FEATURE_SETS` for each event."""
    px, py, pz, charge = np.moveaxis(tracks, -1, 0)
    pt = np.hypot(px, py)
    if kind == "pt":
        return pt
    if kind == "momenta":
        return np.sort(np.sqrt(pt**2 + pz**2), axis=1)
    phi = np.arctan2(py, px)
    dphi = np.angle(np.exp(1j * (phi[:, 1:] - phi[:, :1])))
    transverse = np.hstack([pt, dphi, charge[:, 1:] * charge[:, :1]])
    if kind == "transverse":
        return transverse
    if kind == "full":
        return np.hstack([transverse, pz])
    raise ValueError(f"unknown feature set {kind!r}")


def sample(n_events, seed):
    """Tracks of ``n_events`` per process and the labels (1: J/psi)."""
    seeds = np.random.SeedSequence(seed).spawn(len(PROCESSES))
    tracks = np.concatenate(
        [
            truth_momenta(p, n_events, int(s.generate_state(1)[0]))
            for p, s in zip(PROCESSES, seeds, strict=True)
        ]
    )
    y = np.repeat([1, 1, 0], n_events)
    return tracks, y


def _auc(y, proba):
    return float(roc_auc_score(y, proba))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-events", type=int, default=20_000, help="per process")
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    start = time.perf_counter()
    train, y_train = sample(args.n_events, [args.seed, 0])
    test, y_test = sample(args.n_events, [args.seed, 1])
    print(
        f"J/psi (ee + mumu) vs non-resonant pi pi mu mu from the true momenta of "
        f"the four charged tracks: {len(y_train)} training and {len(y_test)} "
        f"scored events (simulated in {time.perf_counter() - start:.1f} s)\n"
    )
    print(f"{'features':<12}{'inputs':>7}{'AUC':>8}{'± test':>8}")
    results = {}
    for kind in FEATURE_SETS:
        X_train, X_test = features(train, kind), features(test, kind)
        clf = HistGradientBoostingClassifier(
            max_iter=1000, learning_rate=0.05, early_stopping=True, random_state=0
        ).fit(X_train, y_train)
        proba = clf.predict_proba(X_test)[:, 1]
        auc, err = bootstrap(_auc, y_test, proba, n_boot=args.n_boot, seed=0)
        results[kind] = auc
        print(f"{kind:<12}{X_train.shape[1]:>7}{auc:>8.4f}{err:>8.4f}")
    print(
        "\nAUC: a boosted-tree estimate of the best separation (a lower bound); "
        "± test: stratified bootstrap over the scored events."
    )
    return results


if __name__ == "__main__":
    main()
