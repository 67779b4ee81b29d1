from __future__ import annotations

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from hepclf.datasets import NanoAODEvents, load_nanoaod, write_nanoaod
from hepclf.datasets._nanoaod import DEEPJET_MEDIUM_UL2018

ak = pytest.importorskip("awkward")
uproot = pytest.importorskip("uproot")

F32 = np.float32
WP = F32(DEEPJET_MEDIUM_UL2018)

# Crafted events. Electrons (pt, eta, phi, cutBased, iso03), muons
# (pt, eta, phi, tightId, iso04), jets (pt, eta, phi, jetId, btagDeepFlavB),
# MET (pt, phi), genWeight.
EVENTS = [
    {  # 0: one good electron, one non-isolated; jets at every boundary
        "electrons": [(40, 0.5, 0.1, 4, 0.05), (30, -0.5, 2.0, 4, 0.15)],
        "muons": [],
        "jets": [
            (80, 1.0, -1.0, 6, WP),  # score at the working point: not b-tagged
            (50, -2.0, 2.5, 2, 0.9),  # b-jet, tight without lepton veto
            (45, 2.41, 0.3, 6, 0.1),  # |eta| 2.41: out
            (35, 2.4, -2.0, 6, 0.1),  # |eta| 2.4 (float32): in
            (60, 0.0, 1.5, 0, 0.1),  # fails jetId
            (25, 0.0, 0.0, 6, 0.1),  # below 30 GeV
        ],
        "met": (30, -2.5),
        "weight": 1.5,
    },
    {  # 1: two good leptons, dropped by n_leptons=1
        "electrons": [(25, 0.0, 0.0, 4, 0.01)],
        "muons": [(30, 1.0, 1.0, True, 0.02)],
        "jets": [(40, 0.0, 0.5, 6, 0.1)],
        "met": (12, 0.2),
        "weight": -1.0,
    },
    {  # 2: one tight muon; a non-tight muon, a medium electron; no jets
        "electrons": [(50, 0.0, 0.0, 3, 0.01)],
        "muons": [(55, -1.2, -3.0, True, 0.05), (40, 0.0, 0.0, False, 0.01)],
        "jets": [],
        "met": (10, 1.0),
        "weight": 2.0,
    },
    {  # 3: electron at 19.9 GeV only: no lepton, dropped
        "electrons": [(19.9, 0.0, 0.0, 4, 0.01)],
        "muons": [],
        "jets": [(90, 0.1, 0.1, 6, 0.95)],
        "met": (5, 0.0),
        "weight": 0.5,
    },
    {  # 4: good electron; muon with isolation exactly 0.10 (rejected)
        "electrons": [(21, -0.3, -0.4, 4, 0.0)],
        "muons": [(70, 0.2, 0.3, True, 0.10)],
        "jets": [(31, 0.5, 0.5, 2, WP * F32(1.0000001))],
        "met": (44, 3.0),
        "weight": 3.0,
    },
]

#: What the seed selection gives, by hand (entries 0, 2, 4).
EXPECTED = np.array(
    [
        [
            [1, 40, 0.5, 0.1],
            [5, 80, 1.0, -1.0],
            [6, 50, -2.0, 2.5],
            [5, 35, 2.4, -2.0],
            [7, 30, 0.0, -2.5],
        ],
        [[2, 55, -1.2, -3.0], [7, 10, 0.0, 1.0], *[[0] * 4] * 3],
        [[1, 21, -0.3, -0.4], [6, 31, 0.5, 0.5], [7, 44, 0.0, 3.0], *[[0] * 4] * 2],
    ],
    dtype=F32,
)


def _jagged(events, key, column, dtype):
    return [np.array([o[column] for o in ev[key]], dtype=dtype) for ev in events]


