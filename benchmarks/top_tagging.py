"""Top-tagging benchmark: hepclf's taggers against the classic baselines.

Every tagger is an sklearn estimator (a ``Pipeline`` from jet constituents to a
class probability) trained with ``fit`` on the same training jets and scored
with ``predict_proba`` on the same evaluation jets, one table per detector
level:

* ``mass_cut``: a window on the (ungroomed) jet mass, score ``-|m - 172.5 GeV|``;
* ``tau32_cut``: a cut on the N-subjettiness ratio, score ``-tau32``;
* ``bdt_m_tau32``, ``bdt_m_tau21_tau32``: ``HistGradientBoostingClassifier``
  on ``SubstructureFeatures`` (m, tau32) and (m, tau21, tau32), its
  hyperparameters tuned on the validation jets (``BDT_GRID``);
* ``jetcnn``: ``make_pipeline(JetImager(), CNNClassifier())``, the defaults;
* ``resnet``: the seed-000 ResNet on the same 40x40 images, three stages of two
  residual blocks (16, 32, 64 filters at 40x40, 20x20, 10x10);
* the jet-image variants compared on the validation jets (``VARIANTS``:
  batch normalisation, a cosine learning-rate decay, two channels,
  square-rooted pixels, 64x64 images, wider layers, 15 epochs), and ``best``,
  the variant chosen on them;
* ``part``: ``ConstituentSequencer`` and the ``ParticleTransformer`` on the
  64 hardest constituents of each jet (see ``build_part``);
* ``part_cnn``: the soft vote (mean probability) of ``part`` and ``best``.

The protocol: three independent samples, ``train``, ``val`` and ``test``.
Every choice (the variant that becomes ``best``, epochs, ensembles, votes,
the BDT's hyperparameters) is made on ``--split val`` runs; the final table
is scored once with ``--split test`` on jets that played no part in any
choice. Networks are trained with several seeds (``--seeds 0 1 2``): the
table gives the mean over seeds, the spread between seeds and the bootstrap
spread over the evaluation jets; ``--compare A:B`` adds the paired bootstrap
of the AUC difference of two taggers on the same jets, per seed.

Columns: ROC AUC and background rejection ``1/eps_B`` at ``eps_S = 0.3`` and
0.5; training time (wall clock, ``fit`` from constituents, imaging and
features included) and inference speed (``predict_proba`` from constituents,
jets/s, the median of ``--timing-repeats`` passes after a warm-up pass).

Jets: generated with ``make_top_tagging`` at particle level and through the
``SimpleDetector`` (``--levels particle simple``), in shards of
``--shard-jets`` jets cached as HDF5 files in ``--cache-dir`` (default
``<output-dir>/cache``; file names carry ``DATA_VERSION`` and hepclf's
version), so reruns reuse what was made. The two levels use the same Pythia
seeds, hence the same events (the detector applied to the same particles);
the three splits come from independent seeds. Or ``--data FILE [FILE ...]``:
files in the public top-tagging layout, whose ``ttv`` column gives the split
(0 = train, 1 = val, 2 = test); or ``--data FILE.npz``: one NumPy file with
``X_train``, ``y_train``, ``X_val``, ``y_val``, ``X_test``, ``y_test``
(constituents ``(E, px, py, pz)``, labels 1 = top).

Writes to ``--output-dir``, per level and split: ``<level>_<split>.md``,
``.csv``, ``.json`` (rows, paired differences, BDT tuning and run metadata),
``_roc.png`` and ``_scores.npz`` (labels and every seed's scores); and
``results_<split>.md`` with all tables.

Small run (about 20 min on 2 CPU cores): ``python benchmarks/top_tagging.py``
The published run: see ``docs/user_guide/top_tagging_benchmark.rst``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, LRScheduler
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import inference_rate, machine

import hepclf
from hepclf import CNNClassifier, ConstituentSequencer, JetImager
from hepclf.datasets import load_top_tagging, make_top_tagging
from hepclf.metrics import (
    background_efficiency,
    bootstrap_difference,
    bootstrap_metric,
    roc_auc,
)
from hepclf.substructure import SubstructureFeatures

#: Top-quark mass in GeV, the centre of the mass window.
TOP_MASS = 172.5

LEVELS = ("particle", "simple")
SPLITS = ("train", "val", "test")
WORKING_POINTS = (0.3, 0.5)

#: Version of the generated samples, part of every shard's seed and cache file
#: name. 2: train, val and test from independent seeds; both detector levels
#: from the same Pythia events (version 1 seeded each level separately and had
#: no validation split).
DATA_VERSION = 2

SMALL = {"n_train": 4_000, "n_val": 2_000, "n_test": 2_000}
FULL = {"n_train": 100_000, "n_val": 20_000, "n_test": 40_000}

#: The BDTs' hyperparameter grid, searched on the validation jets. The first
#: point is scikit-learn's defaults.
BDT_GRID = [
    {"learning_rate": [0.1], "max_leaf_nodes": [31], "min_samples_leaf": [20]},
    {
        "learning_rate": [0.03, 0.1, 0.3],
        "max_leaf_nodes": [15, 63],
        "min_samples_leaf": [20, 200],
        "max_iter": [300],
    },
]

#: Pairs of taggers whose AUC difference is bootstrapped by default.
COMPARE = ("best:jetcnn", "jetcnn:bdt_m_tau21_tau32", "best:bdt_m_tau21_tau32")

#: Batch size of the networks' training and ``predict_proba`` (CNNClassifier's
#: default; the particle transformer trains in batches of 256).
BATCH_SIZE = 128

#: Default jets per generated (and cached) file.
SHARD_JETS = 2_000

#: Rows read at a time from a user's HDF5 file.
READ_CHUNK = 100_000

#: Jet-image CNN variants compared on the validation jets: JetImager and
#: JetCNN options (see ``build_cnn``), 10 epochs unless stated.
VARIANTS = {
    "cnn_bn": {"batch_norm": True},
    "cnn_cosine": {"cosine": True},
    "cnn_2ch": {"intensity": ("pt", "count")},
    "cnn_sqrt": {"sqrt": True},
    "cnn_bn_cosine": {"batch_norm": True, "cosine": True},
    "cnn_bn_cosine_2ch": {
        "batch_norm": True,
        "cosine": True,
        "intensity": ("pt", "count"),
    },
    "cnn_bn_cosine_npix64": {"batch_norm": True, "cosine": True, "npix": 64},
    "cnn_bn_cosine_wide": {"batch_norm": True, "cosine": True, "wide": True},
    "cnn_bn_cosine_15ep": {"batch_norm": True, "cosine": True, "epochs": 15},
}

#: The variant chosen on the validation jets (docs: "What was tried").
BEST = "cnn_bn_cosine"

#: Tagger names, in table order, with the label used in tables and plots.
TAGGERS = {
    "mass_cut": "mass window around 172.5 GeV",
    "tau32_cut": "tau32 cut",
    "bdt_m_tau32": "BDT (m, tau32), tuned",
    "bdt_m_tau21_tau32": "BDT (m, tau21, tau32), tuned",
    "jetcnn": "JetImager + CNNClassifier (defaults)",
    "resnet": "JetImager + ResNet (16, [2, 2, 2])",
    "cnn_bn": "CNN: batch norm",
    "cnn_cosine": "CNN: cosine learning-rate decay",
    "cnn_2ch": "CNN: two channels (pT, count)",
    "cnn_sqrt": "CNN: square-rooted pixels",
    "cnn_bn_cosine": "CNN: batch norm + cosine decay",
    "cnn_bn_cosine_2ch": "CNN: batch norm + cosine, two channels",
    "cnn_bn_cosine_npix64": "CNN: batch norm + cosine, 64 x 64 pixels",
    "cnn_bn_cosine_wide": "CNN: batch norm + cosine, wider layers",
    "cnn_bn_cosine_15ep": "CNN: batch norm + cosine, 15 epochs",
    "best": f"best CNN ({BEST}, chosen on validation jets)",
    "part": "ParticleTransformer on the 64 hardest constituents",
    "part_cnn": "soft vote: ParticleTransformer + best CNN",
}

#: Taggers trained once whatever ``--seeds`` (no randomness in training).
DETERMINISTIC = ("mass_cut", "tau32_cut")

#: The default taggers of a run: the baselines, the defaults and ``best``.
DEFAULT_TAGGERS = (
    "mass_cut",
    "tau32_cut",
    "bdt_m_tau32",
    "bdt_m_tau21_tau32",
    "jetcnn",
    "resnet",
    "best",
)

#: Constituents per jet seen by the particle-level taggers.
PART_PARTICLES = 64


# --------------------------------------------------------------------------
# Taggers
# --------------------------------------------------------------------------


class CutTagger(ClassifierMixin, BaseEstimator):
    """A cut on one observable, as a classifier.

    The score is ``-|x - center|`` (a window around ``center``) or, with
    ``center=None``, ``sign * x``; a tighter cut keeps jets with a higher
    score. ``predict_proba`` maps the score monotonically into (0, 1) (a
    logistic function of the score standardised on the training jets), so
    the ROC curve is that of the cut.

    Parameters
    ----------
    center : float or None, default=None
        Centre of the window (same units as the observable).
    sign : float, default=1.0
        Direction of a one-sided cut: +1 keeps large values, -1 small ones.
    """

    def __init__(self, *, center=None, sign=1.0):
        self.center = center
        self.sign = sign

    def _score(self, X):
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 1:
            raise ValueError(f"CutTagger takes one observable, got shape {x.shape}")
        x = x[:, 0]
        return -np.abs(x - self.center) if self.center is not None else self.sign * x

    def fit(self, X, y):
        """Store the classes and the score's median and spread on the training jets."""
        score = self._score(X)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError(f"CutTagger needs two classes, got {self.classes_}")
        self.offset_ = float(np.median(score))
        self.scale_ = float(np.std(score)) or 1.0
        return self

    def decision_function(self, X):
        """The cut variable: higher is more signal-like."""
        check_is_fitted(self)
        return self._score(X)

    def predict_proba(self, X):
        """``(1 - p, p)`` with ``p`` increasing with the score."""
        p = expit((self.decision_function(X) - self.offset_) / self.scale_)
        return np.column_stack([1 - p, p])

    def predict(self, X):
        """The signal class where ``p > 0.5``."""
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


