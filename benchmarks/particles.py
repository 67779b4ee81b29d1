"""Liquid-argon particle study: the seed's ResNet, the classic networks, augmentation, HGB.

The liquid-argon poster (seed 000) classified single-particle images with
``ResNet(10, 1, 16, [2,2,2,2,2])`` to 0.9618 mean validation accuracy on the
four-class challenge set (electron, muon, photon, proton at 192 x 192); the
older public set has five classes (pions added) at 256 x 256, where a
ResNet-18 plateaus near 85 %. This script trains every contender on the same
simulated images (``make_particle_images``) and scores them on the same
held-out images:

* ``resnet``: the seed's ResNet (``CNNClassifier("resnet")``), Adam at 1e-3,
  batches of 64, as in the original;
* ``cnn``: hepclf's small CNN (two blocks of two 3x3 convolutions, batch
  norm, a dense layer of 64; Adam at 3e-3 with a cosine decay);
* ``lenet5``, ``alexnet``, ``vgg``, ``inception``: the classic networks of
  seed 004 (``hepclf.models``), Adam at 1e-3;
* ``hgb``: ``HistGradientBoostingClassifier`` on physics features of the same
  images (``image_features``: total charge, pixel count, length and width
  along the principal axis, charge near each end, the largest empty gap
  along the axis, clusters, the brightest pixel), tuned on the validation
  images: the baseline to beat.

Suffixes: ``@aug`` trains with random flips and quarter turns (never at
predict time); ``@binary`` sets every charged pixel to 1 (the ablation: the
electron/photon separation then rests on the shape and the gap alone);
``@<n>ep`` sets the epochs; ``@pool<f>`` sums each ``f x f`` block of
pixels (the same images at ``f`` times coarser pixels: the paired control of
a finer pixel); ``@unshuffle<f>`` (``resnet``, ``inception``) folds each ``f x f``
block into ``f**2`` channels before the network (``pixel_unshuffle``): the fine
pixels at the cost of the coarse ones.
``@tta`` (with ``@aug``) averages the predictions over the eight flips
and quarter turns of each image (``augment_predict=True``); a network and
its ``@tta`` twin in one run share one fit per seed (the same training
time), so the pair differs only at predict time. ``@bf16`` trains and
predicts under bfloat16 autocast with channels-last tensors
(``precision="bf16", channels_last=True``): on a CPU with AMX 1.75 times
the training images per second of float32 (``bench_precision.py``).
``@cos`` decays the learning rate of a network trained at a constant one
(``resnet``, the classic networks) to zero over the epochs, on a cosine
(``LRScheduler("CosineAnnealingLR")``, as ``cnn`` always does).

Metrics: accuracy, per-class efficiency, the electron-vs-photon accuracy
(electron and photon images only, the larger of the two probabilities), the
confusion matrix, and for electrons and photons the accuracy in bins of the
photon's projected conversion gap and of the momentum (from the simulator's
truth table), and the accuracy and efficiencies on the images whose label
the simulator does not flag ``ambiguous`` (for the models run and those
reused). Training time is the wall clock of ``fit``; inference the
median of ``--timing-repeats`` ``predict_proba`` passes after a warm-up.

Protocol: independent simulator seeds per split (``train``, ``val``,
``test``) and class; choices (epochs, the HGB's hyperparameters) on ``--split
val``; ``--split test`` scores the final table once; ``--seeds`` training
seeds; mean ± seeds ± bootstrap over the evaluation images (``_stats.py``).

``--config 4class`` is the seed's challenge (192 x 192, 0.5 cm pixels),
``--config 5class`` the public set (256 x 256, pions added). Sizes and epochs
that reach the seed's numbers need a GPU (``--device cuda``); on a CPU,
``--npix 64`` with a few thousand images per class (the docs' first study)
or ``--small`` (tiny images and samples, a smoke test).

``--reuse PROBAS.npz`` adds an earlier run's probabilities on the same
evaluation images to ``--compare``: a new model is paired with one already
scored without training it again. ``--reuse TAG=PROBAS.npz`` names its models
``TAG/model``, so a run can be paired with an earlier run of the same models
(``--reuse n4000=test192/particles_4class_test_probas.npz --compare
hgb,n4000/hgb``).

``--blend A+B`` adds a row for the weighted mean of the probabilities of
models run or reused (``hgb+inception@aug@20ep``: equal weights;
``0.3*hgb+0.7*cnn``), seed by seed (the one-seed boosted trees join every
seed of a network); its training time is the members' sum when all were
run here (``-`` when one was reused). Quote the weighted ones in a shell:
``'0.3*hgb+0.7*cnn'``.

``--explain MODEL`` writes, for that model's first seed, the confusion
matrix, the most confident electron-to-photon mistakes and saliency maps,
and measures where the attribution of electrons and photons lies.

Writes ``particles_<config>_<split>.md``, ``.json`` and ``_probas.npz`` to
``--output-dir``, and each seed as soon as it is scored to
``particles_<config>_<split>_seeds/``: a run that stops (a session's end, a
crash) is run again with ``--resume`` and the same options, and trains only
the seeds it had not finished (``_study.SeedStore``; more ``--seeds`` or
other ``--models`` are allowed, other sizes or epochs are refused; the
trees' tuning is stored there too and read back). The networks save every
epoch under ``_seeds/checkpoints/``, so a fit stopped mid-way goes on from
its last epoch, and a network's ``@tta`` twin is stored right after their
shared fit.
"""

