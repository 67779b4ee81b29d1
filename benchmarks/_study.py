"""What the studies (``events.py``, ``hits.py``, ``particles.py``) share.

* data and command line: ``SPLITS``, ``derived_seed`` (an independent
  generator seed per split, process, ...), ``study_parser`` (the options
  every study takes) and ``parse_study_args`` (``--small`` and the cache
  folder);
* ``SeedStore``: every seed a study scores, on disk as soon as it is
  scored, which ``--resume`` reads back instead of training again;
* the boosted-tree baseline: ``HGB_GRID`` and ``tune_hgb``;
* training: ``fit_timed``, ``fit_and_predict`` (probabilities, training time
  and inference rate of one seed) and ``predict_and_time`` (the same for a
  fitted model), ``median_or_none`` and ``seed_line`` (the progress line of
  a seed);
* scoring: ``accuracy`` and ``mean_confusion``;
* output: ``md`` (a model name in markdown), ``cell``, ``table`` and
  ``differences_table`` (markdown tables), ``write_outputs`` (the
  ``.md``, ``.json`` and ``_probas.npz`` files).

Their uncertainties are in ``_stats.py``, the machine and timing helpers in
``_timing.py``; the scripts import all three with their own folder on
``sys.path``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
from _stats import pm_metric
from _timing import inference_rate
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import ParameterGrid

SPLITS = ("train", "val", "test")

#: HistGradientBoosting settings compared on the validation sample (the first
#: is scikit-learn's defaults).
HGB_GRID = [
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "max_iter": 100},
    *ParameterGrid(
        {
            "learning_rate": [0.05, 0.1],
            "max_leaf_nodes": [15, 31, 63],
            "max_iter": [300],
            "l2_regularization": [0.0, 1.0],
        }
    ),
]


# --------------------------------------------------------------------------
# Data and command line
# --------------------------------------------------------------------------


def derived_seed(*entropy):
    """A generator seed drawn from ``entropy`` (ints): one per distinct tuple."""
    return int(np.random.SeedSequence(list(entropy)).generate_state(1)[0])


def study_parser(doc, *, output_dir):
    """An argument parser with the options every study takes; a study adds its own.

    ``--split``, ``--seeds``, ``--threads``, ``--n-boot``, ``--timing-repeats``,
    ``--data-seed``, ``--n-jobs``, ``--cache-dir``, ``--output-dir`` (default
    ``output_dir``), ``--resume`` (``SeedStore``) and ``--small``; the
    description is ``doc``'s first paragraph.
    """
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--split", choices=["val", "test"], default="val")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--timing-repeats", type=int, default=3)
    p.add_argument("--data-seed", type=int, default=0)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--cache-dir", default=None, help="default: OUTPUT_DIR/cache")
    p.add_argument("--output-dir", default=output_dir)
    p.add_argument(
        "--resume",
        action="store_true",
        help="take the seeds an earlier run with the same options scored (in "
        "OUTPUT_DIR) instead of training them again",
    )
    p.add_argument("--small", action="store_true", help="a quick run (CI smoke test)")
    return p


def parse_study_args(p, argv, small):
    """Parse ``argv``; ``--small`` applies the study's ``small`` settings.

    ``small`` maps argument names to values; ``--small`` also keeps one seed,
    at most 20 bootstrap samples and one timing repeat. The cache folder
    defaults to ``OUTPUT_DIR/cache``.
    """
    args = p.parse_args(argv)
    if args.small:
        vars(args).update(small)
        args.seeds = args.seeds[:1]
        args.n_boot = min(args.n_boot, 20)
        args.timing_repeats = min(args.timing_repeats, 1)
    args.cache_dir = args.cache_dir or str(Path(args.output_dir) / "cache")
    return args


#: Options that do not change what a fitted seed predicts: a run may differ
#: from the one it resumes in these (more seeds, other models, other tables).
RESUMABLE = frozenset(
    {
        "seeds",
        "models",
        "compare",
        "blend",
        "reuse",
        "explain",
        "n_explain",
        "threads",
        "n_boot",
        "timing_repeats",
        "n_jobs",
        "cache_dir",
        "output_dir",
        "resume",
    }
)


def _changed(before, now):
    """The options that differ, as ``name before, now after``."""
    return ", ".join(
        f"{k} {before.get(k)!r}, now {now.get(k)!r}"
        for k in sorted(before.keys() | now.keys())
        if before.get(k) != now.get(k)
    )


class SeedStore:
    """Every seed a study scores, in a file of its own as soon as it is scored.

    A study on two CPU cores may train an hour per seed; a run that is
    stopped keeps the seeds it finished. ``save`` writes a seed's
    probabilities, training time and inference rate to
    ``folder/<key>-seed<seed>.npz``, with the evaluation labels and the run's
    options (all but ``RESUMABLE``, and ``version``); with ``args.resume``,
    ``load`` gives them back to a later run, which then skips that fit.
    A network can also save every epoch to ``checkpoint(key, seed)``, so that
    with ``args.resume`` a fit stopped mid-way loses at most an epoch.

    A stored seed made with other options, or on other evaluation images, is
    an error, not a silent retraining or a mixed table.
    """

    def __init__(self, folder, args, y, *, version):
        self.folder = Path(folder)
        self.resume = bool(getattr(args, "resume", False))
        self.y = np.asarray(y)
        options = {k: v for k, v in vars(args).items() if k not in RESUMABLE}
        options["version"] = version
        # as the file will give it back: tuples become lists
        self.options = json.loads(json.dumps(options, sort_keys=True, default=str))

    def _check_options(self, options, path, made):
        """SystemExit, naming the changes, unless ``options`` are this run's."""
        if options != self.options:
            raise SystemExit(
                f"--resume: {path} was {made} with other options "
                f"({_changed(options, self.options)}); run without --resume, "
                "or with another --output-dir"
            )

    def path(self, key, seed):
        """The file of ``key`` (a model, with its setting) at training ``seed``."""
        if not key or "/" in key or os.sep in key:
            raise ValueError(f"SeedStore: {key!r} cannot name a file")
        return self.folder / f"{key}-seed{seed}.npz"

    def load(self, key, seed):
        """``(proba, train_s, rate)`` stored earlier, or None.

        None without ``resume`` or when the seed was not stored; SystemExit
        when it was stored with other options or evaluation images.
        """
        path = self.path(key, seed)
        if not self.resume or not path.is_file():
            return None
        with np.load(path) as stored:
            self._check_options(json.loads(str(stored["options"])), path, "scored")
            if not np.array_equal(stored["y"], self.y):
                raise SystemExit(
                    f"--resume: {path} holds other evaluation images (labels differ)"
                )
            rate = float(stored["rate"])
            return (
                stored["proba"],
                float(stored["train_s"]),
                None if np.isnan(rate) else rate,
            )

    def fit_or_resume(self, key, seed, make, X_train, y_train, X_eval, timing_repeats):
        """``(proba, train_s, rate, resumed)`` of ``key`` at ``seed``.

        The stored seed when ``load`` gives one (``resumed`` True); otherwise
        ``make()`` (the unfitted estimator) through ``fit_and_predict``, stored
        at once.
        """
        stored = self.load(key, seed)
        if stored is not None:
            return (*stored, True)
        proba, train_s, rate = fit_and_predict(
            make(), X_train, y_train, X_eval, timing_repeats
        )
        self.save(key, seed, proba, train_s, rate)
        return proba, train_s, rate, False

    def checkpoint(self, key, seed):
        """The folder where the network ``key`` at ``seed`` saves every epoch.

        Give it to the network's ``checkpoint_dir``: with ``resume`` a fit
        stopped mid-way continues from its last epoch (refused, like
        ``load``, when the folder was made with other options); without, the
        folder is emptied first. ``checkpoint_seconds`` gives the training
        time of the epochs already there.
        """
        folder = self.folder / "checkpoints" / f"{self.path(key, seed).stem}"
        marker = folder / "options.json"
        if self.resume and marker.is_file():
            self._check_options(json.loads(marker.read_text()), folder, "trained")
            return folder
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        marker.write_text(json.dumps(self.options, sort_keys=True))
        return folder

    def tuned(self, key, tune, *args, **kwargs):
        """``tune(*args, **kwargs)``'s ``(params, scores)`` for ``key``, stored.

        With ``resume`` and a stored tuning of the same options, that one
        comes back instead (refused, like ``load``, when made with other
        options), so a resumed run does not search the grid again.
        """
        path = self.path(key, 0).with_name(f"{key}-tuning.json")
        if self.resume and path.is_file():
            stored = json.loads(path.read_text())
            self._check_options(stored["options"], path, "tuned")
            return stored["params"], [tuple(s) for s in stored["scores"]]
        params, scores = tune(*args, **kwargs)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(
            json.dumps(
                {"options": self.options, "params": params, "scores": scores},
                sort_keys=True,
            )
        )
        os.replace(partial, path)
        return params, scores

    @staticmethod
    def checkpoint_seconds(folder):
        """The summed epoch durations of the history saved in ``folder`` (0 if none)."""
        history = Path(folder) / "history.json"
        if not history.is_file():
            return 0.0
        return float(sum(epoch["dur"] for epoch in json.loads(history.read_text())))

    def save(self, key, seed, proba, train_s, rate):
        """Store one scored seed (whole or not at all: written, then renamed)."""
        path = self.path(key, seed)
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial.npz")
        np.savez_compressed(
            partial,
            proba=np.asarray(proba),
            y=self.y,
            train_s=float(train_s),
            rate=np.nan if rate is None else float(rate),
            options=json.dumps(self.options, sort_keys=True),
        )
        os.replace(partial, path)