class EpochProgress(Callback):
    """A tqdm bar over the epochs of a CNN (display only; changes no training)."""

    def __init__(self, desc="epochs"):
        self.desc = desc

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.bar_ = tqdm(
            total=net.max_epochs, desc=self.desc, unit="epoch", leave=False
        )

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        self.bar_.update()
        self.bar_.set_postfix(loss=f"{net.history[-1, 'train_loss']:.4f}")

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.bar_.close()


def _progress(desc):
    return [("progress", EpochProgress(desc))]


def build_cnn(
    *,
    epochs,
    seed,
    batch_norm=False,
    cosine=False,
    intensity="pt",
    sqrt=False,
    npix=40,
    wide=False,
    desc="cnn",
):
    """A JetImager -> JetCNN pipeline with the options of ``VARIANTS``.

    ``batch_norm``: batch normalisation after every convolution; ``cosine``: a
    cosine learning-rate decay over ``epochs``; ``intensity``: the imager's
    channels; ``sqrt``: square-rooted pixel values; ``npix``: image size;
    ``wide``: convolutions 32-32 / 64-128 and three dense layers of 256.
    """
    module = {"module__batch_norm": True} if batch_norm else {}
    if wide:
        module.update(
            module__conv_blocks=((32, 32), (64, 128)), module__dense=(256,) * 3
        )
    callbacks = _progress(desc)
    if cosine:
        callbacks = [
            ("lr", LRScheduler(policy="CosineAnnealingLR", T_max=epochs)),
            *callbacks,
        ]
    steps = [JetImager(npix=npix, intensity=intensity)]
    if sqrt:
        steps.append(FunctionTransformer(np.sqrt))
    steps.append(
        CNNClassifier(
            max_epochs=epochs, random_state=seed, callbacks=callbacks, **module
        )
    )
    return make_pipeline(*steps)