def _branches(events, first_event=100):
    n = len(events)
    b = {
        "run": np.full(n, 1, dtype=np.uint32),
        "luminosityBlock": np.arange(n, dtype=np.uint32) + 7,
        "event": np.arange(n, dtype=np.uint64) + first_event,
        "genWeight": np.array([ev["weight"] for ev in events], dtype=F32),
    }
    for name, dtype in (
        ("pt", F32),
        ("eta", F32),
        ("phi", F32),
        ("cutBased", np.uint8),
        ("pfRelIso03_all", F32),
    ):
        column = ("pt", "eta", "phi", "cutBased", "pfRelIso03_all").index(name)
        b[f"Electron_{name}"] = _jagged(events, "electrons", column, dtype)
    for column, (name, dtype) in enumerate(
        [("pt", F32), ("eta", F32), ("phi", F32), ("tightId", bool)]
    ):
        b[f"Muon_{name}"] = _jagged(events, "muons", column, dtype)
    b["Muon_pfRelIso04_all"] = _jagged(events, "muons", 4, F32)
    # the muons' dR=0.3 isolation: 0.2 higher than the dR=0.4 one
    b["Muon_pfRelIso03_all"] = [x + F32(0.2) for x in b["Muon_pfRelIso04_all"]]
    for column, (name, dtype) in enumerate(
        [
            ("pt", F32),
            ("eta", F32),
            ("phi", F32),
            ("jetId", np.uint8),
            ("btagDeepFlavB", F32),
        ]
    ):
        b[f"Jet_{name}"] = _jagged(events, "jets", column, dtype)
    b["Jet_hadronFlavour"] = [np.full(len(ev["jets"]), 5) for ev in events]
    b["MET_pt"] = np.array([ev["met"][0] for ev in events], dtype=F32)
    b["MET_phi"] = np.array([ev["met"][1] for ev in events], dtype=F32)
    return b


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The crafted events as TTree and RNTuple, flat and records."""
    folder = tmp_path_factory.mktemp("nano")
    b = _branches(EVENTS)
    out = {}
    for rntuple in (False, True):
        for layout in ("flat", "records"):
            name = f"{'rntuple' if rntuple else 'ttree'}_{layout}.root"
            out[rntuple, layout] = write_nanoaod(
                folder / name, b, rntuple=rntuple, layout=layout
            )
    return out


@pytest.fixture(scope="module")
def path(files):
    return files[False, "flat"]


def _write(tmp_path, events=EVENTS, name="f.root", drop=(), **kwargs):
    b = _branches(events, **kwargs)
    for key in drop:
        del b[key]
    return write_nanoaod(tmp_path / name, b)


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


def test_written_ttree_has_nanoaod_names_types_and_counters(path):
    with uproot.open(path) as f:
        tree = f["Events"]
        assert isinstance(tree, uproot.TTree)
        types = tree.typenames()
        keys = tree.keys()
        counts = tree["nJet"].array(library="np")
    assert keys[:4] == ["run", "luminosityBlock", "event", "genWeight"]
    assert {"nElectron", "nMuon", "nJet"} <= set(keys)
    assert types["event"] == "uint64_t"
    assert types["Electron_cutBased"] == "uint8_t[]"
    assert types["Muon_tightId"] == "bool[]"
    assert types["Jet_pt"] == "float[]"
    assert types["MET_pt"] == "float"
    assert_array_equal(counts, [len(ev["jets"]) for ev in EVENTS])


def test_written_records_layouts(files):
    with uproot.open(files[False, "records"]) as f:
        keys = f["Events"].keys()
    assert "Electron.pt" in keys
    assert "nElectron" in keys
    assert "MET.pt" in keys
    assert "Electron_pt" not in keys
    with uproot.open(files[True, "records"]) as f:
        ntuple = f["Events"]
        assert isinstance(ntuple, uproot.behaviors.RNTuple.RNTuple)
        fields = ntuple.arrays().fields
    assert fields[:4] == ["run", "luminosityBlock", "event", "genWeight"]
    assert {"Electron", "Muon", "Jet", "MET"} <= set(fields)
    with uproot.open(files[True, "flat"]) as f:
        keys = f["Events"].keys()
    assert {"nJet", "Jet_pt", "MET_pt"} <= set(keys)


def test_write_round_trip_values(path):
    b = _branches(EVENTS)
    with uproot.open(path) as f:
        tree = f["Events"]
        for name in ("Electron_pt", "Muon_tightId", "Jet_jetId", "Jet_hadronFlavour"):
            got = tree[name].array()
            assert ak.to_list(got) == [x.tolist() for x in b[name]]
        assert_array_equal(tree["event"].array(library="np"), b["event"])


def test_write_accepts_awkward_and_2d(tmp_path):
    p = write_nanoaod(
        tmp_path / "a.root",
        {
            "Jet_pt": ak.Array([[1.0, 2.0], [], [3.0]]),
            "Jet_eta": ak.Array([[0.1, 0.2], [], [0.3]]),
            "Photon_pt": np.ones((3, 2), dtype=F32),
        },
    )
    with uproot.open(p) as f:
        assert ak.to_list(f["Events"]["Jet_eta"].array()) == [[0.1, 0.2], [], [0.3]]
        assert_array_equal(f["Events"]["nPhoton"].array(library="np"), [2, 2, 2])


@pytest.mark.parametrize(
    ("branches", "error", "match"),
    [
        ({"a": np.ones(3), "b": np.ones(2)}, ValueError, "'b' has 2 events but 'a'"),
        ({"Jetpt": [[1.0], []]}, ValueError, "'<Collection>_<variable>'"),
        (
            {"Jet_pt": [[1.0], [2.0]], "Jet_eta": [[1.0], []]},
            ValueError,
            "'Jet_eta' has 0 values in event 1 but 'Jet_pt' has 1",
        ),
        (
            {"Jet_pt": [[1.0], [2.0]], "nJet": np.array([1, 2])},
            ValueError,
            "counter 'nJet' is 2 in event 1",
        ),
        ({"Jet": ak.Array([[{"pt": 1.0}]])}, TypeError, "holds records"),
        ({"x": np.array(["a", "b"])}, TypeError, "numbers or booleans"),
        ({"Jet_pt": ak.Array([[1.0, None]])}, ValueError, "missing"),
        ({}, ValueError, "non-empty mapping"),
    ],
)
def test_write_bad_input(tmp_path, branches, error, match):
    with pytest.raises(error, match=match):
        write_nanoaod(tmp_path / "bad.root", branches)
    assert not list(tmp_path.iterdir())  # no partial file left


# --------------------------------------------------------------------------
# Reading: the seed selection, by hand
# --------------------------------------------------------------------------


def test_seed_selection_hand_computed(path):
    events = load_nanoaod(path)
    assert isinstance(events, NanoAODEvents)
    assert events.objects.dtype == np.float32
    assert_array_equal(events.objects, EXPECTED)
    assert events.weights.dtype == np.float64
    assert_array_equal(events.weights, [1.5, 2.0, 3.0])
    ids = events.ids
    assert list(ids.columns) == ["file", "entry", "run", "luminosityBlock", "event"]
    assert ids.file.tolist() == [str(path)] * 3
    assert ids.entry.tolist() == [0, 2, 4]
    assert ids.luminosityBlock.tolist() == [7, 9, 11]
    assert ids.event.tolist() == [100, 102, 104]


@pytest.mark.parametrize("rntuple", [False, True])
@pytest.mark.parametrize("layout", ["flat", "records"])
def test_ttree_rntuple_flat_records_identical(files, rntuple, layout):
    reference = load_nanoaod(files[False, "flat"], n_leptons=None, selection=None)
    got = load_nanoaod(files[rntuple, layout], n_leptons=None, selection=None)
    assert_array_equal(got.objects, reference.objects)
    assert_array_equal(got.weights, reference.weights)
    columns = ["entry", "run", "luminosityBlock", "event"]
    assert got.ids[columns].equals(reference.ids[columns])
    assert_array_equal(load_nanoaod(files[rntuple, layout]).objects, EXPECTED)


def _types(objects, event):
    return objects[event, :, 0][objects[event, :, 0] > 0].astype(int).tolist()


def _entries(events):
    return events.ids.entry.tolist()


@pytest.mark.parametrize(
    ("kwargs", "entries", "event_types"),
    [
        # the reference: seed selection
        ({}, [0, 2, 4], {0: [1, 5, 6, 5, 7]}),
        ({"n_leptons": None}, [0, 1, 2, 3, 4], {1: [1, 2, 5, 7], 3: [6, 7]}),
        ({"n_leptons": 0}, [3], {}),
        ({"n_leptons": None, "electron_iso_max": 0.2}, None, {0: [1, 1, 5, 6, 5, 7]}),
        ({"n_leptons": None, "electron_iso_max": None}, None, {0: [1, 1, 5, 6, 5, 7]}),
        ({"electron_id": 3}, [0, 4], {}),  # the medium electron joins event 2
        ({"electron_id": None}, [0, 4], {}),
        ({"muon_id": False}, [0, 4], {}),  # event 2 gets two muons
        ({"muon_id": None}, [0, 4], {}),
        ({"muon_iso_max": 0.11}, [0, 2], {}),  # the iso-0.10 muon of event 4
        ({"muon_iso_max": None}, [0, 2], {}),
        ({"electron_pt_min": 19.0}, [0, 2, 3, 4], {}),
        ({"electron_pt_min": None}, [0, 2, 3, 4], {}),
        ({"muon_pt_min": 60.0}, [0, 1, 4], {}),  # event 1 keeps its electron
        ({"muon_eta_max": 1.0}, [0, 4], {}),
        ({"electron_eta_max": 0.4}, [2, 4], {}),
        ({"jet_eta_max": 2.5}, None, {0: [1, 5, 6, 5, 5, 7]}),
        # a float64 threshold compares in the branch's float32: eta 2.4 stays
        ({"jet_eta_max": np.float64(2.4)}, None, {0: [1, 5, 6, 5, 7]}),
        ({"btag_wp": np.float64(WP)}, None, {0: [1, 5, 6, 5, 7]}),
        ({"jet_eta_max": None}, None, {0: [1, 5, 6, 5, 5, 7]}),
        ({"jet_id": None}, None, {0: [1, 5, 5, 6, 5, 7]}),
        ({"jet_id": 4}, None, {0: [1, 5, 5, 7], 2: [1, 7]}),  # needs lepton veto
        ({"jet_pt_min": 20.0}, None, {0: [1, 5, 6, 5, 5, 7]}),
        ({"jet_pt_min": None}, None, {0: [1, 5, 6, 5, 5, 7]}),
        ({"btag_wp": None}, None, {0: [1, 5, 5, 5, 7], 2: [1, 5, 7]}),
        ({"btag_wp": 0.95}, None, {0: [1, 5, 5, 5, 7], 2: [1, 5, 7]}),
        ({"btag_wp": float(WP) - 1e-6}, None, {0: [1, 6, 6, 5, 7]}),
        ({"met": None}, None, {0: [1, 5, 6, 5], 1: [2]}),
        ({"selection": None}, [0, 1, 2, 3, 4], {0: [1, 1, 5, 5, 5, 5, 5, 5, 7]}),
        ({"muon_iso_branch": "Muon_pfRelIso03_all"}, [0, 1, 4], {}),
    ],
)
def test_each_selection_keyword(path, kwargs, entries, event_types):
    events = load_nanoaod(path, **kwargs)
    if entries is not None:
        assert _entries(events) == entries
    for event, types in event_types.items():
        assert _types(events.objects, event) == types
    assert len(events.weights) == len(events.objects) == len(events.ids)


def test_selection_none_keeps_every_object_in_order(path):
    events = load_nanoaod(path, selection=None)
    first = events.objects[0]
    # electrons by decreasing pt, then all six jets by decreasing pt, then MET
    assert_array_equal(first[:, 1], [40, 30, 80, 60, 50, 45, 35, 25, 30])
    assert_array_equal(first[-1], [7, 30, 0, -2.5])
    # an explicit keyword still applies on top of selection=None
    events = load_nanoaod(path, selection=None, jet_pt_min=50.0, btag_wp=0.5)
    assert _types(events.objects, 0) == [1, 1, 5, 5, 6, 7]


def test_weight_keyword(path):
    assert_array_equal(load_nanoaod(path, weight=None).weights, np.ones(3))
    # any per-event branch can be the weight
    assert_array_equal(load_nanoaod(path, weight="MET_pt").weights, [30, 10, 44])


def test_only_the_needed_branches_are_read(tmp_path):
    drop = (
        "Electron_pfRelIso03_all",
        "Muon_pfRelIso04_all",
        "Jet_btagDeepFlavB",
        "Jet_jetId",
        "genWeight",
    )
    p = _write(tmp_path, drop=drop)
    events = load_nanoaod(
        p,
        electron_iso_max=None,
        muon_iso_max=None,
        btag_wp=None,
        jet_id=None,
        weight=None,
    )
    # events 0 (two electrons) and 4 (electron and muon) now have two leptons
    assert _entries(events) == [2]
    for name, kwargs in [
        ("genWeight", {}),
        ("Electron_pfRelIso03_all", {"weight": None}),
        (
            "Jet_btagDeepFlavB",
            {
                "electron_iso_max": None,
                "muon_iso_max": None,
                "weight": None,
                "jet_id": None,
            },
        ),
    ]:
        with pytest.raises(
            ValueError, match=f"{p}: tree 'Events' has no branch {name!r}"
        ):
            load_nanoaod(p, **kwargs)


def test_renamed_branches(tmp_path):
    b = _branches(EVENTS)
    b["Jet_btagPNetB"] = b.pop("Jet_btagDeepFlavB")
    b["PuppiMET_pt"] = b["MET_pt"] + F32(1)
    b["PuppiMET_phi"] = b["MET_phi"]
    p = write_nanoaod(tmp_path / "renamed.root", b)
    events = load_nanoaod(p, btag_branch="Jet_btagPNetB", met="PuppiMET")
    expected = EXPECTED.copy()
    expected[:, :, 1] += np.where(expected[:, :, 0] == 7, 1, 0)
    assert_array_equal(events.objects, expected)


# --------------------------------------------------------------------------
# Many files, empty results, max_objects
# --------------------------------------------------------------------------


def test_many_files_list_and_glob(tmp_path):
    a = _write(tmp_path, EVENTS[:3], name="a.root")
    b = _write(tmp_path, EVENTS[3:], name="b.root", first_event=200)
    for paths in ([a, b], str(tmp_path / "*.root"), [str(tmp_path / "?.root")]):
        events = load_nanoaod(paths)
        assert_array_equal(events.objects, EXPECTED)
        assert events.ids.file.tolist() == [str(a), str(a), str(b)]
        assert events.ids.entry.tolist() == [0, 2, 1]
        assert events.ids.event.tolist() == [100, 102, 201]
    reverse = load_nanoaod([b, a])
    assert_array_equal(reverse.objects[0], EXPECTED[2])  # padded to file a's 5
    assert reverse.objects.shape == (3, 5, 4)


def test_empty_selection(path):
    events = load_nanoaod(path, n_leptons=3)
    assert events.objects.shape == (0, 0, 4)
    assert events.weights.shape == (0,)
    assert len(events.ids) == 0
    assert list(events.ids.columns) == [
        "file",
        "entry",
        "run",
        "luminosityBlock",
        "event",
    ]
    assert load_nanoaod(path, n_leptons=3, max_objects=6).objects.shape == (0, 6, 4)


def test_max_objects_pads_and_raises(path):
    wide = load_nanoaod(path, max_objects=8)
    assert wide.objects.shape == (3, 8, 4)
    assert_array_equal(wide.objects[:, :5], EXPECTED)
    assert not wide.objects[:, 5:].any()
    with pytest.raises(
        ValueError, match=rf"{path}, entry 0: 5 selected objects but max_objects=4"
    ):
        load_nanoaod(path, max_objects=4)


def test_overflow_drop_softest_warns(path):
    with pytest.warns(UserWarning, match=r"dropped the 2 softest jet\(s\) of 1 event"):
        events = load_nanoaod(path, max_objects=3, overflow="drop_softest")
    assert_array_equal(events.objects[0], EXPECTED[0, [0, 1, 4]])  # e, j80, MET
    assert_array_equal(events.objects[2], EXPECTED[2, [0, 1, 2]])  # unchanged
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_nanoaod(path, max_objects=5, overflow="drop_softest")  # nothing dropped
    with pytest.raises(
        ValueError, match="dropping every jet does not fit max_objects=1"
    ):
        load_nanoaod(path, max_objects=1, overflow="drop_softest")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------


def test_missing_branch_names_file_branch_and_closest(tmp_path):
    p = _write(tmp_path, drop=("Muon_pfRelIso04_all",))
    with pytest.raises(ValueError, match="no branch 'Muon_pfRelIso04_all'") as info:
        load_nanoaod(p)
    message = str(info.value)
    assert str(p) in message
    assert "closest names: Muon_pfRelIso03_all" in message


def test_bad_files(tmp_path, path):
    text = tmp_path / "notes.root"
    text.write_text("not a ROOT file at all")
    with pytest.raises(ValueError, match=f"{text} could not be opened as a ROOT file"):
        load_nanoaod(text)
    with pytest.raises(
        ValueError, match=f"{path} has no tree named 'Tree'; objects present: Events"
    ):
        load_nanoaod(path, tree="Tree")
    with pytest.raises(FileNotFoundError, match=r"missing\.root"):
        load_nanoaod(tmp_path / "missing.root")
    with pytest.raises(FileNotFoundError, match="no file matches"):
        load_nanoaod(str(tmp_path / "*.nano"))
    with pytest.raises(IsADirectoryError):
        load_nanoaod(tmp_path)
    with pytest.raises(ValueError, match="paths is empty"):
        load_nanoaod([])


def test_non_finite_values_named(tmp_path):
    b = _branches(EVENTS)
    b["Jet_eta"][3] = np.array([np.nan], dtype=F32)
    p = write_nanoaod(tmp_path / "nan.root", b)
    with pytest.raises(
        ValueError, match=rf"{p}: branch 'Jet_eta' has a NaN value in entry 3"
    ):
        load_nanoaod(p)
    b = _branches(EVENTS)
    b["genWeight"][1] = np.inf
    p = write_nanoaod(tmp_path / "inf.root", b)
    with pytest.raises(
        ValueError, match="branch 'genWeight' has a infinite value in entry 1"
    ):
        load_nanoaod(p)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"selection": "cms"},
        {"n_leptons": -1},
        {"overflow": "truncate"},
        {"max_objects": 0},
        {"jet_pt_min": "high"},
    ],
)
def test_bad_keywords(path, kwargs):
    with pytest.raises(InvalidParameterError):
        load_nanoaod(path, **kwargs)


# --------------------------------------------------------------------------
# EventImager and lazy reading
# --------------------------------------------------------------------------


def test_objects_go_through_event_imager(path):
    from hepclf import EventImager

    events = load_nanoaod(path)
    imager = EventImager(engine="numpy")
    images = imager.transform(events.objects)
    assert images.shape[:2] == (3, 7)
    assert_array_equal(images, imager.transform(EXPECTED))
    # pT-weighted channel per type: each channel sums to its objects' pT
    sums = images[0].sum(axis=(1, 2))
    assert_allclose(sums, [40, 0, 0, 0, 80 + 35, 50, 30], rtol=1e-5)
    assert_allclose(images[1].sum(axis=(1, 2)), [0, 55, 0, 0, 0, 0, 10], rtol=1e-5)
    # the electron disc is centred on (eta 0.5, phi 0.1): 64 px over eta
    # [-3, 3] and phi [-pi, pi)
    electron = images[0, 0]
    rows, cols = np.nonzero(electron)
    assert cols.min() <= (0.5 + 3) / 6 * 64 <= cols.max() + 1
    assert electron[(rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2] > 0


@pytest.mark.slow
@pytest.mark.parametrize("rntuple", [False, True])
def test_lazy_equals_eager(tmp_path, rntuple):
    pytest.importorskip("dask_awkward")
    from hepclf import EventImager
    from hepclf.parallel import transform_dask

    paths = [
        write_nanoaod(tmp_path / f"{k}.root", _branches(EVENTS * 3), rntuple=rntuple)
        for k in range(2)
    ]
    eager = load_nanoaod(paths)
    lazy = load_nanoaod(paths, lazy=True, step_size=4)
    assert type(lazy.objects).__module__.startswith("dask_awkward")
    assert lazy.objects.npartitions == 8
    imager = EventImager(npix=32, engine="numpy")
    images = transform_dask(imager, lazy.objects)
    assert_array_equal(images.compute(), imager.transform(eager.objects))
    assert_array_equal(lazy.weights.compute().to_numpy(), eager.weights)
    ids = lazy.ids.compute()
    assert_array_equal(ids.event.to_numpy(), eager.ids.event)
    assert_array_equal(ids.luminosityBlock.to_numpy(), eager.ids.luminosityBlock)
    padded = ak.to_numpy(ak.fill_none(ak.pad_none(lazy.objects.pt.compute(), 5), 0))
    assert_array_equal(padded, eager.objects[:, :, 1])


def test_lazy_rejects_mixed_layouts(files):
    pytest.importorskip("dask_awkward")
    with pytest.raises(ValueError, match="not of the same kind and layout"):
        load_nanoaod([files[False, "flat"], files[True, "records"]], lazy=True)