# --------------------------------------------------------------------------
# The baseline and training
# --------------------------------------------------------------------------


def tune_hgb(
    F_train, y_train, F_val, y_val, *, seed, estimator=HistGradientBoostingClassifier
):
    """The ``HGB_GRID`` point with the best validation score, and every score.

    ``estimator`` is the HistGradientBoosting class (the regressor for a
    regression); the score is its ``score`` (accuracy, R^2). Returns ``(params,
    [(score, params), ...])``.
    """
    scores = []
    for params in HGB_GRID:
        est = estimator(random_state=seed, **params).fit(F_train, y_train)
        scores.append((float(est.score(F_val, y_val)), params))
    return max(scores, key=lambda s: s[0])[1], scores


def fit_timed(est, X, y):
    """Fit ``est``; the wall-clock seconds it took."""
    start = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - start


def fit_and_predict(est, X_train, y_train, X_eval, timing_repeats):
    """Fit ``est`` and predict ``X_eval``: ``(proba, train_s, rate)``.

    ``rate`` is the inference rate (samples per second, ``inference_rate``
    over ``timing_repeats`` passes), None when ``timing_repeats`` is 0.
    """
    train_s = fit_timed(est, X_train, y_train)
    proba, rate = predict_and_time(est, X_eval, timing_repeats)
    return proba, train_s, rate