from __future__ import annotations

import inspect
import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import ndimage
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from skorch.callbacks import LRScheduler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _stats import of_seed, paired_differences, pm_metric, summarise_metrics
from _study import (
    SPLITS,
    SeedStore,
    accuracy,
    cell,
    derived_seed,
    differences_table,
    fit_and_predict,
    md,
    mean_confusion,
    median_or_none,
    parse_study_args,
    predict_and_time,
    seed_line,
    study_parser,
    table,
    tune_hgb,
    write_outputs,
)
from _timing import machine, run_metadata

import hepclf
from hepclf import CNNClassifier
from hepclf.datasets._particles import PARTICLE_CLASSES
from hepclf.models import get_module

CONFIGS = {
    "4class": {
        "classes": ("electron", "muon", "photon", "proton"),
        "npix": 192,
        "pixel_size": 0.5,
    },
    "5class": {
        "classes": ("electron", "muon", "photon", "pion", "proton"),
        "npix": 256,
        "pixel_size": 0.5,
    },
}
#: The seed's and the public numbers, for the tables.
REFERENCE = {
    "4class": "the seed's ResNet: 0.9618 mean validation accuracy",
    "5class": "public: ResNet-18 plateaus near 0.85",
}
#: Bump when the simulated images change (invalidates the cache).
DATA_VERSION = 1

#: Network settings per model: registered module, optimiser learning rate,
#: batch size, cosine schedule, module parameters.
NETWORKS = {
    "resnet": ("resnet", 1e-3, 64, False, {}),
    "cnn": (
        "jetcnn",
        3e-3,
        128,
        True,
        {
            "conv_blocks": ((16, 16), (32, 32)),
            "pool_size": 2,
            "dense": (64,),
            "dropout": 0.1,
            "batch_norm": True,
        },
    ),
    "lenet5": ("lenet5", 1e-3, 64, False, {}),
    "alexnet": ("alexnet", 1e-3, 64, False, {}),
    "vgg": ("vgg", 1e-3, 64, False, {}),
    "inception": ("inception", 1e-3, 64, False, {}),
}
#: ``--small``: these arguments and one seed (``_study.parse_study_args``).
SMALL = {"n_train": 40, "n_val": 20, "n_test": 20, "epochs": 2, "npix": 32}


# --------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------


def _seed(data_seed, split, config):
    return derived_seed(
        data_seed, SPLITS.index(split), list(CONFIGS).index(config), DATA_VERSION
    )


def simulate(split, n_per_class, args):
    """Images, labels and truth of one split (cached in the challenge layout)."""
    from hepclf.datasets import (
        load_particle_images,
        make_particle_images,
        write_particle_images,
    )

    cfg = CONFIGS[args.config]
    stem = Path(args.cache_dir) / (
        f"v{DATA_VERSION}-{hepclf.__version__}-{args.config}-{split}-s{args.data_seed}"
        f"-n{n_per_class}-px{args.npix}"
    )
    # (not with_suffix: the version in the name has dots)
    h5, csv = stem.parent / f"{stem.name}.h5", stem.parent / f"{stem.name}.csv"
    if not (h5.exists() and csv.exists()):
        images, _, info = make_particle_images(
            n_per_class,
            classes=cfg["classes"],
            npix=args.npix,
            pixel_size=cfg["pixel_size"] * cfg["npix"] / args.npix,
            random_state=_seed(args.data_seed, split, args.config),
            n_jobs=args.n_jobs,
            progress=False,
            return_info=True,
        )
        h5.parent.mkdir(parents=True, exist_ok=True)
        write_particle_images(h5, images, info["pdg"].to_numpy())
        info.to_csv(csv, index=False)
        del images  # read back below: one copy in memory, not two
    images, labels = load_particle_images(h5)
    return images, labels, pd.read_csv(csv)


# --------------------------------------------------------------------------
# Features of the baseline
# --------------------------------------------------------------------------

IMAGE_FEATURES = (
    "charge",
    "n_pixels",
    "max_pixel",
    "length",
    "width",
    "start_charge_lo",
    "start_charge_hi",
    "largest_gap",
    "n_clusters",
    "main_cluster_fraction",
    "charge_skew",
)


def _one_image(img, pixel_size, end_cm=3.0):
    rows, cols = np.nonzero(img)
    q = img[rows, cols].astype(np.float64)
    out = dict.fromkeys(IMAGE_FEATURES, np.nan)
    out["charge"], out["n_pixels"] = q.sum(), len(q)
    if len(q) < 2:
        return out
    out["max_pixel"] = q.max()
    p = np.stack([cols, rows], 1) * pixel_size
    mean = np.average(p, axis=0, weights=q)
    d = p - mean
    cov = (d * q[:, None]).T @ d / q.sum()
    w, v = np.linalg.eigh(cov)
    s = d @ v[:, 1]
    out["length"] = s.max() - s.min()
    out["width"] = np.sqrt(max(w[0], 0.0))
    lo = q[s <= s.min() + end_cm].sum() / end_cm
    hi = q[s >= s.max() - end_cm].sum() / end_cm
    out["start_charge_lo"], out["start_charge_hi"] = min(lo, hi), max(lo, hi)
    out["largest_gap"] = np.diff(np.sort(s)).max()
    labels, n = ndimage.label(img > 0, structure=np.ones((3, 3)))
    out["n_clusters"] = n
    sums = ndimage.sum(img, labels, index=np.arange(1, n + 1))
    out["main_cluster_fraction"] = sums.max() / q.sum()
    sd = np.sqrt(np.average(s**2, weights=q))
    out["charge_skew"] = np.average((s / sd) ** 3, weights=q) if sd > 0 else 0.0
    return out


