"""Every bad input we tried, and what the user gets: one row of the docs table each.

The table in ``docs/user_guide/bad_input.rst`` is checked against ``CASES``
below, row by row (each case's exception and message must be in its own row's
result cell), so the documentation cannot drift from the behaviour.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from hepclf import (
    CNNClassifier,
    EventFeatures,
    JetImager,
    SubstructureFeatures,
    load_model,
)
from hepclf.datasets import (
    load_hits_csv,
    load_hits_text,
    load_nanoaod,
    load_top_tagging,
    make_drift_chamber_events,
    make_events,
    write_top_tagging,
)

DOC = Path(__file__).parents[1] / "docs" / "user_guide" / "bad_input.rst"
TINY = {
    "max_epochs": 1,
    "module__conv_blocks": ((4,),),
    "module__pool_size": 2,
    "module__dense": (8,),
    "module__dropout": 0.0,
    "random_state": 0,
}


def jets(n=6, k=5):
    rng = np.random.default_rng(0)
    X = np.zeros((n, k, 4))
    X[:, :, 0] = rng.uniform(10, 100, (n, k))  # pt
    X[:, :, 1] = rng.normal(0, 0.2, (n, k))  # eta
    X[:, :, 2] = rng.normal(0, 0.2, (n, k))  # phi
    X[:, :, 3] = 0.1  # mass
    return X


def four_vectors():
    X = jets()
    pt, eta, phi, m = np.moveaxis(X, -1, 0)
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return np.stack([np.sqrt(px**2 + py**2 + pz**2 + m**2), px, py, pz], axis=-1)


def images(n=20):
    rng = np.random.default_rng(1)
    return rng.random((n, 1, 8, 8)).astype(np.float32), np.arange(n) % 2


def with_value(X, index, value):
    X = X.copy()
    X[index] = value
    return X


def fitted_classifier():
    X, y = images()
    return CNNClassifier(**TINY).fit(X, y)


def ptetaphi(**kw):
    return JetImager(npix=8, input_format="ptetaphi", **kw)


def truncated_file(tmp_path):
    X, y = load_top_tagging(split="val")
    path = write_top_tagging(tmp_path / "jets.h5", X[:50], y[:50])
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    return path


def garbage_model(tmp_path):
    path = tmp_path / "model.hepclf"
    path.write_bytes(b"\x00garbage")
    return path


def hostile_model(tmp_path):
    """A saved pipeline whose manifest asks for a joblib cache folder."""
    import json
    import zipfile

    from sklearn.pipeline import make_pipeline

    from hepclf import save_model

    X, y = images(n=16)
    pipe = make_pipeline(CNNClassifier(**TINY).fit(X, y))
    files = {}
    with zipfile.ZipFile(save_model(pipe, tmp_path / "good.hepclf")) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    manifest = json.loads(files["manifest.json"])
    manifest["estimator"]["params"]["memory"] = str(tmp_path / "cache")
    files["manifest.json"] = json.dumps(manifest)
    path = tmp_path / "hostile.hepclf"
    with zipfile.ZipFile(path, "w") as zf:
        for name, blob in files.items():
            zf.writestr(name, blob)
    return path


# (row id, what was tried, call, expected outcome: exception type and message
#  pattern, or None when it works)
CASES = [
    (
        "nan",
        "NaN in a constituent",
        lambda t: ptetaphi().fit_transform(with_value(jets(), (1, 2, 0), np.nan)),
        (ValueError, "contains NaN"),
    ),
    (
        "inf",
        "inf in a constituent",
        lambda t: ptetaphi().fit_transform(with_value(jets(), (1, 2, 1), np.inf)),
        (ValueError, "contains inf"),
    ),
    (
        "negative-pt",
        "negative pT",
        lambda t: ptetaphi().fit_transform(with_value(jets(), (4, 0, 0), -3.0)),
        (ValueError, "negative transverse momentum in jet 4"),
    ),
    (
        "negative-energy",
        "negative energy",
        lambda t: JetImager(npix=8).fit_transform(
            with_value(four_vectors(), (2, 1, 0), -5.0)
        ),
        (ValueError, "negative energy in jet 2"),
    ),
    (
        "zero-pt-row",
        "a row with zero pT but non-zero E or pz",
        lambda t: JetImager(npix=8).fit_transform(
            with_value(four_vectors(), (0, 1, slice(1, 3)), 0.0)
        ),
        (ValueError, "zero transverse momentum"),
    ),
    (
        "empty-input",
        "no jets at all",
        lambda t: ptetaphi().fit_transform(np.zeros((0, 5, 4))),
        (ValueError, "empty"),
    ),
    (
        "empty-jet",
        "a jet with no constituents (JetImager)",
        lambda t: ptetaphi().fit_transform(with_value(jets(), 3, 0.0)),
        None,
    ),
    (
        "empty-jet-substructure",
        "a jet with no constituents (SubstructureFeatures)",
        lambda t: SubstructureFeatures(
            features=["mass"], input_format="ptetaphi"
        ).fit_transform(with_value(jets(), 3, 0.0)),
        (ValueError, "jet 3 has no constituents"),
    ),
    (
        "wrong-rank",
        "a 2-D array of jets",
        lambda t: ptetaphi().fit_transform(np.ones((4, 12))),
        (ValueError, "expected a 3-D array"),
    ),
    (
        "feature-count",
        "5 features per constituent",
        lambda t: ptetaphi().fit_transform(np.ones((4, 3, 5))),
        (ValueError, "expected 3 or 4 features"),
    ),
    (
        "strings",
        "strings instead of numbers",
        lambda t: ptetaphi().fit_transform(np.full((2, 2, 3), "a")),
        (ValueError, "must be numeric"),
    ),
    (
        "ragged-mixed",
        "ragged jets with different feature counts",
        lambda t: ptetaphi().fit_transform([np.ones((2, 3)), np.ones((4, 4))]),
        (ValueError, "mixes feature counts"),
    ),
    (
        "int-input",
        "integer constituents",
        lambda t: ptetaphi().fit_transform(jets().astype(int)),
        None,
    ),
    (
        "float32-input",
        "float32 constituents",
        lambda t: ptetaphi().fit_transform(jets().astype(np.float32)),
        None,
    ),
    (
        "huge-normalised",
        "pT of 1e300 GeV, normalised images",
        lambda t: ptetaphi().fit_transform(with_value(jets(), (0, 0, 0), 1e300)),
        None,
    ),
    (
        "huge-raw",
        "pT of 1e300 GeV, un-normalised images",
        lambda t: ptetaphi(normalize=False).fit_transform(
            with_value(jets(), (0, 0, 0), 1e300)
        ),
        (ValueError, "beyond float32"),
    ),
    (
        "clf-2d",
        "constituents or flat features given to CNNClassifier",
        lambda t: CNNClassifier(**TINY).fit(np.ones((4, 10)), [0, 1, 0, 1]),
        (ValueError, "put an imager"),
    ),
    (
        "mismatched-xy",
        "X and y of different lengths",
        lambda t: CNNClassifier(**TINY).fit(images()[0], images()[1][:-1]),
        (ValueError, "20 samples but y has 19"),
    ),
    (
        "single-class",
        "a single class in y",
        lambda t: CNNClassifier(**TINY).fit(images()[0], np.zeros(20)),
        (ValueError, "single class"),
    ),
    (
        "string-labels",
        "string labels",
        lambda t: (
            CNNClassifier(**TINY)
            .fit(images()[0], np.array(["qcd", "top"])[images()[1]])
            .predict(images()[0])
        ),
        None,
    ),
    (
        "nan-labels",
        "NaN in y",
        lambda t: CNNClassifier(**TINY).fit(
            images()[0], with_value(images()[1].astype(float), 0, np.nan)
        ),
        (ValueError, "y contains NaN"),
    ),
    (
        "image-size",
        "images of another size at predict",
        lambda t: fitted_classifier().predict(np.zeros((2, 1, 9, 9))),
        (ValueError, "fitted on 1 channel"),
    ),
    (
        "bad-imager-parameter",
        "JetImager(npix=0)",
        lambda t: JetImager(npix=0).fit(jets()),
        (
            InvalidParameterError,
            "The 'npix' parameter of JetImager must be an int in the range",
        ),
    ),
    (
        "bad-classifier-parameter",
        'CNNClassifier(precision="fp8")',
        lambda t: CNNClassifier(**TINY, precision="fp8").fit(*images()),
        (
            InvalidParameterError,
            "The 'precision' parameter of CNNClassifier must be a str among",
        ),
    ),
    (
        "not-fitted",
        "predict before fit",
        lambda t: CNNClassifier().predict(images()[0]),
        (NotFittedError, "not fitted"),
    ),
    (
        "bad-weights",
        "sample_weight of the wrong length",
        lambda t: CNNClassifier(**TINY).fit(*images(), sample_weight=np.ones(3)),
        (ValueError, "sample_weight must have shape"),
    ),
    (
        "missing-file",
        "a data file that does not exist",
        lambda t: load_top_tagging(t / "nope.h5"),
        (FileNotFoundError, "nope.h5: no such file"),
    ),
    (
        "truncated-file",
        "a truncated HDF5 file",
        lambda t: load_top_tagging(truncated_file(t)),
        (ValueError, "jets.h5 could not be opened as an HDF5 file"),
    ),
    (
        "damaged-model",
        "a damaged model archive",
        lambda t: load_model(garbage_model(t)),
        (ValueError, "model.hepclf: damaged"),
    ),
    (
        "hostile-model",
        "a model archive whose manifest sets a Pipeline's memory folder",
        lambda t: load_model(hostile_model(t)),
        (ValueError, "but a saved Pipeline always has memory=None"),
    ),
]


# -- EventImager (event objects: rows (type, pt, eta, phi)) ----------------------------
def event_objects(n=6, k=5, types=(1, 2, 3, 4, 5, 6, 7)):
    rng = np.random.default_rng(2)
    X = np.zeros((n, k, 4))
    X[:, :, 0] = rng.choice(types, (n, k))  # type codes
    X[:, :, 1] = rng.uniform(20, 100, (n, k))  # pt
    X[:, :, 2] = rng.normal(0, 1, (n, k))  # eta
    X[:, :, 3] = rng.uniform(-np.pi, np.pi, (n, k))  # phi
    return X


def event_imager(**kw):
    from hepclf import EventImager

    return EventImager(npix=16, **kw)


CASES += [
    (
        "event-unknown-type",
        "an object type code EventImager does not know",
        lambda t: event_imager().fit(with_value(event_objects(), (2, 0, 0), 9)),
        (ValueError, "unknown object type code 9 in event 2"),
    ),
    (
        "event-fractional-type",
        "a fractional object type code",
        lambda t: event_imager().fit(with_value(event_objects(), (1, 3, 0), 2.5)),
        (ValueError, "object type codes must be whole numbers, got 2.5 in event 1"),
    ),
    (
        "event-negative-pt",
        "an event object with negative pT",
        lambda t: event_imager().fit(with_value(event_objects(), (4, 1, 1), -3.0)),
        (ValueError, "EventImager: negative transverse momentum in event 4"),
    ),
    (
        "event-zero-pt",
        "an event object (not padding) with zero pT",
        lambda t: event_imager().fit(
            with_value(event_objects(), (3, 2), [5, 0.0, 0.0, 0.0])
        ),
        (ValueError, "a jet (type 5) has zero pT in event 3"),
    ),
    (
        "event-padding-pt",
        "a padding row (type 0) with non-zero pT",
        lambda t: event_imager().fit(with_value(event_objects(), (0, 4, 0), 0)),
        (ValueError, "a padding row (type 0) has non-zero pT in event 0"),
    ),
    (
        "event-feature-count",
        "3 features per event object",
        lambda t: event_imager().fit(event_objects()[..., :3]),
        (ValueError, "expected 4 or 5 features per object, got 3"),
    ),
    (
        "event-empty-event",
        "an event with no objects",
        lambda t: event_imager().fit_transform(with_value(event_objects(), 3, 0.0)),
        None,
    ),
    (
        "event-beyond-eta",
        "event objects beyond the eta range",
        lambda t: event_imager().fit_transform(
            with_value(event_objects(), (1, 0), [5, 60.0, 4.5, 0.0])
        ),
        None,
    ),
    (
        "event-huge-pt",
        "an event object with pT 1e300 GeV",
        lambda t: event_imager().fit_transform(
            with_value(event_objects(), (0, 0, 1), 1e300)
        ),
        (ValueError, "is beyond float32 images"),
    ),
    (
        "event-rgb-colour",
        'a photon drawn with EventImager(preset="seed")',
        lambda t: event_imager(preset="seed").fit(
            with_value(event_objects(types=(1, 2, 5, 6, 7)), (5, 0, 0), 4)
        ),
        (ValueError, "channels='rgb' has no colour for photon objects"),
    ),
    (
        "bad-event-imager-parameter",
        'EventImager(channels=("jet", "jet"))',
        lambda t: event_imager(channels=("jet", "jet")).fit(event_objects()),
        (InvalidParameterError, "The 'channels' parameter of EventImager must be"),
    ),
]


# -- event files, features and the object transformer --------------------------------
def nanoaod_without_electrons(tmp_path):
    """A NanoAOD-style file with MET and event ids but no Electron branches."""
    pytest.importorskip("uproot")
    from hepclf.datasets import write_nanoaod

    n = 2
    return write_nanoaod(
        tmp_path / "nano.root",
        {
            "run": np.ones(n, np.uint32),
            "luminosityBlock": np.ones(n, np.uint32),
            "event": np.arange(n, dtype=np.uint64),
            "genWeight": np.ones(n, np.float32),
            "MET_pt": np.ones(n, np.float32),
            "MET_phi": np.zeros(n, np.float32),
        },
    )


def not_root(tmp_path):
    path = tmp_path / "events.root"
    path.write_bytes(b"not a ROOT file")
    return path


def object_classifier():
    from hepclf.models import ObjectTransformer  # noqa: F401 (registers the module)

    return CNNClassifier(
        "object_transformer", max_epochs=1, module__dim=8, module__n_heads=2
    )


def event_labels(n=6):
    return np.arange(n) % 3


CASES += [
    (
        "nanoaod-missing-branch",
        "a NanoAOD file without a branch the selection needs",
        lambda t: load_nanoaod(nanoaod_without_electrons(t)),
        (ValueError, "tree 'Events' has no branch 'Electron_pt' (nor 'Electron.pt')"),
    ),
    (
        "nanoaod-not-root",
        "a file that is not ROOT given to load_nanoaod",
        lambda t: load_nanoaod(not_root(t)),
        (ValueError, "could not be opened as a ROOT file"),
    ),
    (
        "nanoaod-no-file",
        "a path or glob that matches no file given to load_nanoaod",
        lambda t: load_nanoaod(t / "nothere.root"),
        (FileNotFoundError, "nothere.root: no such file"),
    ),
    (
        "make-events-process",
        'make_events("qcd", 10): a process it does not generate',
        lambda t: make_events("qcd", 10),
        (
            ValueError,
            "make_events: unknown process 'qcd'; known: ['dy', 'ttbar', 'wjets']",
        ),
    ),
    (
        "dc-unknown-process",
        'make_drift_chamber_events("jpsi_tautau", 5): a process it does not simulate',
        lambda t: make_drift_chamber_events("jpsi_tautau", 5),
        (
            ValueError,
            "unknown process 'jpsi_tautau'; known: ['jpsi_ee', 'jpsi_mumu', 'pipimumu']",
        ),
    ),
    (
        "dc-noise-occupancy",
        "make_drift_chamber_events with noise_occupancy=1.0 (all hits noise)",
        lambda t: make_drift_chamber_events("jpsi_ee", 5, noise_occupancy=1.0),
        (
            InvalidParameterError,
            "'noise_occupancy' parameter of make_drift_chamber_events must be a float",
        ),
    ),
    (
        "event-features-unknown-type",
        "an object type code EventFeatures does not know",
        lambda t: EventFeatures().fit_transform(
            with_value(event_objects(), (4, 0, 0), 9)
        ),
        (ValueError, "EventFeatures: unknown object type code 9 in event 4"),
    ),
    (
        "objects-feature-count",
        'event objects with 3 features given to CNNClassifier("object_transformer")',
        lambda t: object_classifier().fit(event_objects()[:, :, :3], event_labels()),
        (ValueError, "CNNClassifier: expected 4 or 5 features per object"),
    ),
    (
        "objects-unknown-type",
        'an unknown object type code given to CNNClassifier("object_transformer")',
        lambda t: object_classifier().fit(
            with_value(event_objects(), (4, 0, 0), 9), event_labels()
        ),
        (ValueError, "CNNClassifier: unknown object type code 9 in event 4"),
    ),
]


HITS_HEADER = (
    "Event number: 0 Number of digis: 1 T0: 656 MC truth information: "
    "e+: px=1 py=2 pz=3 xi=4 yi=5 zi=6 xf=7 yf=8 zf=9\n"
    "Detector information:\n"
)
HITS_DIGI = (
    "layer=0,\twire=21, stereo=\t1, XE=-76.5,\tYE=-18.25,\tXW=-74.5,"
    "\tYW=24.5,\tRT=500.25,\tRC=2097,\tTRK=1\n"
)


def hits_file(tmp_path, text, name="bad.dat"):
    path = tmp_path / name
    path.write_text(text)
    return path


CASES += [
    (
        "hits-truncated-line",
        "a text dump whose hit line stops after RT (load_hits_text)",
        lambda t: load_hits_text(
            hits_file(t, HITS_HEADER + HITS_DIGI.split(",\tRC")[0] + "\n")
        ),
        (
            ValueError,
            "bad.dat, line 3: truncated line: the detector line ends before field 'RC'",
        ),
    ),
    (
        "hits-bad-number",
        "a hit value that is not a number (load_hits_text)",
        lambda t: load_hits_text(
            hits_file(t, HITS_HEADER + HITS_DIGI.replace("-76.5", "-76.5x"))
        ),
        (ValueError, "bad.dat, line 3: bad number '-76.5x' for 'XE'"),
    ),
    (
        "hits-missing-field",
        "a hit line without YE (load_hits_text)",
        lambda t: load_hits_text(
            hits_file(t, HITS_HEADER + HITS_DIGI.replace("YE=-18.25,", ""))
        ),
        (ValueError, "bad.dat, line 3: missing field 'YE' in the detector line"),
    ),
    (
        "hits-wrong-header",
        "a text dump whose first line is not an event header (load_hits_text)",
        lambda t: load_hits_text(
            hits_file(t, HITS_HEADER.replace("Event number", "Evnt number"))
        ),
        (ValueError, "bad.dat, line 1: wrong header: expected an event header"),
    ),
    (
        "hits-digi-count",
        "an event header whose digi count disagrees with its hit lines",
        lambda t: load_hits_text(
            hits_file(t, HITS_HEADER.replace("digis: 1", "digis: 2") + HITS_DIGI)
        ),
        (
            ValueError,
            (
                "bad.dat, line 1: the event header says 'Number of digis: 2' but 1 "
                "detector lines follow it"
            ),
        ),
    ),
    (
        "hits-csv-wrong-header",
        "a per-event CSV file without the TRK column (load_hits_csv)",
        lambda t: load_hits_csv(
            hits_file(t, "ID,Layer,Wire,Stereo,X,Y,RT,RC\n", name="event_1.csv")
        ),
        (
            ValueError,
            (
                "event_1.csv, line 1: wrong header: expected ID, Layer, Wire, Stereo, "
                "X, Y, RT, RC, TRK"
            ),
        ),
    ),
]


def transfer_fit(tmp_path, **module):
    pytest.importorskip("torchvision")
    X, y = images(n=6)
    params = {f"module__{k}": v for k, v in module.items()}
    return CNNClassifier("transfer", max_epochs=1, **params).fit(
        np.repeat(X, 3, axis=1), y[:6] % 2
    )


CASES += [
    (
        "transfer-missing-weights",
        'CNNClassifier("transfer", module__weights=<a file that does not exist>)',
        lambda t: transfer_fit(t, weights=str(t / "resnet18.pt")),
        (ValueError, "resnet18.pt does not exist, and"),
    ),
    (
        "transfer-unknown-backbone",
        'CNNClassifier("transfer", module__backbone="alexnet")',
        lambda t: transfer_fit(t, backbone="alexnet"),
        (ValueError, "TransferNet: unknown backbone 'alexnet'; available: "),
    ),
]


def explain(estimator, X=None, **kwargs):
    """``hepclf.inspection.saliency`` (needs Captum, the ``explain`` extra)."""
    pytest.importorskip("captum")
    from hepclf.inspection import saliency

    return saliency(estimator, images()[0] if X is None else X, **kwargs)


def confused(estimator, **kwargs):
    """``hepclf.inspection.most_confused`` on ``images()``."""
    from hepclf.inspection import most_confused

    return most_confused(estimator, *images(), **kwargs)


GALLERY_LABELS = (
    "plot_misclassified_gallery: display_labels must give one name per class "
    "(2: [0, 1]), got ['electron']"
)


def gallery(estimator, **kwargs):
    """``hepclf.inspection.plot_misclassified_gallery`` on ``images()``."""
    pytest.importorskip("matplotlib")
    from hepclf.inspection import plot_misclassified_gallery

    return plot_misclassified_gallery(estimator, *images(), **kwargs)


CASES += [
    (
        "explain-unfitted",
        "``saliency`` of a CNNClassifier that was never fitted",
        lambda t: explain(CNNClassifier(**TINY)),
        (NotFittedError, "saliency: this CNNClassifier is not fitted yet"),
    ),
    (
        "explain-unknown-method",
        '``saliency(clf, X, method="deeplift")``',
        lambda t: explain(fitted_classifier(), method="deeplift"),
        (ValueError, "saliency: unknown method 'deeplift'; choose from"),
    ),
    (
        "explain-wrong-shape",
        "``saliency`` of 16 x 16 images for a classifier fitted on 8 x 8",
        lambda t: explain(fitted_classifier(), np.zeros((3, 1, 16, 16))),
        (ValueError, "saliency: CNNClassifier: X has images of 1 channel(s) x (16"),
    ),
    (
        "explain-unknown-target",
        '``saliency(clf, X, target="muon")`` with classes 0 and 1',
        lambda t: explain(fitted_classifier(), target="muon"),
        (ValueError, "saliency: unknown target label(s) ['muon']; the classes are"),
    ),
    (
        "explain-confused-unknown-class",
        '``most_confused(clf, X, y, true="muon")`` with classes 0 and 1',
        lambda t: confused(fitted_classifier(), true="muon"),
        (ValueError, "most_confused: unknown true class 'muon'; the classes are"),
    ),
    (
        "explain-gallery-display-labels",
        '``plot_misclassified_gallery(..., display_labels=["e"])``, classes 0, 1',
        lambda t: gallery(fitted_classifier(), display_labels=["electron"]),
        (ValueError, GALLERY_LABELS),
    ),
]


def summary_of_bad_shape():
    from torch import nn

    from hepclf.models import summary

    return summary(nn.Conv2d(1, 2, 3), (1, 0, 28))


CASES += [
    (
        "models-image-too-small",
        'CNNClassifier("alexnet") on 32x32 images',
        lambda t: CNNClassifier("alexnet", max_epochs=1).fit(
            np.zeros((4, 1, 32, 32), np.float32), np.arange(4) % 2
        ),
        (ValueError, "AlexNet: an image of size (32, 32) is too small"),
    ),
    (
        "models-unshuffle-odd-image",
        'CNNClassifier("inception", module__pixel_unshuffle=2) on 33x32 images',
        lambda t: CNNClassifier(
            "inception", max_epochs=1, module__pixel_unshuffle=2
        ).fit(np.zeros((4, 1, 33, 32), np.float32), np.arange(4) % 2),
        (ValueError, "pixel_unshuffle=2 needs an image whose height and width are"),
    ),
    (
        "models-unshuffle-odd-image-resnet",
        'CNNClassifier("resnet", module__pixel_unshuffle=2) on 33x32 images',
        lambda t: CNNClassifier("resnet", max_epochs=1, module__pixel_unshuffle=2).fit(
            np.zeros((4, 1, 33, 32), np.float32), np.arange(4) % 2
        ),
        (ValueError, "ResNet: pixel_unshuffle=2 needs an image whose height and"),
    ),
    (
        "models-summary-input-shape",
        "hepclf.models.summary(module, input_shape=(1, 0, 28))",
        lambda t: summary_of_bad_shape(),
        (ValueError, "summary: input_shape must be a sequence of positive integers"),
    ),
]


# -- liquid-argon particle-image files (challenge HDF5 layout, larcv3 sparse2d) ------
def particle_file(tmp_path, **datasets):
    """A plain h5py file with the given datasets (defaults: a valid small file)."""
    import h5py

    data = {"image": np.zeros((3, 8, 8), np.float32), "pdg": np.array([11, 13, 22])}
    data.update(datasets)
    path = tmp_path / "particles.h5"
    with h5py.File(path, "w") as f:
        for name, value in data.items():
            if value is not None:
                f.create_dataset(name, data=value)
    return path


def larcv_without_voxels(tmp_path):
    import h5py

    from hepclf.datasets import write_larcv_sparse2d

    path = write_larcv_sparse2d(tmp_path / "larcv.h5", np.ones((2, 1, 4, 4)))
    with h5py.File(path, "r+") as f:
        del f["Data/sparse2d_data_group/voxels"]
    return path


def load_particles(path, **kw):
    from hepclf.datasets import load_particle_images

    return load_particle_images(path, **kw)


def load_larcv(path):
    from hepclf.datasets import load_larcv_sparse2d

    return load_larcv_sparse2d(path)


CASES += [
    (
        "lar-file-missing-image",
        "a particle-image file without the 'image' dataset",
        lambda t: load_particles(particle_file(t, image=None)),
        (ValueError, "particles.h5 has no dataset 'image', so it is not in the"),
    ),
    (
        "lar-file-image-rank",
        "a particle-image file whose 'image' dataset is 2-D",
        lambda t: load_particles(particle_file(t, image=np.zeros((3, 64)))),
        (ValueError, "particles.h5: dataset 'image' has shape (3, 64); expected 3"),
    ),
    (
        "lar-file-pdg-length",
        "'image' and 'pdg' datasets of different lengths",
        lambda t: load_particles(particle_file(t, pdg=np.array([11, 13, 22, 11]))),
        (ValueError, "dataset 'image' has 3 images but dataset 'pdg' has 4 codes"),
    ),
    (
        "lar-file-unknown-pdg",
        "a PDG code outside the classes given to load_particle_images",
        lambda t: load_particles(
            particle_file(t, pdg=np.array([11, 13, 211])), classes=[11, 13, 22, 2212]
        ),
        (ValueError, "holds PDG code 211 (image 2), which is not in classes [11, 13"),
    ),
    (
        "lar-file-nan-pixel",
        "a NaN pixel in a particle-image file",
        lambda t: load_particles(
            particle_file(t, image=with_value(np.zeros((3, 8, 8)), (1, 2, 2), np.nan))
        ),
        (ValueError, "particles.h5: dataset 'image' has NaN pixels in image 1"),
    ),
    (
        "lar-file-larcv-missing-dataset",
        "a larcv3 sparse2d group without its 'voxels' dataset",
        lambda t: load_larcv(larcv_without_voxels(t)),
        (
            ValueError,
            "larcv.h5: group '/Data/sparse2d_data_group' has no dataset 'voxels'",
        ),
    ),
    (
        "lar-file-larcv-not-larcv",
        "a challenge-layout file given to load_larcv_sparse2d",
        lambda t: load_larcv(particle_file(t)),
        (ValueError, "particles.h5 has no group '/Data', so it is not a larcv3 file"),
    ),
]


# -- the liquid-argon particle gun -------------------------------------------------
def particle_gun(**kw):
    from hepclf.datasets import make_particle_images

    return make_particle_images(1, **{"npix": 16, "progress": False, **kw})


CASES += [
    (
        "lar-unknown-class",
        "make_particle_images with a class it does not simulate",
        lambda t: particle_gun(classes=("muon", "kaon")),
        (ValueError, "make_particle_images: unknown class 'kaon'; known: ['electron'"),
    ),
    (
        "lar-momentum-range",
        "make_particle_images with a momentum range whose low end is above its high",
        lambda t: particle_gun(momentum_ranges={"muon": (500, 100)}),
        (ValueError, "bad momentum range for 'muon': (500, 100); need (low, high)"),
    ),
    (
        "lar-npix-small",
        "make_particle_images with images of 8 x 8 pixels",
        lambda t: particle_gun(npix=8),
        (InvalidParameterError, "'npix' parameter of make_particle_images must be an"),
    ),
]


def _regressor(**kw):
    from hepclf import CNNRegressor

    return CNNRegressor(**TINY, **kw)


CASES += [
    (
        "regressor-target-nan",
        "a NaN or infinite regression target",
        lambda t: _regressor().fit(images()[0], with_value(np.ones(20), 4, np.nan)),
        (
            ValueError,
            "CNNRegressor: y contains NaN or inf (sample 4; 1 sample(s) in all)",
        ),
    ),
    (
        "regressor-target-shape",
        "regression targets of shape (n, 2, 2)",
        lambda t: _regressor().fit(images()[0], np.ones((20, 2, 2))),
        (
            ValueError,
            (
                "CNNRegressor: y must be 1-D (one target per sample) or 2-D "
                "(n_samples, n_outputs), got shape (20, 2, 2)"
            ),
        ),
    ),
    (
        "explain-regressor-target",
        "``saliency`` of a two-output CNNRegressor with ``target=2``",
        lambda t: explain(_regressor().fit(images()[0], np.ones((20, 2))), target=2),
        (ValueError, "saliency: target must be an output index in [0, 2)"),
    ),
    (
        "augment-not-images",
        "augmentation with a module that does not take images",
        lambda t: CNNClassifier(
            "particle_transformer", max_epochs=1, augment_flip=True
        ).fit(four_vectors(), np.arange(6) % 2),
        (
            ValueError,
            (
                "CNNClassifier: augmentation (augment_flip=True) transforms images, but "
                "the module 'particle_transformer' takes 'particles' input"
            ),
        ),
    ),
    (
        "augment-rot90-not-square",
        "augment_rot90=True with images that are not square",
        lambda t: CNNClassifier(**TINY, augment_rot90=True).fit(
            images()[0][..., :6], images()[1]
        ),
        (
            ValueError,
            (
                "CNNClassifier: augment_rot90=True turns square images only, but the "
                "training images are 8 x 6"
            ),
        ),
    ),
    (
        "augment-predict-no-symmetry",
        "augment_predict=True with neither augment_flip nor augment_rot90",
        lambda t: CNNClassifier(**TINY, augment_predict=True).fit(*images()),
        (
            ValueError,
            (
                "CNNClassifier: augment_predict=True averages the predictions over "
                "the flips and quarter turns of augment_flip and augment_rot90, but "
                "both are off"
            ),
        ),
    ),
]


# -- EnergyEncoder (drift-chamber hits: rows (x, y, charge, layer, ...)) ----------------
def hit_rows(n=6, k=5):
    rng = np.random.default_rng(3)
    layer = rng.integers(0, 43, (n, k))
    r = 80.0 + 16.0 * layer
    phi = rng.uniform(-np.pi, np.pi, (n, k))
    charge = rng.uniform(100, 2000, (n, k))
    return np.stack([r * np.cos(phi), r * np.sin(phi), charge, layer], axis=-1)


def energy_encoder(**kw):
    from hepclf import EnergyEncoder

    return EnergyEncoder(npix=16, **kw)


def warning_raised(call):
    """Run ``call`` with UserWarnings raised as errors (what the row shows)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        return call()