def build_variant(name, *, epochs, seed):
    """The jet-image variant ``name`` of ``VARIANTS`` (its own epochs if it says)."""
    options = dict(VARIANTS[name])
    epochs = options.pop("epochs", epochs)
    return build_cnn(epochs=epochs, seed=seed, desc=name, **options)


def build_best(*, epochs, seed, n_models=1):
    """The variant chosen on the validation jets (``BEST``).

    With ``n_models > 1``, the soft vote (mean probability) of that many such
    networks with consecutive seeds.
    """
    if n_models == 1:
        return build_variant(BEST, epochs=epochs, seed=seed)
    return VotingClassifier(
        [
            (f"seed{k}", build_variant(BEST, epochs=epochs, seed=seed + k))
            for k in range(n_models)
        ],
        voting="soft",
    )


def build_part(*, epochs, seed):
    """The particle-level tagger: a ``ParticleTransformer`` on the hardest constituents.

    ``ConstituentSequencer(max_particles=64)`` then
    ``CNNClassifier("particle_transformer")`` (the module's defaults: four
    self-attention blocks of width 64 with pairwise-feature attention bias, two
    class-attention blocks), trained in batches of 256 jets with AdamW
    (learning rate 1e-3, weight decay 0.01) and a cosine learning-rate decay
    over ``epochs`` epochs.
    """
    return make_pipeline(
        ConstituentSequencer(max_particles=PART_PARTICLES),
        CNNClassifier(
            "particle_transformer",
            optimizer=torch.optim.AdamW,
            optimizer__weight_decay=0.01,
            batch_size=256,
            max_epochs=epochs,
            random_state=seed,
            callbacks=[
                ("lr", LRScheduler(policy="CosineAnnealingLR", T_max=epochs)),
                *_progress("part"),
            ],
        ),
    )


def build_tagger(name, *, epochs, seed, ensemble=1, bdt_params=None):
    """A fresh, unfitted estimator for tagger ``name`` (see ``TAGGERS``).

    ``bdt_params``: the hyperparameters of the BDTs (scikit-learn's defaults
    when None).
    """
    if name == "mass_cut":
        return make_pipeline(
            SubstructureFeatures(features=["mass"]), CutTagger(center=TOP_MASS)
        )
    if name == "tau32_cut":
        return make_pipeline(
            SubstructureFeatures(features=["tau32"]), CutTagger(sign=-1)
        )
    if name in BDT_FEATURES:
        return make_pipeline(
            SubstructureFeatures(features=list(BDT_FEATURES[name])),
            HistGradientBoostingClassifier(random_state=seed, **(bdt_params or {})),
        )
    if name == "jetcnn":
        return make_pipeline(
            JetImager(),
            CNNClassifier(
                max_epochs=epochs, random_state=seed, callbacks=_progress("jetcnn")
            ),
        )
    if name == "resnet":
        return make_pipeline(
            JetImager(),
            CNNClassifier(
                "resnet",
                module__base_filters=16,
                module__blocks=(2, 2, 2),
                max_epochs=epochs,
                random_state=seed,
                callbacks=_progress("resnet"),
            ),
        )
    if name in VARIANTS:
        return build_variant(name, epochs=epochs, seed=seed)
    if name == "best":
        return build_best(epochs=epochs, seed=seed, n_models=ensemble)
    if name == "part":
        return build_part(epochs=epochs, seed=seed)
    if name == "part_cnn":
        return VotingClassifier(
            [
                ("part", build_part(epochs=epochs, seed=seed)),
                ("cnn", build_best(epochs=epochs, seed=seed)),
            ],
            voting="soft",
        )
    raise ValueError(f"unknown tagger {name!r}; choose from {list(TAGGERS)}")