def image_features(images, pixel_size=0.5):
    """Per-image physics features of ``(n, 1, H, W)`` energy images.

    From the image alone (the vertex is not in it): total charge and pixel
    count, the brightest pixel, the length and width along the principal
    axis (charge-weighted), the charge per cm within 3 cm of either end (the
    lower and the higher: a track's start or its Bragg peak, a shower's
    trunk), the largest empty gap along the axis, the number of connected
    clusters and the main cluster's share of the charge, and the skewness of
    the charge along the axis.
    """
    images = np.asarray(images)
    rows = [_one_image(img[0], pixel_size) for img in images]
    return pd.DataFrame(rows, columns=list(IMAGE_FEATURES)).to_numpy(np.float64)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------


def _binary(images):
    return (np.asarray(images) > 0).astype(np.float32)


def _sum_pool(images, factor):
    """Sum each ``factor x factor`` block of pixels of ``(n, C, H, W)`` images."""
    images = np.asarray(images)
    n, c, h, w = images.shape
    if h % factor or w % factor:
        raise ValueError(
            f"@pool{factor} needs images whose sides are multiples of {factor}, "
            f"got {h} x {w}"
        )
    blocks = images.reshape(n, c, h // factor, factor, w // factor, factor)
    return blocks.sum(axis=(3, 5), dtype=np.float32)


def _factor(m, prefix):
    digits = m[len(prefix) :]
    return int(digits) if m.startswith(prefix) and digits.isdigit() else None


def _can_unshuffle(base):
    module = get_module(NETWORKS[base][0])
    return "pixel_unshuffle" in inspect.signature(module).parameters


#: The networks that take ``@unshuffle<f>``.
_UNSHUFFLED = tuple(name for name in NETWORKS if _can_unshuffle(name))


def _parse(name):
    base, *mods = name.split("@")
    options = {
        "augment": False,
        "binary": False,
        "epochs": None,
        "pool": 1,
        "unshuffle": 1,
        "tta": False,
        "bf16": False,
        "cosine": False,
    }
    for m in mods:
        if m == "aug":
            options["augment"] = True
        elif m == "binary":
            options["binary"] = True
        elif m == "tta":
            options["tta"] = True
        elif m == "bf16":
            options["bf16"] = True
        elif m == "cos":
            options["cosine"] = True
        elif m.endswith("ep") and m[:-2].isdigit():
            options["epochs"] = int(m[:-2])
        elif _factor(m, "pool"):
            options["pool"] = _factor(m, "pool")
        elif _factor(m, "unshuffle"):
            options["unshuffle"] = _factor(m, "unshuffle")
        else:
            raise ValueError(f"unknown suffix {m!r} in model {name!r}")
    if base != "hgb" and base not in NETWORKS:
        raise ValueError(f"unknown model {name!r}")
    if options["tta"] and not (base in NETWORKS and options["augment"]):
        raise ValueError(
            f"{name!r}: @tta averages over the flips and quarter turns of @aug; "
            "it needs a network with @aug"
        )
    if options["bf16"] and base not in NETWORKS:
        raise ValueError(f"{name!r}: @bf16 is an option of the networks, not hgb")
    if options["cosine"] and (base not in NETWORKS or NETWORKS[base][3]):
        raise ValueError(
            f"{name!r}: @cos is an option of the networks trained at a constant "
            f"learning rate ({', '.join(n for n in NETWORKS if not NETWORKS[n][3])})"
        )
    if options["unshuffle"] > 1 and base not in _UNSHUFFLED:
        raise ValueError(
            f"{name!r}: @unshuffle is an option of {', '.join(_UNSHUFFLED)} only"
        )
    return base, options


def _fit_key(name):
    """The name without ``@tta``: a network and its ``@tta`` twin share a fit."""
    return "@".join(m for m in name.split("@") if m != "tta")


def _prepare(images, options):
    """The images as model ``options`` see them (``@binary``, ``@pool<f>``)."""
    images = _binary(images) if options["binary"] else np.asarray(images)
    return _sum_pool(images, options["pool"]) if options["pool"] > 1 else images


def tune_on_features(features, X_train, y_train, X_val, y_val):
    """``tune_hgb`` on what the fitted transformers ``features`` make of the images."""
    return tune_hgb(
        features.transform(X_train),
        y_train,
        features.transform(X_val),
        y_val,
        seed=0,
    )


def build(name, *, seed, epochs, device="cpu", hgb_params=None, pixel_size=0.5):
    """The classifier called ``name``: a pipeline from the images."""
    base, options = _parse(name)
    steps = (
        [FunctionTransformer(_prepare, kw_args={"options": options})]
        if options["binary"] or options["pool"] > 1
        else []
    )
    if base == "hgb":
        pixel_size *= options["pool"]
        steps += [
            FunctionTransformer(image_features, kw_args={"pixel_size": pixel_size}),
            HistGradientBoostingClassifier(random_state=seed, **(hgb_params or {})),
        ]
        return make_pipeline(*steps)
    module, lr, batch, cosine, params = NETWORKS[base]
    epochs = options["epochs"] or epochs
    callbacks = (
        [("lr", LRScheduler(policy="CosineAnnealingLR", T_max=epochs))]
        if cosine or options["cosine"]
        else None
    )
    steps.append(
        CNNClassifier(
            module,
            max_epochs=epochs,
            batch_size=batch,
            lr=lr,
            device=device,
            random_state=seed,
            callbacks=callbacks,
            augment_flip=options["augment"],
            augment_rot90=options["augment"],
            augment_predict=options["tta"],
            **({"precision": "bf16", "channels_last": True} if options["bf16"] else {}),
            **{f"module__{k}": v for k, v in params.items()},
            **(
                {"module__pixel_unshuffle": options["unshuffle"]}
                if options["unshuffle"] > 1
                else {}
            ),
        )
    )
    return make_pipeline(*steps)


# --------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------


def electron_photon(y, proba, electron=0, photon=2):
    """Accuracy on electron and photon images, deciding between those two."""
    keep = np.isin(y, (electron, photon))
    pick = np.where(proba[keep, electron] >= proba[keep, photon], electron, photon)
    return float(np.mean(pick == y[keep]))


METRICS = {"accuracy": accuracy, "electron_photon": electron_photon}


def score_row(name, y, probas, info, classes, *, n_boot, train_s, inference_per_s):
    """A table row: metrics over seeds, the confusion matrix, binned accuracies."""
    row = {"model": name, "seeds": len(probas), "n_eval": len(y)}
    row.update(summarise_metrics(METRICS, y, probas, n_boot=n_boot, seed=0))
    row["confusion"] = mean_confusion(y, probas)
    mean = np.mean(probas, axis=0)
    row["vs_gap"] = binned_accuracy(
        y, mean, info, "projected_gap", [0, 1, 2, 5, 10, 20, 50, 1e3], classes
    )
    row["vs_momentum"] = binned_accuracy(
        y, mean, info, "momentum", [0, 100, 200, 400, 600, 800], classes
    )
    row["train_s"] = train_s
    row["inference_per_s"] = inference_per_s
    return row


def parse_blend(spec):
    """``{model: weight}`` from ``"hgb+inception@aug"`` or ``"0.3*hgb+0.7*cnn"``.

    Members without a weight share what the weighted ones leave of 1 equally;
    the weights must be positive and sum to 1.
    """
    weights, free = {}, []
    for term in spec.split("+"):
        w, star, member = (part.strip() for part in term.rpartition("*"))
        if not member or member in weights or member in free:
            raise ValueError(f"blend {spec!r}: empty or repeated member")
        if star:
            try:
                weights[member] = float(w)
            except ValueError:
                msg = f"blend {spec!r}: weight {w!r} is not a number"
                raise ValueError(msg) from None
        else:
            free.append(member)
    if len(weights) + len(free) < 2:
        raise ValueError(f"blend {spec!r}: needs two models or more, joined by '+'")
    rest = 1.0 - sum(weights.values())
    weights.update({m: rest / len(free) for m in free})
    if min(weights.values()) <= 0:
        raise ValueError(f"blend {spec!r}: every weight must be positive")
    if not np.isclose(sum(weights.values()), 1.0):
        raise ValueError(f"blend {spec!r}: the weights must sum to 1")
    return weights


def blend(known, weights):
    """The weighted mean of the members' probabilities, seed by seed.

    A one-seed member (the boosted trees, or a network run with one seed)
    joins every seed of the others, so the blend's spread between seeds is
    theirs alone; members with several seeds must have the same number.
    """
    n = {len(known[m]) for m in weights} - {1}
    if len(n) > 1:
        raise ValueError(f"blend of {list(weights)}: unequal numbers of seeds {n}")
    n_seeds = n.pop() if n else 1
    return [
        sum(w * of_seed(known[m], i) for m, w in weights.items())
        for i in range(n_seeds)
    ]


def binned_accuracy(y, proba, info, column, edges, classes):
    """Accuracy of the electron and photon images in bins of a truth column."""
    out = {}
    for k in (0, 2):
        sel = y == k
        values = info[column].to_numpy()[sel]
        right = proba[sel].argmax(1) == k
        idx = np.digitize(values, edges) - 1
        out[classes[k]] = [
            float(right[idx == b].mean()) if np.any(idx == b) else None
            for b in range(len(edges) - 1)
        ]
    return {"edges": list(map(float, edges)), **out}


def gap_only_bound(y, info, pixel_size, electron=0, photon=2, min_pixels=(1, 2)):
    """Electron-vs-photon accuracy of a rule that sees the conversion gap alone.

    The rule calls an image a photon when its projected gap is at least ``k``
    pixels and an electron otherwise, knowing where the vertex is: right on
    every electron and on the photons with a visible gap. The images do not
    show the vertex, so this bounds what the gap can give from above.
    """
    keep = np.isin(y, (electron, photon))
    gap = info["projected_gap"].to_numpy()[keep]
    is_photon = y[keep] == photon
    return {
        f"{k} px": float(np.mean(~is_photon | (gap >= k * pixel_size)))
        for k in min_pixels
    }


def unambiguous_scores(y, probas, info, *, n_boot, seed=0):
    """Accuracy and per-class efficiency on the images whose label is not ambiguous.

    ``info["ambiguous"]`` is the simulator's flag (a photon whose projected
    gap is under two pixels, a proton that interacts in view, a pion that
    does not, a muon shorter than ``ambiguity_length``); ``probas`` holds one
    probability array per training seed. Returns the share of images kept,
    the accuracy on them (mean, seed std, bootstrap std over the kept
    images) and, per class, the share flagged and the efficiency on the rest
    (mean over seeds; None where every image of the class is flagged).
    """
    keep = ~info["ambiguous"].to_numpy(bool)
    classes = range(probas[0].shape[1])
    kept = [p[keep] for p in probas]
    out = {
        "kept": float(keep.mean()),
        **summarise_metrics(
            {"accuracy": accuracy}, y[keep], kept, n_boot=n_boot, seed=seed
        ),
        "ambiguous_share": [float(1 - keep[y == k].mean()) for k in classes],
        "efficiency": [],
    }
    for k in classes:
        sel = y[keep] == k
        out["efficiency"].append(
            float(np.mean([np.mean(p[sel].argmax(1) == k) for p in kept]))
            if sel.any()
            else None
        )
    return out


def attribution_shares(images, attributions, info, pixel_size, radius=3.0):
    """Where an attribution map lies, against the deposit's start and the vertex.

    Per image: ``start``, the share of the |attribution| within ``radius`` cm
    of the deposit's start (the charged pixel nearest the true vertex: a
    shower's trunk, a track's first centimetres), next to ``start_charge``,
    the share of the charge there; ``vertex``, the share of the |attribution|
    within ``radius`` cm of the true vertex, next to ``vertex_area``, the share
    of the image's area there. Images without charge give NaN.
    """
    n, _, height, width = images.shape
    yc = (np.arange(height)[:, None] + 0.5) * pixel_size
    xc = (np.arange(width)[None, :] + 0.5) * pixel_size
    out = {
        k: np.full(n, np.nan)
        for k in ("start", "start_charge", "vertex", "vertex_area")
    }
    vx, vy = info["vertex_x"].to_numpy(), info["vertex_y"].to_numpy()
    for k in range(n):
        img, a = images[k, 0], np.abs(attributions[k, 0])
        charged = img > 0
        if not charged.any() or a.sum() == 0:
            continue
        d_vertex = np.hypot(xc - vx[k], yc - vy[k])
        i, j = np.unravel_index(
            np.argmin(np.where(charged, d_vertex, np.inf)), img.shape
        )
        near_start = np.hypot(xc - xc[0, j], yc - yc[i, 0]) <= radius
        near_vertex = d_vertex <= radius
        out["start"][k] = a[near_start].sum() / a.sum()
        out["start_charge"][k] = img[near_start].sum() / img.sum()
        out["vertex"][k] = a[near_vertex].sum() / a.sum()
        out["vertex_area"][k] = near_vertex.mean()
    return out


def explain(est, X, y, proba, info, classes, pixel_size, stem, n_images, n_steps=16):
    """Figures and the saliency study of one fitted model (electrons and photons).

    Writes ``<stem>_confusion.png``, ``<stem>_gallery.png`` (the most confident
    electron <-> photon mistakes) and ``<stem>_saliency.png`` (plain gradients
    over a correct and a wrong electron and photon); returns, for the first
    ``n_images`` electrons and photons, the mean attribution shares of
    :func:`attribution_shares` for plain gradients and integrated gradients
    of the true class, split into right and wrong predictions, over the same
    images for both methods (those where neither map is zero everywhere;
    ``n_unusable`` counts the others). ``proba`` is
    ``est.predict_proba(X)``, already computed by the caller.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from hepclf.inspection import plot_misclassified_gallery, plot_saliency, saliency
    from hepclf.plotting import plot_confusion_matrix

    electron, photon = classes.index("electron"), classes.index("photon")
    pred = proba.argmax(1)
    display = plot_confusion_matrix(y, pred, labels=list(range(len(classes))))
    display.ax_.set_xticklabels(classes)
    display.ax_.set_yticklabels(classes)
    display.figure_.savefig(f"{stem}_confusion.png", dpi=120, bbox_inches="tight")
    plt.close("all")
    axes = plot_misclassified_gallery(
        est, X, y, true=electron, predicted=photon, n=5, display_labels=classes
    )
    axes.flat[0].figure.savefig(f"{stem}_gallery.png", dpi=100, bbox_inches="tight")
    plt.close("all")

    picks = np.concatenate(
        [np.flatnonzero(y == c)[:n_images] for c in (electron, photon)]
    )
    images, truth = np.asarray(X[picks]), y[picks]
    sub = info.iloc[picks].reset_index(drop=True)
    right = pred[picks] == truth
    maps, shares = {}, {}
    for method, kwargs in (
        ("gradient", {}),
        ("integrated_gradients", {"n_steps": n_steps}),
    ):
        maps[method] = saliency(est, images, target=truth, method=method, **kwargs)
        shares[method] = attribution_shares(images, maps[method], sub, pixel_size)
    # The same images for every method: those whose maps are all non-zero
    # (a plain gradient can vanish at every pixel, and then has no shares).
    usable = np.all([np.isfinite(v["start"]) for v in shares.values()], axis=0)
    result = {
        "n_images": len(picks),
        "n_unusable": int((~usable).sum()),
        "radius_cm": 3.0,
        "n_steps": n_steps,
    }
    for method, method_shares in shares.items():
        for name, c in (("electron", electron), ("photon", photon)):
            for tag, ok in (("right", right), ("wrong", ~right)):
                sel = (truth == c) & ok & usable
                result[f"{method}/{name}/{tag}"] = {
                    "n": int(sel.sum()),
                    **{
                        k: float(v[sel].mean()) if sel.any() else None
                        for k, v in method_shares.items()
                    },
                }
    fig, axes = plt.subplots(2, 2, figsize=(9, 8))
    for row, (name, c) in enumerate((("electron", electron), ("photon", photon))):
        for col, ok in enumerate((right, ~right)):
            hits = np.flatnonzero((truth == c) & ok)
            ax = axes[row, col]
            if not len(hits):
                ax.set_axis_off()
                continue
            k = hits[0]
            plot_saliency(
                images[k],
                maps["gradient"][k],
                ax=ax,
                title=f"{name}, called {classes[pred[picks][k]]} "
                f"(gap {sub['projected_gap'][k]:.1f} cm)",
            )
            ax.plot(
                sub["vertex_x"][k] / pixel_size - 0.5,
                sub["vertex_y"][k] / pixel_size - 0.5,
                "r+",
                markersize=12,
            )
    fig.savefig(f"{stem}_saliency.png", dpi=100, bbox_inches="tight")
    plt.close("all")
    return result


def markdown(rows, diffs, header, classes, explained=None, unambiguous=None):
    titles = ["model", "accuracy", "e vs gamma", *(f"{c} eff." for c in classes)]
    cells = [
        [
            md(r["model"]),
            pm_metric(r, "accuracy"),
            pm_metric(r, "electron_photon"),
            *(f"{v:.3f}" for v in np.diag(r["confusion"])),
            cell(r["train_s"], ".0f"),
            cell(r["inference_per_s"], ",.0f"),
        ]
        for r in rows
    ]
    lines = [header, "", *table([*titles, "train (s)", "images/s"], cells)]
    lines += differences_table(
        diffs, {"accuracy": "accuracy", "electron_photon": "e vs gamma"}
    )
    lines += _binned_tables(rows)
    if unambiguous:
        lines += _unambiguous_table(unambiguous, classes)
    if explained:
        lines += _explain_table(explained)
    return "\n".join(lines) + "\n"


def _binned_tables(rows):
    """Photon accuracy by projected gap; electron and photon by momentum."""
    lines = []
    for key, what, names in (
        ("vs_gap", "Photon accuracy by projected conversion gap (cm)", ("photon",)),
        ("vs_momentum", "Accuracy by momentum (MeV/c)", ("electron", "photon")),
    ):
        edges = rows[0][key]["edges"]
        bins = [f"{lo:g}-{hi:g}" for lo, hi in itertools.pairwise(edges)]
        cells = [
            [md(r["model"]), name, *map(cell, r[key].get(name, []))]
            for r in rows
            for name in names
        ]
        lines += ["", f"{what} (the mean probability over seeds):", ""]
        lines += table(["model", "class", *bins], cells, left=2)
    return lines


def _unambiguous_table(unambiguous, classes):
    """Accuracy and efficiencies on the images whose label is not ambiguous."""
    first = next(iter(unambiguous.values()))
    flagged = ", ".join(
        f"{c} {v:.0%}" for c, v in zip(classes, first["ambiguous_share"], strict=True)
    )
    cells = [
        [md(name), pm_metric(u, "accuracy"), *map(cell, u["efficiency"])]
        for name, u in unambiguous.items()
    ]
    return [
        "",
        (
            f"On the {first['kept']:.1%} of the images whose label is not ambiguous "
            f"(flagged by the simulator: {flagged}; ± seeds ± bootstrap):"
        ),
        "",
        *table(["model", "accuracy", *(f"{c} eff." for c in classes)], cells),
    ]


def _explain_table(explained):
    model, result = explained
    shares = ("start", "start_charge", "vertex", "vertex_area")
    cells = [
        [*key.split("/"), str(v["n"]), *(cell(v[k]) for k in shares)]
        for key, v in result.items()
        if isinstance(v, dict)
    ]
    titles = ["attribution", "class", "prediction", "n", "at start"]
    titles += ["charge at start", "at vertex", "area at vertex"]
    return [
        "",
        (
            f"Where {model} looks (seed {result['seed']}; the first "
            f"{result['n_images'] // 2} electrons and photons, less "
            f"{result['n_unusable']} where a map is zero everywhere; "
            "attribution of the true class; shares within "
            f"{result['radius_cm']:g} cm of the deposit's start and of the true "
            "vertex):"
        ),
        "",
        *table(titles, cells, left=3),
    ]


def load_reused(specs, y_eval):
    """``{model: [probabilities per seed]}`` from earlier runs' ``_probas.npz``.

    Each file must hold the labels of the same evaluation images, in the same
    order (``y``): the paired differences compare image by image. A spec
    ``TAG=PROBAS`` names the file's models ``TAG/model`` (a reused blend
    becomes ``TAG/hgb+cnn``). Two files may hold the same model only with the
    same probabilities.
    """
    reused = {}
    for spec in map(str, specs):
        tag, sep, path = spec.partition("=")
        if not sep or Path(spec).is_file():  # a file whose name holds '='
            tag, path = "", spec
        elif not tag:
            raise SystemExit(f"--reuse {spec}: an empty tag before '='")
        elif bad := sorted(set(tag) & set("+*,/")):
            raise SystemExit(
                f"--reuse {spec}: the tag {tag!r} holds {''.join(bad)!r}, which "
                "--blend and --compare split names on"
            )
        if not Path(path).is_file():
            raise SystemExit(f"--reuse {spec}: no file {path}")
        prefix = f"{tag}/" if tag else ""
        with np.load(path) as data:
            if "y" not in data or not np.array_equal(data["y"], y_eval):
                raise SystemExit(
                    f"--reuse {path}: not the probabilities of these evaluation "
                    "images (its labels y differ; same --config, --split, --npix, "
                    "--n-test and --data-seed?)"
                )
            for key in (k for k in data.files if k != "y"):
                name, probas = prefix + key, list(data[key])
                if name in reused and not np.array_equal(reused[name], probas):
                    raise SystemExit(
                        f"--reuse {spec}: {name} was reused already, with other "
                        "probabilities (tag one of the files: TAG=PROBAS)"
                    )
                reused[name] = probas
    return reused


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_args(argv=None):
    p = study_parser(__doc__, output_dir="particles-study")
    p.add_argument("--config", choices=list(CONFIGS), default="4class")
    p.add_argument("--models", nargs="+", default=["hgb", "resnet", "resnet@aug"])
    p.add_argument("--n-train", type=int, default=10_000, help="images per class")
    p.add_argument("--n-val", type=int, default=2_000)
    p.add_argument("--n-test", type=int, default=5_000)
    p.add_argument("--npix", type=int, default=None, help="image size (config's)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--device", default="auto")
    p.add_argument("--compare", nargs="*", default=["resnet,hgb", "resnet@aug,resnet"])
    p.add_argument(
        "--explain",
        default=None,
        help="a model in --models: figures and the saliency study of its first seed",
    )
    p.add_argument(
        "--n-explain", type=int, default=100, help="electrons and photons it explains"
    )
    p.add_argument(
        "--reuse",
        nargs="*",
        default=[],
        metavar="[TAG=]PROBAS",
        help="earlier runs' _probas.npz on the same evaluation images: their "
        "models join --compare (not the table); with TAG= named TAG/model",
    )
    p.add_argument(
        "--blend",
        nargs="*",
        default=[],
        metavar="A+B",
        help="rows for weighted means of the probabilities of models run or "
        "reused (hgb+cnn@aug, or quoted '0.3*hgb+0.7*cnn@aug'; equal weights "
        "by default)",
    )
    args = parse_study_args(p, argv, SMALL)
    if args.small:
        args.n_explain = min(args.n_explain, 5)
    try:
        args.blend = {spec: parse_blend(spec) for spec in args.blend}
    except ValueError as err:
        p.error(f"--blend: {err}")
    if args.explain is not None and args.explain not in args.models:
        p.error(f"--explain {args.explain}: not among --models")
    if args.explain is not None and _parse(args.explain)[1]["pool"] > 1:
        p.error(f"--explain {args.explain}: maps of pooled images are not drawn")
    args.npix = args.npix or CONFIGS[args.config]["npix"]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    classes = sorted(cfg["classes"], key=lambda c: PARTICLE_CLASSES[c][0])
    pixel_size = cfg["pixel_size"] * cfg["npix"] / args.npix
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    X_train, y_train, _ = simulate("train", args.n_train, args)
    X_val, y_val, info_val = simulate("val", args.n_val, args)
    X_eval, y_eval, info = (
        (X_val, y_val, info_val)
        if args.split == "val"
        else simulate("test", args.n_test, args)
    )
    print(
        f"{args.config}: train {len(y_train):,}, val {len(y_val):,}, "
        f"{args.split} {len(y_eval):,} images of {args.npix} x {args.npix}",
        flush=True,
    )
    reused = load_reused(args.reuse, y_eval)
    for spec, weights in args.blend.items():  # before any training
        missing = [m for m in weights if m not in args.models and m not in reused]
        if missing:
            raise SystemExit(
                f"--blend {spec}: {', '.join(missing)} neither run nor reused"
            )
    hgb_params, tuning = {}, {}
    results, rows, explained = {}, [], None
    # fitted networks kept for a twin that differs only by @tta: (key, seed) -> (est, s)
    keys = [_fit_key(m) for m in args.models]
    shared = {k for k in keys if keys.count(k) > 1}
    fitted = {}
    twins = {}  # (name, seed) -> (proba, train_s, rate) scored with the twin's fit
    stem = out / f"particles_{args.config}_{args.split}"
    store = SeedStore(
        f"{stem}_seeds", args, y_eval, version=f"v{DATA_VERSION}-{hepclf.__version__}"
    )
    for name in args.models:
        base, options = _parse(name)
        if base == "hgb" and name not in hgb_params:
            # tuned on the features its own pipeline computes (once: --resume
            # reads the tuning back)
            features = build(name, seed=0, epochs=1, pixel_size=pixel_size)[:-1]
            hgb_params[name], tuning[name] = store.tuned(
                name, tune_on_features, features, X_train, y_train, X_val, y_val
            )
        seeds = args.seeds[:1] if base == "hgb" else args.seeds
        probas, train_s, rates = [], [], []
        for seed in seeds:
            # the inference rate of the first seed only
            timing = args.timing_repeats if seed == seeds[0] else 0
            key = (_fit_key(name), seed)
            explaining = name == args.explain and seed == seeds[0]
            twinned = (name, seed) in twins and not explaining
            stored = None if explaining or twinned else store.load(name, seed)
            if stored is not None:  # --resume: an earlier run scored it
                proba, seconds, rate = stored
            elif twinned:  # scored, and stored, right after its twin's fit
                proba, seconds, rate = twins[name, seed]
            elif key in fitted:  # the twin's fit, predicting as this model does
                est, seconds = fitted[key]
                est[-1].set_params(augment_predict=options["tta"])
                proba, rate = predict_and_time(est, X_eval, timing)
            else:
                est = build(
                    name,
                    seed=seed,
                    epochs=args.epochs,
                    device=args.device,
                    hgb_params=hgb_params.get(name),
                    pixel_size=pixel_size,
                )
                earlier = 0.0  # the epochs a stopped fit had checkpointed
                if base in NETWORKS:
                    folder = store.checkpoint(key[0], seed)
                    earlier = store.checkpoint_seconds(folder)
                    est[-1].set_params(checkpoint_dir=folder)
                proba, seconds, rate = fit_and_predict(
                    est, X_train, y_train, X_eval, timing
                )
                seconds += earlier
                if key[0] in shared:
                    fitted[key] = (est, seconds)
                    # the twins' predictions too, stored before the next fit
                    for twin in args.models:
                        if twin == name or _fit_key(twin) != key[0]:
                            continue
                        if store.load(twin, seed) is None:
                            tta = _parse(twin)[1]["tta"]
                            est[-1].set_params(augment_predict=tta)
                            twin_proba, twin_rate = predict_and_time(
                                est, X_eval, timing
                            )
                            store.save(twin, seed, twin_proba, seconds, twin_rate)
                            twins[twin, seed] = (twin_proba, seconds, twin_rate)
                    est[-1].set_params(augment_predict=options["tta"])
            if stored is None and not twinned:
                store.save(name, seed, proba, seconds, rate)
            probas.append(proba)
            train_s.append(seconds)
            rates.append(rate)
            if name == args.explain and seed == seeds[0]:
                explained = (
                    name,
                    {
                        "seed": seed,
                        **explain(
                            est,
                            X_eval,
                            y_eval,
                            probas[-1],
                            info,
                            classes,
                            pixel_size,
                            stem,
                            args.n_explain,
                        ),
                    },
                )
            line = seed_line(name, seed, METRICS, y_eval, proba, seconds)
            print(line + (" (resumed)" if stored is not None else ""), flush=True)
        results[name] = probas
        rows.append(
            score_row(
                name,
                y_eval,
                probas,
                info,
                classes,
                n_boot=args.n_boot,
                train_s=float(np.mean(train_s)),
                inference_per_s=median_or_none(rates),
            )
        )
    known = {**reused, **results}
    train = {r["model"]: r["train_s"] for r in rows}
    for spec, weights in args.blend.items():
        known[spec] = results[spec] = blend(known, weights)
        rows.append(
            score_row(
                spec,
                y_eval,
                results[spec],
                info,
                classes,
                n_boot=args.n_boot,
                train_s=sum(train[m] for m in weights)
                if set(weights) <= set(train)
                else None,
                inference_per_s=None,
            )
        )
    bound = gap_only_bound(
        y_eval,
        info,
        pixel_size,
        electron=classes.index("electron"),
        photon=classes.index("photon"),
    )
    diffs = []
    unambiguous = {
        n: unambiguous_scores(y_eval, p, info, n_boot=args.n_boot)
        for n, p in known.items()
    }
    for pair in args.compare:
        a, _, b = pair.partition(",")
        if a in known and b in known:
            d = {"a": a, "b": b}
            d.update(
                paired_differences(
                    METRICS, y_eval, known[a], known[b], n_boot=args.n_boot, seed=0
                )
            )
            diffs.append(d)
        else:
            print(f"--compare {pair}: not run here nor in --reuse, skipped")
    header = (
        f"## Particle images ({args.config}: {', '.join(classes)}), {args.split} "
        f"split\n\n{args.n_train:,} training images per class at {args.npix} x "
        f"{args.npix} ({pixel_size:g} cm pixels); {len(y_eval):,} {args.split} "
        f"images; epochs {args.epochs}; seeds {args.seeds}; {REFERENCE[args.config]}; "
        f"{machine()}.\n\nThe conversion gap alone, the vertex known (a photon "
        "when its projected gap is at least k pixels), would separate electrons "
        "from photons with accuracy "
        + ", ".join(f"{v:.3f} ({k})" for k, v in bound.items())
        + "; the images do not show the vertex."
    )
    text = markdown(rows, diffs, header, classes, explained, unambiguous)
    result = {
        "rows": rows,
        "differences": diffs,
        "gap_only_bound": bound,
        "unambiguous": unambiguous,
        "explained": explained,
        "hgb_tuning": tuning,
        "reused": {n: len(p) for n, p in reused.items()},
        "meta": run_metadata(DATA_VERSION, args),
    }
    write_outputs(stem, text, result, y_eval, results)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