CASES += [
    (
        "hits-enc-nan",
        "NaN in a hit given to ``EnergyEncoder``",
        lambda t: energy_encoder().fit(with_value(hit_rows(), (3, 1, 0), np.nan)),
        (ValueError, "EnergyEncoder: the input contains NaN values"),
    ),
    (
        "hits-enc-negative-charge",
        "a hit with negative charge",
        lambda t: energy_encoder().fit(with_value(hit_rows(), (4, 2, 2), -5.0)),
        (ValueError, "EnergyEncoder: negative charge in event 4 (hit 2: -5)"),
    ),
    (
        "hits-enc-outside",
        "hits beyond ``extent``",
        lambda t: warning_raised(
            lambda: energy_encoder().fit_transform(
                with_value(hit_rows(), (1, 0), [900.0, 0.0, 300.0, 42])
            )
        ),
        (UserWarning, "EnergyEncoder: 1 hit(s) lie beyond the extent"),
    ),
    (
        "hits-enc-bad-layer",
        'a layer outside ``[0, n_layers)`` with ``geometry="unrolled"``',
        lambda t: energy_encoder(geometry="unrolled").fit(
            with_value(hit_rows(), (2, 1, 3), 43)
        ),
        (
            ValueError,
            (
                "EnergyEncoder: layer 43 of hit 1 in event 2 is not a whole number "
                "in [0, 43)"
            ),
        ),
    ),
    (
        "hits-enc-no-layer",
        '(x, y, charge) hits with ``geometry="unrolled"``',
        lambda t: energy_encoder(geometry="unrolled").fit(hit_rows()[..., :3]),
        (ValueError, "EnergyEncoder: geometry='unrolled' needs the layer feature"),
    ),
    (
        "hits-enc-empty-event",
        "an event whose rows are all padding",
        lambda t: energy_encoder().fit_transform(with_value(hit_rows(), 3, 0.0)),
        None,
    ),
    (
        "hits-enc-huge-charge",
        "a charge of 1e300 with ``scale_quantile=None``",
        lambda t: energy_encoder(scale_quantile=None).fit_transform(
            with_value(hit_rows(), (0, 0, 2), 1e300)
        ),
        (ValueError, "EnergyEncoder: the per_hit charge of event 0 is 1e+300"),
    ),
]