#: The observables each BDT takes.
BDT_FEATURES = {
    "bdt_m_tau32": ("mass", "tau32"),
    "bdt_m_tau21_tau32": ("mass", "tau21", "tau32"),
}


def tune_bdt(name, X_train, y_train, X_val, y_val, *, seed):
    """Search ``BDT_GRID`` for BDT ``name`` on the validation jets.

    Returns the hyperparameters with the highest validation AUC and the list of
    ``{"params", "val_auc"}`` tried (the observables are computed once).
    """
    features = SubstructureFeatures(features=list(BDT_FEATURES[name]))
    F_train, F_val = features.fit_transform(X_train), features.transform(X_val)
    trials = []
    for params in ParameterGrid(BDT_GRID):
        model = HistGradientBoostingClassifier(random_state=seed, **params)
        model.fit(F_train, y_train)
        auc = roc_auc(y_val, model.predict_proba(F_val)[:, 1])
        trials.append({"params": params, "val_auc": auc})
    best = max(trials, key=lambda t: t["val_auc"])
    return best["params"], trials


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def _shard_sizes(n, shard_jets):
    return [shard_jets] * (n // shard_jets) + (
        [n % shard_jets] if n % shard_jets else []
    )


def _shard_seed(seed, split, k):
    """Generator seed of shard ``k`` of a split: the same at every detector level.

    Splits and shards get independent seeds; the two levels share them, so
    they are made from the same Pythia events. ``DATA_VERSION`` is part of
    the seed: a new version never reuses an old sample.
    """
    entropy = [DATA_VERSION, seed, SPLITS.index(split), k]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _cache_name(level, split, seed, k, size):
    """The cache file of a shard: named by data version and hepclf's version."""
    return (
        f"v{DATA_VERSION}_hepclf{hepclf.__version__}_{level}_{split}_seed{seed}"
        f"_shard{k:04d}_n{size}.h5"
    )