def predict_and_time(est, X_eval, timing_repeats):
    """Predict ``X_eval`` with a fitted ``est``: ``(proba, rate)``, as above."""
    proba = est.predict_proba(X_eval)
    rate = inference_rate(est, X_eval, timing_repeats) if timing_repeats else None
    return proba, rate


def median_or_none(values):
    """The median of the values that are not None (None when there are none)."""
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def seed_line(name, seed, metrics, y, proba, train_s):
    """A seed's progress line: ``  <name>, seed <seed>: <metric> <value>, ... s``."""
    scores = ", ".join(f"{k} {metric(y, proba):.4f}" for k, metric in metrics.items())
    return f"  {name}, seed {seed}: {scores}, {train_s:.0f} s"


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------


def accuracy(y, proba):
    """The accuracy of the most probable class."""
    return float(accuracy_score(y, proba.argmax(1)))


def mean_confusion(y, probas):
    """The confusion matrix normalised per true class, mean over seeds (4 digits)."""
    cms = [confusion_matrix(y, p.argmax(1), normalize="true") for p in probas]
    return np.mean(cms, axis=0).round(4).tolist()


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def md(name):
    """A model name in a markdown table (a blend's weights are not emphasis)."""
    return name.replace("*", r"\*")


def cell(value, spec=".3f"):
    """A table cell: ``value`` formatted with ``spec``, ``-`` for None."""
    return "-" if value is None else format(value, spec)


def table(titles, rows, *, left=1):
    """The lines of a markdown table: ``titles``, then ``rows`` (lists of cells).

    The first ``left`` columns (names) are left-aligned, the others (numbers)
    right-aligned.
    """
    return [
        "| " + " | ".join(titles) + " |",
        "|" + "---|" * left + "---:|" * (len(titles) - left),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def differences_table(diffs, metrics, by=None):
    """The paired differences A - B as markdown lines (none without any).

    ``metrics`` maps the rows' metric keys to their column titles (cells:
    value ± seeds ± paired bootstrap, 4 digits); ``by`` is an optional column
    between B and the metrics: ``(title, cell)``, ``cell(row)`` its text.
    """
    if not diffs:
        return []
    titles = ["A", "B", *([by[0]] if by else []), *metrics.values()]
    rows = [
        [
            md(d["a"]),
            md(d["b"]),
            *([by[1](d)] if by else []),
            *(pm_metric(d, k, 4) for k in metrics),
        ]
        for d in diffs
    ]
    return [
        "",
        "Paired differences (A - B; ± seeds ± paired bootstrap):",
        "",
        *table(titles, rows, left=2),
    ]


def write_outputs(stem, text, result, y, probas):
    """Write ``<stem>.md`` (``text``), ``<stem>.json`` and ``<stem>_probas.npz``.

    ``result`` is what the JSON holds; the npz holds the labels ``y`` and, per
    key of ``probas``, the probabilities of every seed stacked.
    """
    stem.with_suffix(".md").write_text(text)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1))
    np.savez_compressed(
        f"{stem}_probas.npz", y=y, **{k: np.stack(p) for k, p in probas.items()}
    )