@pytest.mark.parametrize(
    ("row", "what", "call", "outcome"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_input(row, what, call, outcome, tmp_path):
    if outcome is None:
        result = call(tmp_path)
        assert np.all(np.isfinite(result)) if result.dtype.kind == "f" else len(result)
        return
    error, pattern = outcome
    with pytest.raises(error, match=re.escape(pattern)):
        call(tmp_path)


def doc_table(text):
    """The rows of the page's list-table: ``{row id: (input, result)}``."""
    lines = text.splitlines()
    start = lines.index(".. list-table::") + 1
    rows = []
    for line in lines[start:]:
        if line and not line.startswith(" "):  # the table has ended
            break
        if line.startswith("   * - "):
            rows.append([line[7:]])
        elif line.startswith("     - "):
            rows[-1].append(line[7:])
        elif line.startswith("       ") and rows:  # a cell continued
            rows[-1][-1] += " " + line.strip()
    assert rows[0] == ["row id", "input", "result"], rows[0]
    table = {}
    for cells in rows[1:]:
        assert len(cells) == 3, cells
        row_id, what, result = cells
        assert re.fullmatch(r"``[a-z0-9-]+``", row_id), row_id
        assert row_id[2:-2] not in table, f"{row_id} twice"
        table[row_id[2:-2]] = (what, result)
    return table


def test_doc_table_parser():
    text = """Intro.

.. list-table::
   :header-rows: 1

   * - row id
     - input
     - result
   * - ``a-row``
     - what
     - ``ValueError``: "one
       message"
   * - ``b``
     - other
     - works

After the table.
"""
    assert doc_table(text) == {
        "a-row": ("what", '``ValueError``: "one message"'),
        "b": ("other", "works"),
    }


def test_docs_table_lists_every_case_with_its_result():
    table = doc_table(DOC.read_text())
    ids = [row for row, *_ in CASES]
    assert len(set(ids)) == len(ids)
    assert set(table) == set(ids), (
        f"rows without a case: {sorted(set(table) - set(ids))}; "
        f"cases without a row: {sorted(set(ids) - set(table))}"
    )
    for row, _what, _, outcome in CASES:
        result = table[row][1]
        if outcome is None:
            assert result.startswith("works"), f"{row}: {result}"
            continue
        error, message = outcome
        assert f"{error.__name__}``" in result, f"{row}: {error.__name__} in {result}"
        assert message in result, f"{row}: {message!r} not in {result!r}"
