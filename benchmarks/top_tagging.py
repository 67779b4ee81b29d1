"""Top-tagging benchmark: hepclf's CNN taggers against the classic baselines.

Every tagger is an sklearn estimator (a ``Pipeline`` from jet constituents to a
class probability) trained with ``fit`` on the same training jets and scored
with ``predict_proba`` on the same test jets, one table per detector level:

* ``mass_cut``: a window on the (ungroomed) jet mass, score ``-|m - 172.5 GeV|``;
* ``tau32_cut``: a cut on the N-subjettiness ratio, score ``-tau32``;
* ``bdt_m_tau32``, ``bdt_m_tau21_tau32``: ``HistGradientBoostingClassifier``
  (defaults) on ``SubstructureFeatures`` (m, tau32) and (m, tau21, tau32);
* ``jetcnn``: ``make_pipeline(JetImager(), CNNClassifier())``, the defaults;
* ``resnet``: the seed-000 ResNet on the same 40x40 images, three stages of two
  residual blocks (16, 32, 64 filters at 40x40, 20x20, 10x10);
* ``best``: the best jet-image configuration found so far (see ``build_best``);
* ``part``: ``ConstituentSequencer`` and the ``ParticleTransformer`` on the
  64 hardest constituents of each jet (see ``build_part``);
* ``part_cnn``: the soft vote (mean probability) of ``part`` and ``best``.

Columns: ROC AUC and background rejection ``1/eps_B`` at ``eps_S = 0.3`` and
0.5, each with a bootstrap standard deviation over the test jets; training
time (wall clock, ``fit`` from constituents, imaging and features included)
and inference speed (``predict_proba`` from constituents, jets/s).

Jets: generated with ``make_top_tagging`` at particle level and through the
``SimpleDetector`` (``--levels particle simple``), in shards of
``--shard-jets`` jets cached as HDF5 files in ``--cache-dir`` (default
``<output-dir>/cache``), so reruns, and larger runs with the same ``--seed``,
reuse what was made; training and test jets come from independent seeds and
are balanced (half top, half QCD). Or ``--data FILE [FILE ...]``: files in the
public top-tagging layout (e.g. the reference data set's ``train.h5`` and
``test.h5``), whose ``ttv`` column gives the split (0 = train, 2 = test); or
``--data FILE.npz``: one NumPy file with ``X_train``, ``y_train``, ``X_test``
and ``y_test`` (constituents ``(E, px, py, pz)``, labels 1 = top).

Writes to ``--output-dir``: ``results.md`` (all tables), and per level
``<level>.md``, ``<level>.csv``, ``<level>.json`` (rows and run metadata),
``<level>_roc.png`` (ROC curves and rejection against signal efficiency of
every tagger) and
``<level>_scores.npz`` (test labels and scores).

Run (small, about 20 min on 2 CPU cores): ``python benchmarks/top_tagging.py``
Full particle-level run: ``python benchmarks/top_tagging.py --full --levels particle``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
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
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted
from skorch.callbacks import Callback, LRScheduler
from tqdm.auto import tqdm

from hepclf import CNNClassifier, ConstituentSequencer, JetImager
from hepclf.datasets import load_top_tagging, make_top_tagging
from hepclf.metrics import background_efficiency, bootstrap_metric, roc_auc
from hepclf.substructure import SubstructureFeatures

#: Top-quark mass in GeV, the centre of the mass window.
TOP_MASS = 172.5

LEVELS = ("particle", "simple")
SPLITS = ("train", "test")
WORKING_POINTS = (0.3, 0.5)

SMALL = {"n_train": 4_000, "n_test": 2_000}
FULL = {"n_train": 100_000, "n_test": 40_000}

#: Default jets per generated (and cached) file.
SHARD_JETS = 2_000

#: Rows read at a time from a user's HDF5 file.
READ_CHUNK = 100_000

#: Tagger names, in table order, with the label used in tables and plots.
TAGGERS = {
    "mass_cut": "mass window around 172.5 GeV",
    "tau32_cut": "tau32 cut",
    "bdt_m_tau32": "BDT (m, tau32)",
    "bdt_m_tau21_tau32": "BDT (m, tau21, tau32)",
    "jetcnn": "JetImager + CNNClassifier (defaults)",
    "resnet": "JetImager + ResNet (16, [2, 2, 2])",
    "best": "best CNN: JetCNN + batch norm, cosine LR",
    "part": "ParticleTransformer on the 64 hardest constituents",
    "part_cnn": "soft vote: ParticleTransformer + best CNN",
}

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


def build_best(*, epochs, seed, n_models=1):
    """The best hepclf configuration found (see the benchmark's user-guide page).

    The default JetImager and JetCNN with batch normalisation after every
    convolution, trained with a cosine learning-rate decay over ``epochs``
    epochs; with ``n_models > 1``, the soft vote (mean probability) of that
    many such networks with different seeds.
    """

    def member(k):
        cnn = CNNClassifier(
            max_epochs=epochs,
            random_state=seed + k,
            module__batch_norm=True,
            callbacks=[
                ("lr", LRScheduler(policy="CosineAnnealingLR", T_max=epochs)),
                *_progress(f"best {k + 1}/{n_models}"),
            ],
        )
        return make_pipeline(JetImager(), cnn)

    if n_models == 1:
        return member(0)
    return VotingClassifier(
        [(f"seed{k}", member(k)) for k in range(n_models)], voting="soft"
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


def build_tagger(name, *, epochs, seed, ensemble=1):
    """A fresh, unfitted estimator for tagger ``name`` (see ``TAGGERS``)."""
    if name == "mass_cut":
        return make_pipeline(
            SubstructureFeatures(features=["mass"]), CutTagger(center=TOP_MASS)
        )
    if name == "tau32_cut":
        return make_pipeline(
            SubstructureFeatures(features=["tau32"]), CutTagger(sign=-1)
        )
    if name == "bdt_m_tau32":
        return make_pipeline(
            SubstructureFeatures(features=["mass", "tau32"]),
            HistGradientBoostingClassifier(random_state=seed),
        )
    if name == "bdt_m_tau21_tau32":
        return make_pipeline(
            SubstructureFeatures(features=["mass", "tau21", "tau32"]),
            HistGradientBoostingClassifier(random_state=seed),
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


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------


def _shard_sizes(n, shard_jets):
    return [shard_jets] * (n // shard_jets) + (
        [n % shard_jets] if n % shard_jets else []
    )


def _shard_seed(seed, level, split, k):
    """Independent generator seed of shard ``k`` of a level and split."""
    entropy = [seed, LEVELS.index(level), SPLITS.index(split), k]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def generated_jets(level, split, n, *, seed, cache_dir, shard_jets, n_jobs):
    """``n`` balanced jets of a level and split, generated once and then cached.

    The jets come in shards of ``shard_jets`` (the last one smaller), each
    generated with its own seed and written to ``cache_dir``; a shard already
    there is read back instead of generated again.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    Xs, ys = [], []
    made = 0
    with tqdm(total=n, desc=f"{level} {split} jets", unit="jet") as bar:
        for k, size in enumerate(_shard_sizes(n, shard_jets)):
            path = cache_dir / f"{level}_{split}_seed{seed}_shard{k:04d}_n{size}.h5"
            if not path.exists():
                part = path.with_name(path.name + ".part")
                part.unlink(missing_ok=True)
                make_top_tagging(
                    size,
                    detector=level,
                    random_state=_shard_seed(seed, level, split, k),
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

    The file holds ``X_train``, ``y_train``, ``X_test`` and ``y_test``:
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


def _rejection_and_std(y_test, score, eff, *, n_boot, seed):
    """``1/eps_B`` at signal efficiency ``eff`` and its bootstrap uncertainty.

    The bootstrap resamples ``eps_B`` (finite even where no background jet
    passes) and the spread is propagated to ``1/eps_B`` as
    ``std(eps_B) / eps_B**2``; a rejection that is infinite on the whole test
    set (no background passes) is reported with an infinite uncertainty.
    """
    eps, eps_std = bootstrap_metric(
        background_efficiency,
        y_test,
        score,
        signal_efficiency=eff,
        n_boot=n_boot,
        random_state=seed,
    )
    if eps == 0:
        return float("inf"), float("inf")
    return 1.0 / eps, eps_std / eps**2


def evaluate(name, estimator, X_train, y_train, X_test, y_test, *, n_boot, seed):
    """Fit, time and score one tagger; return its table row and test scores."""
    start = time.perf_counter()
    estimator.fit(X_train, y_train)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    score = estimator.predict_proba(X_test)[:, 1]
    infer_s = time.perf_counter() - start
    row = {"tagger": name, "description": TAGGERS[name]}
    row["auc"], row["auc_std"] = bootstrap_metric(
        roc_auc, y_test, score, n_boot=n_boot, random_state=seed
    )
    for eff in WORKING_POINTS:
        key = f"rejection_{round(eff * 100)}"
        row[key], row[key + "_std"] = _rejection_and_std(
            y_test, score, eff, n_boot=n_boot, seed=seed
        )
    row["train_s"] = train_s
    row["inference_jets_per_s"] = len(X_test) / infer_s
    row["n_train"] = len(X_train)
    row["n_test"] = len(X_test)
    row["n_background_test"] = int(np.sum(y_test == 0))
    return row, score


def _fmt_rejection(value, std, n_background):
    """``value ± std``; where no background passes, the bound ``> n_background``."""
    if not np.isfinite(value):
        return f"> {n_background:,}"
    digits = 0 if value >= 100 else 1
    err = "inf" if not np.isfinite(std) else f"{std:.{digits}f}"
    return f"{value:.{digits}f} ± {err}"


def markdown_table(rows):
    """The rows as a markdown table."""
    lines = [
        (
            "| tagger | AUC | 1/εB at εS = 0.3 | 1/εB at εS = 0.5 | training [s] "
            "| inference [jets/s] |"
        ),
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['description']} | {r['auc']:.4f} ± {r['auc_std']:.4f} "
            f"| {_fmt_rejection(r['rejection_30'], r['rejection_30_std'], r['n_background_test'])} "
            f"| {_fmt_rejection(r['rejection_50'], r['rejection_50_std'], r['n_background_test'])} "
            f"| {r['train_s']:,.0f} | {r['inference_jets_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def _machine():
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                line.split(":", 1)[1].strip() for line in f if "model name" in line
            )
    except (OSError, StopIteration):
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (
        f"{os.cpu_count()} CPU cores ({cpu}), GPU: {gpu}, Python "
        f"{platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)"
    )


def _header(level, source, rows, args):
    n_train, n_test = rows[0]["n_train"], rows[0]["n_test"]
    return (
        f"## {level}\n\n{source}; {n_train:,} training jets, {n_test:,} test jets "
        f"(half top, half QCD); network epochs {args.epochs}; seed {args.seed}; "
        f"± = bootstrap std over the test jets ({args.n_boot} resamples)."
    )


def plot_level(y_test, scores, title, path, *, dpi=100):
    """ROC curves (left) and rejection against efficiency (right) of every tagger."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepclf.plotting import plot_roc

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), layout="constrained")
    labelled = {TAGGERS[k]: v for k, v in scores.items()}
    plot_roc(y_test, labelled, kind="roc", ax=left)
    left.set_xscale("log")  # the region that matters: small background efficiency
    left.set_xlim(1e-4, 1)
    plot_roc(y_test, labelled, kind="rejection", ax=right)
    left.legend(fontsize=7, loc="upper left")
    right.legend(fontsize=7, loc="upper right")
    fig.suptitle(title)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def write_level(out, level, source, rows, scores, y_test, args, meta):
    """Write the table, CSV, JSON, scores and ROC plot of one level."""
    table = markdown_table(rows)
    (out / f"{level}.md").write_text(
        _header(level, source, rows, args) + "\n\n" + table + "\n"
    )
    with open(out / f"{level}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(out / f"{level}.json", "w") as f:
        json.dump({**meta, "level": level, "data": source, "rows": rows}, f, indent=2)
    np.savez_compressed(out / f"{level}_scores.npz", y_test=y_test, **scores)
    if not args.no_plot:
        plot_level(
            y_test,
            scores,
            f"top tagging, {level}: {rows[0]['n_train']:,} training jets",
            out / f"{level}_roc.png",
            dpi=args.dpi,
        )
    return table


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument(
        "--n-train",
        type=int,
        default=None,
        help=f"training jets per level (default {SMALL['n_train']:,}; "
        f"--full: {FULL['n_train']:,}); -1 with --data: the whole split",
    )
    p.add_argument(
        "--n-test",
        type=int,
        default=None,
        help=f"test jets per level (default {SMALL['n_test']:,}; "
        f"--full: {FULL['n_test']:,}); -1 with --data: the whole split",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="the full sizes (sets defaults of --n-train and --n-test)",
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
        help="use these top-tagging HDF5 files (ttv 0 = train, 2 = test), or one "
        ".npz file with X_train, y_train, X_test, y_test, instead of generating jets",
    )
    p.add_argument("--taggers", nargs="+", choices=list(TAGGERS), default=list(TAGGERS))
    p.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="epochs of every network",
    )
    p.add_argument(
        "--ensemble",
        type=int,
        default=1,
        help="networks in the 'best' tagger (soft vote of different seeds)",
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
        "--seed",
        type=int,
        default=0,
        help="seeds the generated jets, the training and the bootstrap",
    )
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples")
    p.add_argument("--dpi", type=int, default=100, help="resolution of the ROC plots")
    p.add_argument("--no-plot", action="store_true", help="skip the ROC plots")
    args = p.parse_args(argv)
    sizes = FULL if args.full else SMALL
    args.n_train = sizes["n_train"] if args.n_train is None else args.n_train
    args.n_test = sizes["n_test"] if args.n_test is None else args.n_test
    for name in ("n_train", "n_test"):
        value = getattr(args, name)
        if value == 0 or value < -1 or (value == -1 and args.data is None):
            p.error(f"--{name.replace('_', '-')} must be positive (or -1 with --data)")
    if min(args.epochs, args.shard_jets, args.ensemble) < 1 or args.n_boot < 2:
        p.error("--epochs, --ensemble and --shard-jets must be >= 1, --n-boot >= 2")
    args.cache_dir = args.cache_dir or args.output_dir / "cache"
    return args


def _datasets(args):
    """Yield ``(level, source, X_train, y_train, X_test, y_test)``."""
    if args.data is not None:
        names = ", ".join(p.name for p in args.data)
        if args.data[0].suffix == ".npz":
            if len(args.data) > 1:
                raise SystemExit("--data takes one .npz file")
            X_train, y_train = npz_jets(args.data[0], "train", args.n_train)
            X_test, y_test = npz_jets(args.data[0], "test", args.n_test)
            split = "X_train and X_test"
        else:
            X_train, y_train = file_jets(args.data, "train", args.n_train)
            X_test, y_test = file_jets(args.data, "test", args.n_test)
            split = "ttv split"
        yield "data", f"jets from {names} ({split})", X_train, y_train, X_test, y_test
        return
    for level in args.levels:
        kw = {
            "seed": args.seed,
            "cache_dir": args.cache_dir,
            "shard_jets": args.shard_jets,
            "n_jobs": args.n_jobs,
        }
        X_train, y_train = generated_jets(level, "train", args.n_train, **kw)
        X_test, y_test = generated_jets(level, "test", args.n_test, **kw)
        source = (
            f"`make_top_tagging(detector={level!r})` jets (Pythia 8, 14 TeV, "
            "anti-kT R = 0.8, 550 < pT < 650 GeV, MPI on)"
        )
        yield level, source, X_train, y_train, X_test, y_test


def main(argv=None):
    """Run the benchmark; return ``{level: rows}``."""
    args = parse_args(argv)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "python benchmarks/top_tagging.py "
        + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": _machine(),
        "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
        },
    }
    meta["args"]["data"] = None if args.data is None else [str(p) for p in args.data]
    results, tables = {}, []
    for level, source, X_train, y_train, X_test, y_test in _datasets(args):
        rows, scores = [], {}
        for name in tqdm(args.taggers, desc=f"{level} taggers", unit="tagger"):
            estimator = build_tagger(
                name, epochs=args.epochs, seed=args.seed, ensemble=args.ensemble
            )
            row, score = evaluate(
                name,
                estimator,
                X_train,
                y_train,
                X_test,
                y_test,
                n_boot=args.n_boot,
                seed=args.seed,
            )
            rows.append(row)
            scores[name] = score
            tqdm.write(
                f"{level} {name}: AUC {row['auc']:.4f} ± {row['auc_std']:.4f}, "
                f"1/eps_B(0.3) {_fmt_rejection(row['rejection_30'], row['rejection_30_std'], row['n_background_test'])}, "
                f"trained in {row['train_s']:.0f} s"
            )
            # keep what is done on disk, so a long run can be read while it goes
            table = write_level(out, level, source, rows, scores, y_test, args, meta)
        results[level] = rows
        tables.append(_header(level, source, rows, args) + "\n\n" + table)
        print("\n" + tables[-1] + "\n", flush=True)
    summary = (
        f"# Top-tagging benchmark\n\n`{meta['command']}`\n\n{meta['date']}, "
        f"{meta['machine']}\n\n" + "\n\n".join(tables) + "\n"
    )
    (out / "results.md").write_text(summary)
    print(f"results written to {out}/")
    return results


if __name__ == "__main__":
    main()