def generated_jets(level, split, n, *, seed, cache_dir, shard_jets, n_jobs):
    """``n`` balanced jets of a level and split, generated once and then cached.

    The jets come in shards of ``shard_jets`` (the last one smaller), each
    generated with its own seed (``_shard_seed``) and written to ``cache_dir``;
    a shard already there is read back instead of generated again.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    Xs, ys = [], []
    made = 0
    with tqdm(total=n, desc=f"{level} {split} jets", unit="jet") as bar:
        for k, size in enumerate(_shard_sizes(n, shard_jets)):
            path = cache_dir / _cache_name(level, split, seed, k, size)
            if not path.exists():
                part = path.with_name(path.name + ".part")
                part.unlink(missing_ok=True)
                make_top_tagging(
                    size,
                    detector=level,
                    random_state=_shard_seed(seed, split, k),
                    n_jobs=n_jobs,
                    path=part,
                    progress=False,
                )
                os.replace(part, path)
                made += size
            X, y = load_top_tagging(path)
            Xs.append(X)
            ys.append(y)
            bar.update(size)
    if made:
        tqdm.write(f"{level} {split}: generated {made} jets, cached in {cache_dir}")
    else:
        tqdm.write(f"{level} {split}: {n} jets read from the cache {cache_dir}")
    return np.concatenate(Xs), np.concatenate(ys)


def _n_rows(path):
    import pandas as pd

    with pd.HDFStore(path, mode="r") as store:
        storer = store.get_storer("table")
        return int(storer.nrows if storer.nrows is not None else storer.shape[0])


def _first_per_class(y, wanted):
    """Mask of the first ``wanted[c]`` jets of each class ``c``, in file order."""
    keep = np.zeros(len(y), dtype=bool)
    for c, n in wanted.items():
        keep[np.flatnonzero(y == c)[: max(n, 0)]] = True
    return keep


def npz_jets(path, split, n):
    """Up to ``n`` balanced jets of a split from a NumPy ``.npz`` file.

    The file holds ``X_<split>`` and ``y_<split>`` for ``train``, ``val`` and
    ``test``:
    constituents ``(E, px, py, pz)`` of shape ``(n_jets, n_constituents, 4)``
    and 0/1 labels (1 = top). The first ``n // 2`` QCD and ``n - n // 2`` top
    jets are taken, in file order; ``n = -1`` takes them all.
    """
    with np.load(path) as data:
        missing = {f"X_{split}", f"y_{split}"} - set(data.files)
        if missing:
            raise SystemExit(f"{path} has no {sorted(missing)} (it holds {data.files})")
        X, y = data[f"X_{split}"], data[f"y_{split}"]
    if n >= 0:
        want = {0: n // 2, 1: n - n // 2}
        keep = _first_per_class(y, want)
        X, y = X[keep], y[keep]
        for c, wanted in want.items():
            if (have := int((y == c).sum())) < wanted:
                tqdm.write(
                    f"warning: {path} holds only {have} {split} jets of class {c}"
                )
    if len(np.unique(y)) != 2:
        raise SystemExit(f"the {split} split of {path} has fewer than two classes")
    return X, y


def file_jets(paths, split, n):
    """Up to ``n`` balanced jets of a ``ttv`` split from files in the public layout.

    Rows are read in file order (the public files are shuffled) until there
    are ``n // 2`` QCD and ``n - n // 2`` top jets; ``n = -1`` takes every jet
    of the split.
    """
    want = None if n < 0 else {0: n // 2, 1: n - n // 2}
    have = {0: 0, 1: 0}
    Xs, ys = [], []
    for path in paths:
        rows = _n_rows(path)
        for start in range(0, rows, READ_CHUNK):
            if want is not None and all(have[c] >= want[c] for c in want):
                break
            X, y = load_top_tagging(
                path, split=split, start=start, stop=start + READ_CHUNK
            )
            if want is not None:
                keep = _first_per_class(y, {c: want[c] - have[c] for c in want})
                X, y = X[keep], y[keep]
            for c in (0, 1):
                have[c] += int((y == c).sum())
            Xs.append(X)
            ys.append(y)
    X, y = np.concatenate(Xs), np.concatenate(ys)
    if want is not None and any(have[c] < want[c] for c in want):
        tqdm.write(
            f"warning: {split} split of {', '.join(map(str, paths))} holds only "
            f"{have[1]} top and {have[0]} QCD jets; using them all"
        )
    if len(np.unique(y)) != 2:
        raise SystemExit(f"the {split} split of the data has fewer than two classes")
    return X, y


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------


def fit_and_score(name, estimator, X_train, y_train, X_eval, *, timing_repeats):
    """Fit one tagger and score the evaluation jets; with timings."""
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    train_s = time.perf_counter() - start
    score = estimator.predict_proba(X_eval)[:, 1]
    rate = inference_rate(estimator, X_eval, timing_repeats) if timing_repeats else None
    return score, train_s, rate


def summarise(name, y_eval, seed_scores, train_s, rates, *, n_boot, boot_seed):
    """The table row of a tagger scored with one or more training seeds.

    AUC: mean over seeds, the standard deviation between seeds (``ddof=1``;
    None for one seed) and the bootstrap spread over the evaluation jets (mean
    over seeds). Rejection: ``1 / mean(eps_B)``, with both spreads propagated
    from ``eps_B``.
    """
    row = {"tagger": name, "description": TAGGERS.get(name, name)}
    row["seeds"] = len(seed_scores)
    aucs, boot = zip(
        *(
            bootstrap_metric(roc_auc, y_eval, sc, n_boot=n_boot, random_state=boot_seed)
            for sc in seed_scores
        ),
        strict=True,
    )
    row["auc_per_seed"] = list(aucs)
    row["auc"] = float(np.mean(aucs))
    row["auc_seed_std"] = float(np.std(aucs, ddof=1)) if len(aucs) > 1 else None
    row["auc_std"] = float(np.mean(boot))
    for eff in WORKING_POINTS:
        key = f"rejection_{round(eff * 100)}"
        eps, eps_boot = zip(
            *(
                bootstrap_metric(
                    background_efficiency,
                    y_eval,
                    sc,
                    signal_efficiency=eff,
                    n_boot=n_boot,
                    random_state=boot_seed,
                )
                for sc in seed_scores
            ),
            strict=True,
        )
        mean = float(np.mean(eps))
        if mean == 0:
            row[key] = row[key + "_std"] = float("inf")
            row[key + "_seed_std"] = None
            continue
        row[key] = 1.0 / mean
        row[key + "_std"] = (
            float("inf")
            if not np.isfinite(eps_boot).all()
            else np.mean(eps_boot) / mean**2
        )
        row[key + "_seed_std"] = (
            float(np.std(eps, ddof=1)) / mean**2 if len(eps) > 1 else None
        )
    row["train_s"] = float(np.mean(train_s))
    rates = [r for r in rates if r is not None]
    row["inference_jets_per_s"] = float(np.median(rates)) if rates else None
    row["n_eval"] = len(y_eval)
    row["n_background_eval"] = int(np.sum(y_eval == 0))
    return row


def compare(pairs, y_eval, scores, *, n_boot, boot_seed):
    """Paired bootstrap of the AUC difference of tagger pairs, per common seed.

    Returns one dict per pair ``"A:B"`` whose taggers both ran: the mean
    difference ``AUC(A) - AUC(B)`` over the seeds both have, its spread between
    seeds and the mean paired-bootstrap spread.
    """
    out = []
    for pair in pairs:
        a, b = pair.split(":")
        if a not in scores or b not in scores:
            continue
        n = min(len(scores[a]), len(scores[b]))
        diffs, boots = zip(
            *(
                bootstrap_difference(
                    roc_auc,
                    y_eval,
                    scores[a][k],
                    scores[b][k],
                    n_boot=n_boot,
                    random_state=boot_seed,
                )
                for k in range(n)
            ),
            strict=True,
        )
        out.append(
            {
                "pair": pair,
                "seeds": n,
                "auc_difference": float(np.mean(diffs)),
                "difference_per_seed": list(diffs),
                "seed_std": float(np.std(diffs, ddof=1)) if n > 1 else None,
                "paired_bootstrap_std": float(np.mean(boots)),
            }
        )
    return out


def _fmt_rejection(value, std, n_background):
    """``value ± std``; where no background passes, the bound ``> n_background``."""
    if not np.isfinite(value):
        return f"> {n_background:,}"
    digits = 0 if value >= 100 else 1
    err = "inf" if not np.isfinite(std) else f"{std:.{digits}f}"
    return f"{value:.{digits}f} ± {err}"


def _fmt_spread(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(rows):
    """The rows as a markdown table."""
    lines = [
        (
            "| tagger | seeds | AUC | ± seeds | ± eval. jets | 1/εB at εS = 0.3 "
            "| 1/εB at εS = 0.5 | training [s] | inference [jets/s] |"
        ),
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        rate = r["inference_jets_per_s"]
        lines.append(
            f"| {r['description']} | {r['seeds']} | {r['auc']:.4f} "
            f"| {_fmt_spread(r['auc_seed_std'], 4)} | {r['auc_std']:.4f} "
            f"| {_fmt_rejection(r['rejection_30'], r['rejection_30_std'], r['n_background_eval'])} "
            f"| {_fmt_rejection(r['rejection_50'], r['rejection_50_std'], r['n_background_eval'])} "
            f"| {r['train_s']:,.0f} | {'-' if rate is None else f'{rate:,.0f}'} |"
        )
    return "\n".join(lines)


def differences_table(diffs):
    """The paired AUC differences as a markdown table."""
    lines = [
        "| A - B | seeds | ΔAUC | ± seeds | ± paired bootstrap |",
        "|---|---:|---:|---:|---:|",
    ]
    for d in diffs:
        a, b = d["pair"].split(":")
        lines.append(
            f"| {a} - {b} | {d['seeds']} | {d['auc_difference']:+.4f} "
            f"| {_fmt_spread(d['seed_std'], 4)} | {d['paired_bootstrap_std']:.4f} |"
        )
    return "\n".join(lines)


def tuning_table(tuning):
    """Each BDT's validation AUC per hyperparameter point, best first."""
    lines = ["| BDT | hyperparameters | validation AUC |", "|---|---|---:|"]
    for name, trials in tuning.items():
        for t in sorted(trials, key=lambda t: -t["val_auc"]):
            params = ", ".join(f"{k}={v}" for k, v in sorted(t["params"].items()))
            lines.append(f"| {name} | {params} | {t['val_auc']:.4f} |")
    return "\n".join(lines)


