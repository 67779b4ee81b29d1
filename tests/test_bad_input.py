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
    load_nanoaod,
    load_top_tagging,
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