def _header(level, split, source, rows, args):
    n_eval = rows[0]["n_eval"]
    timing = (
        f"inference: median of {args.timing_repeats} passes over the {split} jets "
        f"after one warm-up pass, batch {BATCH_SIZE}, "
        f"{torch.get_num_threads()} torch threads"
        if args.timing_repeats
        else "inference not timed"
    )
    return (
        f"## {level}, {split} split\n\n{source}; {args.n_train:,} training jets, "
        f"{n_eval:,} {split} jets (half top, half QCD); network epochs "
        f"{args.epochs}; training seeds {args.seeds}; ± seeds: standard deviation "
        f"between the seeds; ± eval. jets: bootstrap std over the {split} jets "
        f"({args.n_boot} resamples); {timing}."
    )


def plot_level(y_test, scores, title, path, *, dpi=100):
    """ROC curves (left) and rejection against efficiency (right) of every tagger."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepclf.plotting import plot_roc

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    labelled = {TAGGERS.get(k, k): v for k, v in scores.items()}
    plot_roc(y_test, labelled, kind="roc", ax=left)
    left.set_xscale("log")  # the region that matters: small background efficiency
    left.set_xlim(1e-4, 1)
    plot_roc(y_test, labelled, kind="rejection", ax=right)
    left.legend(fontsize=7, loc="upper left")
    right.legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_level(out, level, split, source, result, args, meta):
    """Write the tables, CSV, JSON, scores and ROC plot of one level and split."""
    rows, diffs, tuning = result["rows"], result["differences"], result["tuning"]
    stem = f"{level}_{split}"
    text = [_header(level, split, source, rows, args), markdown_table(rows)]
    if diffs:
        text += ["Paired AUC differences on the same jets:", differences_table(diffs)]
    if tuning:
        text += [
            "BDT hyperparameters, searched on the validation jets:",
            tuning_table(tuning),
        ]
    text = "\n\n".join(text)
    (out / f"{stem}.md").write_text(text + "\n")
    with open(out / f"{stem}.csv", "w", newline="") as f:
        fields = [k for k in rows[0] if k != "auc_per_seed"]
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    with open(out / f"{stem}.json", "w") as f:
        json.dump(
            {
                **meta,
                "level": level,
                "split": split,
                "data": source,
                "rows": rows,
                "differences": diffs,
                "bdt_tuning": tuning,
            },
            f,
            indent=2,
        )
    scores = result["scores"]
    np.savez_compressed(
        out / f"{stem}_scores.npz",
        y_eval=result["y_eval"],
        **{
            f"{name}_seed{k}": sc
            for name, seeds in scores.items()
            for k, sc in enumerate(seeds)
        },
    )
    if not args.no_plot:
        plot_level(
            result["y_eval"],
            {name: seeds[0] for name, seeds in scores.items()},
            f"top tagging, {level}, {split} jets: {args.n_train:,} training jets",
            out / f"{stem}_roc.png",
            dpi=args.dpi,
        )
    return text


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    for split in SPLITS:
        p.add_argument(
            f"--n-{split}",
            type=int,
            default=None,
            help=f"{split} jets per level (default {SMALL['n_' + split]:,}; --full: "
            f"{FULL['n_' + split]:,}); -1 with --data: the whole split",
        )
    p.add_argument(
        "--full",
        action="store_true",
        help="the full sizes (sets the defaults of --n-train, --n-val, --n-test)",
    )
    p.add_argument(
        "--split",
        choices=("val", "test"),
        default="val",
        help="score on the validation jets (every choice) or, once, on the test jets",
    )
    p.add_argument(
        "--levels",
        nargs="+",
        choices=LEVELS,
        default=list(LEVELS),
        help="generated detector levels",
    )
    p.add_argument(
        "--data",
        nargs="+",
        type=Path,
        default=None,
        metavar="FILE",
        help="use these top-tagging HDF5 files (ttv 0 = train, 1 = val, 2 = test), "
        "or one .npz file with X_train, y_train, X_val, y_val, X_test, y_test, "
        "instead of generating jets",
    )
    p.add_argument(
        "--taggers", nargs="+", choices=list(TAGGERS), default=list(DEFAULT_TAGGERS)
    )
    p.add_argument("--epochs", type=int, default=10, help="epochs of every network")
    p.add_argument(
        "--ensemble",
        type=int,
        default=1,
        help="networks in the 'best' tagger (soft vote of consecutive seeds)",
    )
    p.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="training seeds: every network tagger is trained once per seed",
    )
    p.add_argument(
        "--compare",
        nargs="*",
        default=list(COMPARE),
        metavar="A:B",
        help="tagger pairs whose AUC difference is bootstrapped (paired)",
    )
    p.add_argument(
        "--no-tune",
        action="store_true",
        help="BDTs with scikit-learn's defaults (no search on the validation jets)",
    )
    p.add_argument("--output-dir", type=Path, default=Path("top-tagging-benchmark"))
    p.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="where generated jets are cached (default OUTPUT_DIR/cache)",
    )
    p.add_argument(
        "--shard-jets",
        type=int,
        default=SHARD_JETS,
        help="jets per generated (and cached) file",
    )
    p.add_argument(
        "--n-jobs", type=int, default=-1, help="generator processes (-1: all cores)"
    )
    p.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seeds the generated jets and the bootstrap resamples",
    )
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples")
    p.add_argument(
        "--timing-repeats",
        type=int,
        default=3,
        help="timed predict_proba passes per tagger and seed (median; 0: no timing)",
    )
    p.add_argument("--dpi", type=int, default=100, help="resolution of the ROC plots")
    p.add_argument("--no-plot", action="store_true", help="skip the ROC plots")
    args = p.parse_args(argv)
    sizes = FULL if args.full else SMALL
    for split in SPLITS:
        key = f"n_{split}"
        value = sizes[key] if getattr(args, key) is None else getattr(args, key)
        setattr(args, key, value)
        if value == 0 or value < -1 or (value == -1 and args.data is None):
            p.error(f"--n-{split} must be positive (or -1 with --data)")
    if min(args.epochs, args.shard_jets, args.ensemble) < 1 or args.n_boot < 2:
        p.error("--epochs, --ensemble and --shard-jets must be >= 1, --n-boot >= 2")
    if args.timing_repeats < 0:
        p.error("--timing-repeats must be >= 0")
    for pair in args.compare:
        names = pair.split(":")
        if len(names) != 2 or not set(names) <= set(TAGGERS):
            p.error(f"--compare takes pairs A:B of tagger names, got {pair!r}")
    if len(set(args.seeds)) != len(args.seeds):
        p.error("--seeds must be distinct")
    args.cache_dir = args.cache_dir or args.output_dir / "cache"
    return args


def _datasets(args):
    """Yield ``(level, source, {split: (X, y)})`` with train, val and test jets."""
    if args.data is not None:
        names = ", ".join(p.name for p in args.data)
        if args.data[0].suffix == ".npz":
            if len(args.data) > 1:
                raise SystemExit("--data takes one .npz file")
            jets = {
                s: npz_jets(args.data[0], s, getattr(args, f"n_{s}")) for s in SPLITS
            }
            split = "X_train, X_val and X_test"
        else:
            jets = {s: file_jets(args.data, s, getattr(args, f"n_{s}")) for s in SPLITS}
            split = "ttv split"
        yield "data", f"jets from {names} ({split})", jets
        return
    kw = {
        "seed": args.data_seed,
        "cache_dir": args.cache_dir,
        "shard_jets": args.shard_jets,
        "n_jobs": args.n_jobs,
    }
    for level in args.levels:
        jets = {
            s: generated_jets(level, s, getattr(args, f"n_{s}"), **kw) for s in SPLITS
        }
        source = (
            f"`make_top_tagging(detector={level!r})` jets (Pythia 8, 14 TeV, "
            "anti-kT R = 0.8, 550 < pT < 650 GeV, MPI on; data version "
            f"{DATA_VERSION}, seed {args.data_seed})"
        )
        yield level, source, jets


def run_level(jets, args):
    """Train and score every tagger of one level; return the results."""
    (X_train, y_train), (X_val, y_val) = jets["train"], jets["val"]
    X_eval, y_eval = jets[args.split]
    scores, rows, tuning = {}, [], {}
    for name in tqdm(args.taggers, desc="taggers", unit="tagger"):
        bdt_params = None
        if name in BDT_FEATURES and not args.no_tune:
            bdt_params, tuning[name] = tune_bdt(
                name, X_train, y_train, X_val, y_val, seed=args.seeds[0]
            )
        seeds = args.seeds[:1] if name in DETERMINISTIC else args.seeds
        seed_scores, train_s, rates = [], [], []
        for seed in seeds:
            estimator = build_tagger(
                name,
                epochs=args.epochs,
                seed=seed,
                ensemble=args.ensemble,
                bdt_params=bdt_params,
            )
            score, seconds, rate = fit_and_score(
                name,
                estimator,
                X_train,
                y_train,
                X_eval,
                timing_repeats=args.timing_repeats,
            )
            seed_scores.append(score)
            train_s.append(seconds)
            rates.append(rate)
        scores[name] = seed_scores
        row = summarise(
            name,
            y_eval,
            seed_scores,
            train_s,
            rates,
            n_boot=args.n_boot,
            boot_seed=args.data_seed,
        )
        if bdt_params is not None:
            row["hyperparameters"] = bdt_params
        rows.append(row)
        tqdm.write(
            f"{name}: AUC {row['auc']:.4f} (seeds {_fmt_spread(row['auc_seed_std'], 4)}, "
            f"jets {row['auc_std']:.4f}), trained in {row['train_s']:.0f} s"
        )
        if len(seed_scores) > 1:  # the soft vote of the seeds, free to score
            vote = summarise(
                f"{name}_vote",
                y_eval,
                [np.mean(seed_scores, axis=0)],
                [float(np.sum(train_s))],
                [None],
                n_boot=args.n_boot,
                boot_seed=args.data_seed,
            )
            vote["description"] = (
                f"{TAGGERS[name]}, soft vote of its {len(seed_scores)} seeds"
            )
            rows.append(vote)
        yield {
            "rows": rows,
            "scores": scores,
            "y_eval": y_eval,
            "tuning": tuning,
            "differences": compare(
                args.compare,
                y_eval,
                scores,
                n_boot=args.n_boot,
                boot_seed=args.data_seed,
            ),
        }


def main(argv=None):
    """Run the benchmark; return ``{level: result}`` (rows, differences, ...)."""
    args = parse_args(argv)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python benchmarks/top_tagging.py "
        + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "hepclf": hepclf.__version__,
        "data_version": DATA_VERSION,
        "best": BEST,
        "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
        },
    }
    meta["args"]["data"] = None if args.data is None else [str(p) for p in args.data]
    results, texts = {}, []
    for level, source, jets in _datasets(args):
        result = None
        # write after every tagger, so a long run can be read while it goes
        for result in run_level(jets, args):
            text = write_level(out, level, args.split, source, result, args, meta)
        results[level] = result
        texts.append(text)
        print("\n" + text + "\n", flush=True)
    summary = (
        f"# Top-tagging benchmark ({args.split} split)\n\n`{meta['command']}`\n\n"
        f"{meta['date']}, {meta['machine']}\n\n" + "\n\n".join(texts) + "\n"
    )
    (out / f"results_{args.split}.md").write_text(summary)
    print(f"results written to {out}/")
    return results


if __name__ == "__main__":
    main()
