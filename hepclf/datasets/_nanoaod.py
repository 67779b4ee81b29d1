"""Read and write CMS NanoAOD files (the ``root`` extra: uproot and awkward).

NanoAOD stores one entry per collision event in a tree named ``Events``:
event-level branches (``run``, ``luminosityBlock``, ``event``,
``genWeight``), and one group of branches per collection of objects, named
``<Collection>_<variable>`` (``Electron_pt``, ``Jet_btagDeepFlavB``) with a
counter ``n<Collection>`` (``nElectron``) giving the number of objects in the
event. Single-object groups such as ``MET_pt`` are plain per-event values.
Some skims store a collection as records instead (``Electron.pt``: a branch or
RNTuple field ``Electron`` with sub-fields); both layouts, in a TTree or an
RNTuple, are read and written here.
"""

from __future__ import annotations

import difflib
import glob
import os
import warnings
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from ..imaging._event import OBJECT_TYPES
from ..utils._optional import import_optional

__all__ = ["NanoAODEvents", "load_nanoaod", "write_nanoaod"]

#: Entries written per ``extend`` call (one basket or cluster each).
_ENTRIES_PER_BASKET = 100_000


def _event_values(name: str, values, ak) -> tuple[object, bool]:
    """One branch's values as (awkward or NumPy array, is_jagged)."""
    if type(values).__module__.startswith("awkward"):
        array = ak.Array(values)
        if array.fields:
            raise TypeError(
                f"write_nanoaod: branch {name!r} holds records (fields "
                f"{array.fields}); pass one branch per variable, e.g. "
                f"'{name}_{array.fields[0]}'"
            )
        if ak.any(ak.is_none(array, axis=-1), axis=None):
            raise ValueError(
                f"write_nanoaod: branch {name!r} has missing (None) values; "
                "NanoAOD branches hold numbers only"
            )
        array = ak.to_packed(ak.from_regular(ak.drop_none(array), axis=None))
        if array.ndim == 1:
            return _numbers(name, ak.to_numpy(array)), False
        if array.ndim == 2:
            flat = _numbers(name, ak.to_numpy(ak.flatten(array)))
            return ak.unflatten(flat, ak.to_numpy(ak.num(array))), True
        raise ValueError(
            f"write_nanoaod: branch {name!r} must hold one number or one list "
            f"of numbers per event, got type {array.type}"
        )
    if isinstance(values, np.ndarray):
        if values.ndim == 1:
            return _numbers(name, values), False
        if values.ndim == 2:
            flat = _numbers(name, values.reshape(-1))
            return ak.unflatten(flat, np.full(len(values), values.shape[1])), True
        raise ValueError(
            f"write_nanoaod: branch {name!r} must be 1-D (one number per event) "
            f"or jagged (one list of numbers per event), got shape {values.shape}"
        )
    items = list(values)
    if items and all(np.ndim(v) == 0 for v in items):
        return _numbers(name, np.asarray(items)), False
    rows = [np.asarray(v) for v in items]
    bad = next((i for i, r in enumerate(rows) if r.ndim != 1), None)
    if bad is not None:
        raise ValueError(
            f"write_nanoaod: branch {name!r}, event {bad}: expected a 1-D list of "
            f"numbers per event (or one number per event), got shape "
            f"{rows[bad].shape}"
        )
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    flat = np.concatenate(rows) if rows else np.zeros(0)
    if not len(flat):
        flat = flat.astype(np.float64)
    return ak.unflatten(_numbers(name, flat), counts), True


def _numbers(name: str, a: np.ndarray) -> np.ndarray:
    if not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(
            f"write_nanoaod: branch {name!r} must hold numbers or booleans, got "
            f"dtype {a.dtype}"
        )
    return np.ascontiguousarray(a)


def _group(
    branches: Mapping, ak
) -> tuple[int, list, dict[str, np.ndarray], dict[str, dict[str, object]], dict]:
    """Split the branches into scalars and collections, with their checks.

    Returns the number of events, the branch names in order (counters
    dropped), the per-event branches by name, the collections
    (``{"Electron": {"pt": values, ...}}``) and their counts.
    """
    if not isinstance(branches, Mapping) or not branches:
        raise ValueError(
            "write_nanoaod: branches must be a non-empty mapping of branch name "
            "to per-event values"
        )
    n_events = None
    first = None
    scalars: dict[str, np.ndarray] = {}
    jagged: dict[str, object] = {}
    for name, values in branches.items():
        if not isinstance(name, str) or not name:
            raise TypeError(
                f"write_nanoaod: branch names must be strings, got {name!r}"
            )
        array, is_jagged = _event_values(name, values, ak)
        if n_events is None:
            n_events, first = len(array), name
        elif len(array) != n_events:
            raise ValueError(
                f"write_nanoaod: branch {name!r} has {len(array)} events but "
                f"{first!r} has {n_events}; every branch needs one value (or one "
                "list) per event"
            )
        (jagged if is_jagged else scalars)[name] = array

    collections: dict[str, dict[str, object]] = {}
    counts: dict[str, np.ndarray] = {}
    owner: dict[str, str] = {}
    for name, array in jagged.items():
        collection, sep, field = name.partition("_")
        if not sep or not collection or not field:
            raise ValueError(
                f"write_nanoaod: jagged branch {name!r} must be named "
                "'<Collection>_<variable>' (e.g. 'Electron_pt')"
            )
        n = ak.to_numpy(ak.num(array)).astype(np.int64)
        if collection in counts:
            differ = np.flatnonzero(n != counts[collection])
            if len(differ):
                i = int(differ[0])
                raise ValueError(
                    f"write_nanoaod: branch {name!r} has {n[i]} values in event {i} "
                    f"but {owner[collection]!r} has {counts[collection][i]}; the "
                    f"branches of collection {collection!r} must have equal lengths"
                )
        else:
            counts[collection], owner[collection] = n, name
        collections.setdefault(collection, {})[field] = array

    for collection, n in counts.items():
        counter = f"n{collection}"
        if counter in scalars:
            given = scalars.pop(counter)
            differ = np.flatnonzero(given != n)
            if len(differ):
                i = int(differ[0])
                raise ValueError(
                    f"write_nanoaod: counter {counter!r} is {given[i]} in event {i} "
                    f"but {owner[collection]!r} has {n[i]} values there"
                )
        if counter in jagged:
            raise ValueError(f"write_nanoaod: counter {counter!r} must be 1-D")
    order = [name for name in branches if name in scalars or name in jagged]
    return n_events, order, scalars, collections, counts


def _columns(order, scalars, collections, counts, *, rntuple, layout, ak):
    """Arrange the data to write as ``{name: array}`` in the writer's naming.

    Groups (collections, and per-event groups in the records layout) take the
    place of their first branch in ``order``.
    """
    groups: dict[str, dict[str, np.ndarray]] = {}
    slots: dict[str, tuple[str, str]] = {}
    for name in order:
        prefix, sep, field = name.partition("_")
        if prefix in collections and name not in scalars:
            slots.setdefault(f"collection {prefix}", ("collection", prefix))
        elif layout == "records" and sep and prefix and field:
            groups.setdefault(prefix, {})[field] = scalars[name]
            slots.setdefault(f"group {prefix}", ("group", prefix))
        else:
            slots[f"branch {name}"] = ("branch", name)

    data: dict[str, object] = {}
    for kind, name in slots.values():
        written = [name]
        if kind == "collection" and layout == "flat" and rntuple:
            # a TTree writes the counter itself; an RNTuple needs it as a field
            written = [f"n{name}", *(f"{name}_{f}" for f in collections[name])]
        clash = next((w for w in written if w in data), None)
        if clash is not None:
            raise ValueError(
                f"write_nanoaod: two branches or groups would both be written as "
                f"{clash!r}; rename one, or use layout='flat'"
            )
        if kind == "branch":
            data[name] = scalars[name]
        elif kind == "group":
            data[name] = ak.zip(groups[name])
        elif len(written) > 1:
            data[written[0]] = counts[name].astype(np.int32)
            for field, values in collections[name].items():
                data[f"{name}_{field}"] = values
        else:
            data[name] = ak.zip(collections[name])
    return data


def _type_of(values, ak):
    if isinstance(values, np.ndarray):
        return values.dtype
    return values.type.content


def write_nanoaod(
    path: str | os.PathLike,
    branches: Mapping,
    *,
    tree: str = "Events",
    rntuple: bool = False,
    layout: str = "flat",
) -> Path:
    """Write events to a NanoAOD-style ROOT file.

    Writes one entry per event with the branch names given, as CMS NanoAOD
    does, so that :func:`load_nanoaod`, uproot and ROOT read it like a real
    NanoAOD file. Needs the ``root`` extra (uproot and awkward).

    Parameters
    ----------
    path : str or path-like
        Output file; it is replaced if it exists (written to a temporary file
        first, so a failed write leaves no partial file).
    branches : mapping of str to array-like
        NanoAOD branch names (``run``, ``luminosityBlock``, ``event``,
        ``genWeight``, ``Electron_pt``, ``Electron_cutBased``, ``Muon_tightId``,
        ``Jet_btagDeepFlavB``, ``MET_pt``, ...) to per-event values, all with
        the same number of events:

        - a per-event branch (``run``, ``MET_pt``) is a 1-D array (or list of
          numbers) with one value per event;
        - a collection branch is jagged, one list of values per event: an
          awkward array of type ``n * var * number``, a list of 1-D arrays, or
          a 2-D NumPy array (every event with as many objects as columns). It
          must be named ``<Collection>_<variable>``, and all the branches of
          one collection must have the same number of values in every event.

        Values are numbers or booleans and are stored with their own dtype
        (use NanoAOD's: float32 kinematics and ``genWeight``, uint32 ``run``
        and ``luminosityBlock``, uint64 ``event``, bool ``Muon_tightId``,
        integer ``Electron_cutBased``, ``Jet_jetId``, ``Jet_hadronFlavour``).
        They are written as given, NaN included. The counter ``n<Collection>``
        of each collection is written for it; if ``branches`` holds it too,
        it must equal the collection's lengths.
    tree : str, default="Events"
        Name of the TTree or RNTuple.
    rntuple : bool, default=False
        Write an RNTuple instead of a TTree, with the same names and values.
    layout : {"flat", "records"}, default="flat"
        ``"flat"``: NanoAOD's own naming, a branch (or RNTuple field)
        ``Electron_pt`` per variable plus the counter ``nElectron``.
        ``"records"``: each group stored as records, as some skims do. In a
        TTree the branches are named ``Electron.pt`` (with the counter
        ``nElectron``); in an RNTuple, ``Electron`` is one field of type
        ``var * {pt, eta, ...}`` with sub-fields ``Electron.pt`` (its length
        is stored with it, no counter). Per-event groups such as ``MET_pt``
        become ``MET.pt`` likewise. Names without ``_`` (``run``, ``event``,
        ``genWeight``) are the same in both layouts.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        If branches have different numbers of events, a jagged branch is not
        named ``<Collection>_<variable>``, the branches of a collection (or
        its counter) disagree on an event's number of objects (the message
        names the branches and the event), values are missing (None), or
        ``tree`` or ``layout`` is invalid.
    TypeError
        If a branch holds something other than numbers or booleans, or
        records.

    See Also
    --------
    load_nanoaod : Read such files into the input of :class:`hepclf.EventImager`.

    Notes
    -----
    The TTree is written with uproot's ``mktree`` and ``extend`` (assigning a
    dict to a file in uproot 5.7 writes an RNTuple), the RNTuple with
    ``mkrntuple`` and ``extend``, in blocks of 100,000 entries.

    Examples
    --------
    >>> import numpy as np
    >>> import uproot
    >>> from hepclf.datasets import write_nanoaod
    >>> path = write_nanoaod(
    ...     getfixture("tmp_path") / "nano.root",
    ...     {
    ...         "event": np.array([1, 2], dtype=np.uint64),
    ...         "Jet_pt": [np.array([50.0, 35.0], dtype=np.float32), []],
    ...         "MET_pt": np.array([20.0, 15.0], dtype=np.float32),
    ...     },
    ... )
    >>> with uproot.open(path) as f:
    ...     f["Events"].keys()
    ['event', 'nJet', 'Jet_pt', 'MET_pt']
    """
    ak = import_optional("awkward")
    uproot = import_optional("uproot")
    if layout not in ("flat", "records"):
        raise ValueError(
            f"write_nanoaod: layout must be 'flat' or 'records', got {layout!r}"
        )
    if not isinstance(tree, str) or not tree or "/" in tree:
        raise ValueError(
            f"write_nanoaod: tree must be a non-empty name without '/', got {tree!r}"
        )
    n_events, order, scalars, collections, counts = _group(branches, ak)
    data = _columns(
        order,
        scalars,
        collections,
        counts,
        rntuple=bool(rntuple),
        layout=layout,
        ak=ak,
    )
    types = {name: _type_of(values, ak) for name, values in data.items()}

    path = Path(os.fspath(path))
    tmp = path.with_name(path.name + ".tmp")
    try:
        with uproot.recreate(tmp) as f:
            if rntuple:
                f.mkrntuple(tree, types)
            else:
                f.mktree(
                    tree,
                    types,
                    counter_name=lambda collection: f"n{collection}",
                    field_name=(
                        (lambda collection, field: f"{collection}.{field}")
                        if layout == "records"
                        else (lambda collection, field: f"{collection}_{field}")
                    ),
                )
            out = f[tree]
            for start in range(0, n_events, _ENTRIES_PER_BASKET):
                stop = start + _ENTRIES_PER_BASKET
                out.extend({name: values[start:stop] for name, values in data.items()})
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

#: Medium working point of DeepJet (``Jet_btagDeepFlavB``) for 2018
#: ultra-legacy data and simulation, from the CMS BTV recommendations
#: (BtagRecommendation106XUL18); the pre-UL 2018 value was 0.2770.
DEEPJET_MEDIUM_UL2018 = 0.2783

#: Object selections by name: ``"seed"`` is the selection of the CMS event
#: images of jzyee/cms_image_classification (``procesador.py``), with
#: NanoAOD's branches for its tight IDs.
SELECTIONS: dict[str | None, dict[str, Any]] = {
    "seed": {
        "n_leptons": 1,
        "electron_pt_min": 20.0,
        "electron_eta_max": None,
        "electron_id": 4,
        "electron_iso_max": 0.10,
        "muon_pt_min": 20.0,
        "muon_eta_max": None,
        "muon_id": True,
        "muon_iso_max": 0.10,
        "jet_pt_min": 30.0,
        "jet_eta_max": 2.4,
        "jet_id": 2,
        "btag_wp": DEEPJET_MEDIUM_UL2018,
    },
    None: {
        "n_leptons": None,
        "electron_pt_min": None,
        "electron_eta_max": None,
        "electron_id": None,
        "electron_iso_max": None,
        "muon_pt_min": None,
        "muon_eta_max": None,
        "muon_id": None,
        "muon_iso_max": None,
        "jet_pt_min": None,
        "jet_eta_max": None,
        "jet_id": None,
        "btag_wp": None,
    },
}

#: Sentinel default of the cut keywords: take the value from ``selection``.
PRESET = "preset"

#: Columns of ``NanoAODEvents.ids`` read from the file.
ID_BRANCHES = ("run", "luminosityBlock", "event")


class NanoAODEvents(NamedTuple):
    """Events read by :func:`load_nanoaod`.

    Parameters
    ----------
    objects : ndarray of shape (n_events, n_objects, 4), dtype float32
        Rows ``(type, pt, eta, phi)`` (GeV, rad) with the type codes of
        :data:`hepclf.imaging.OBJECT_TYPES`, zero padded at the end: the input
        of :class:`hepclf.EventImager`. With ``lazy=True``, a dask-awkward
        array of per-event lists of records with fields ``type, pt, eta,
        phi``.
    weights : ndarray of shape (n_events,), dtype float64
        Per-event weights (``genWeight`` by default; ones with
        ``weight=None``). With ``lazy=True``, a dask-awkward array.
    ids : pandas.DataFrame
        Columns ``file``, ``entry`` (the event's index in its file), ``run``,
        ``luminosityBlock``, ``event``, one row per event. With
        ``lazy=True``, a dask-awkward array of records ``run,
        luminosityBlock, event``.
    """

    objects: Any
    weights: Any
    ids: Any


def _expand_paths(paths) -> list[Path]:
    """Expand a path, a glob or a list of them to a list of files, in order."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ValueError("load_nanoaod: paths is empty; give a file, a glob or a list")
    files: list[Path] = []
    for item in items:
        text = os.fspath(item)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise FileNotFoundError(f"load_nanoaod: no file matches {text!r}")
            files.extend(Path(m) for m in matches)
        else:
            files.append(Path(text))
    for file in files:
        if not file.exists():
            raise FileNotFoundError(f"{file}: no such file")
        if file.is_dir():
            raise IsADirectoryError(f"{file} is a directory, not a ROOT file")
    return files


def _open_tree(file: Path, tree: str, uproot):
    """Open the TTree or RNTuple ``tree`` of ``file``; errors name the file."""
    try:
        handle = uproot.open(file)
    except Exception as exc:  # uproot raises several classes for non-ROOT files
        raise ValueError(
            f"{file} could not be opened as a ROOT file ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        obj = handle[tree]
    except Exception as exc:
        keys = sorted({k.split(";")[0] for k in handle.keys(recursive=False)})
        handle.close()
        raise ValueError(
            f"{file} has no tree named {tree!r}; objects present: "
            f"{', '.join(keys) or 'none'}"
        ) from exc
    if not isinstance(obj, (uproot.TTree, uproot.behaviors.RNTuple.RNTuple)):
        handle.close()
        raise ValueError(  # noqa: TRY004 (a bad file, not a bad argument type)
            f"{file}: {tree!r} is a {type(obj).__name__}, not a TTree or RNTuple"
        )
    return handle, obj


def _names(obj, uproot) -> list[str]:
    if isinstance(obj, uproot.TTree):
        return list(obj.keys(recursive=True, full_paths=False))
    return list(obj.keys())


def _resolve(file: Path, tree: str, names: list[str], logical: list[str]):
    """Physical key of each logical NanoAOD branch (flat or record layout)."""
    present = set(names)
    found = {}
    for name in logical:
        candidates = [name]
        group, sep, field = name.partition("_")
        if sep:
            candidates.append(f"{group}.{field}")
        key = next((c for c in candidates if c in present), None)
        if key is None:
            close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
            hint = f"; closest names: {', '.join(close)}" if close else ""
            also = f" (nor {candidates[-1]!r})" if len(candidates) > 1 else ""
            raise ValueError(
                f"{file}: tree {tree!r} has no branch {name!r}{also}{hint}"
            )
        found[name] = key
    return found


def _settings(selection, given: dict[str, Any]) -> dict[str, Any]:
    preset = SELECTIONS[selection]
    return {k: preset[k] if v == PRESET else v for k, v in given.items()}


def _logical_branches(cuts, *, weight, branch_names) -> list[str]:
    """List the NanoAOD branches a selection reads, in reading order."""
    b = branch_names
    out = list(ID_BRANCHES)
    if weight is not None:
        out.append(weight)
    for lepton in ("electron", "muon"):
        prefix = "Electron" if lepton == "electron" else "Muon"
        out += [f"{prefix}_pt", f"{prefix}_eta", f"{prefix}_phi"]
        if cuts[f"{lepton}_id"] not in (None, False):
            out.append(b[f"{lepton}_id_branch"])
        if cuts[f"{lepton}_iso_max"] is not None:
            out.append(b[f"{lepton}_iso_branch"])
    out += ["Jet_pt", "Jet_eta", "Jet_phi"]
    if cuts["jet_id"] is not None:
        out.append(b["jet_id_branch"])
    if cuts["btag_wp"] is not None:
        out.append(b["btag_branch"])
    if b["met"] is not None:
        out += [f"{b['met']}_pt", f"{b['met']}_phi"]
    return list(dict.fromkeys(out))


def _at_precision(values, threshold):
    """``threshold`` in the dtype of a floating-point branch.

    NanoAOD stores float32: a jet written at eta 2.4 holds 2.4000001, which a
    float64 cut at 2.4 would reject. Comparing in the branch's own precision
    keeps values stored at a threshold on its documented side.
    """
    form = values.layout.form
    while hasattr(form, "content"):
        form = form.content
    dtype = np.dtype(getattr(form, "primitive", "float64"))
    return dtype.type(threshold) if np.issubdtype(dtype, np.floating) else threshold


def _select(a, cuts, branch_names):
    """Select the objects of each event, as awkward records, and the events.

    ``a`` maps logical branch names to awkward (or dask-awkward) arrays. Only
    operations that also run on awkward's type tracer are used, so the same
    code builds the lazy graph. Returns the list of parts (electrons, muons,
    jets, MET; jets in one part with b-jets) and the event mask.
    """
    import awkward as ak

    b = branch_names
    f32 = np.float32

    def records(code, pt, eta, phi):
        rec = ak.zip(
            {
                "type": ak.values_astype(code, f32),
                "pt": ak.values_astype(pt, f32),
                "eta": ak.values_astype(eta, f32),
                "phi": ak.values_astype(phi, f32),
            }
        )
        return rec[ak.argsort(rec.pt, axis=1, ascending=False, stable=True)]

    parts = []
    n_leptons = None
    for lepton, prefix in (("electron", "Electron"), ("muon", "Muon")):
        pt, eta, phi = (a[f"{prefix}_{v}"] for v in ("pt", "eta", "phi"))
        mask = ak.ones_like(pt, dtype=bool)
        if cuts[f"{lepton}_pt_min"] is not None:
            mask = mask & (pt >= _at_precision(pt, cuts[f"{lepton}_pt_min"]))
        if cuts[f"{lepton}_eta_max"] is not None:
            mask = mask & (abs(eta) <= _at_precision(eta, cuts[f"{lepton}_eta_max"]))
        identity = cuts[f"{lepton}_id"]
        if identity not in (None, False):
            value = a[b[f"{lepton}_id_branch"]]
            mask = mask & (value != 0 if identity is True else value >= identity)
        if cuts[f"{lepton}_iso_max"] is not None:
            iso = a[b[f"{lepton}_iso_branch"]]
            mask = mask & (iso < _at_precision(iso, cuts[f"{lepton}_iso_max"]))
        code = ak.full_like(pt[mask], OBJECT_TYPES[lepton], dtype=f32)
        parts.append(records(code, pt[mask], eta[mask], phi[mask]))
        count = ak.num(pt[mask], axis=1)
        n_leptons = count if n_leptons is None else n_leptons + count

    pt, eta, phi = (a[f"Jet_{v}"] for v in ("pt", "eta", "phi"))
    mask = ak.ones_like(pt, dtype=bool)
    if cuts["jet_pt_min"] is not None:
        mask = mask & (pt >= _at_precision(pt, cuts["jet_pt_min"]))
    if cuts["jet_eta_max"] is not None:
        mask = mask & (abs(eta) <= _at_precision(eta, cuts["jet_eta_max"]))
    if cuts["jet_id"] is not None:
        jet_id = a[b["jet_id_branch"]]
        mask = mask & ((jet_id & cuts["jet_id"]) == cuts["jet_id"])
    code = ak.full_like(pt[mask], OBJECT_TYPES["jet"], dtype=f32)
    if cuts["btag_wp"] is not None:
        score = a[b["btag_branch"]][mask]
        tagged = score > _at_precision(score, cuts["btag_wp"])
        code = ak.where(tagged, f32(OBJECT_TYPES["bjet"]), code)
    parts.append(records(code, pt[mask], eta[mask], phi[mask]))

    if b["met"] is not None:
        met_pt, met_phi = a[f"{b['met']}_pt"], a[f"{b['met']}_phi"]
        met = ak.zip(
            {
                "type": ak.full_like(met_pt, OBJECT_TYPES["met"], dtype=f32),
                "pt": ak.values_astype(met_pt, f32),
                "eta": ak.zeros_like(met_pt, dtype=f32),
                "phi": ak.values_astype(met_phi, f32),
            }
        )
        parts.append(ak.unflatten(met, 1))

    keep = ak.ones_like(n_leptons, dtype=bool)
    if cuts["n_leptons"] is not None:
        keep = n_leptons == cuts["n_leptons"]
    return parts, keep


def _check_finite(file: Path, arrays: dict, physical: dict, ak) -> None:
    """Every value read must be finite; the error names file, branch and entry."""
    for name, values in arrays.items():
        layout_ndim = values.ndim
        flat = ak.to_numpy(ak.flatten(values)) if layout_ndim > 1 else None
        if flat is None:
            flat = ak.to_numpy(values)
        if not np.issubdtype(flat.dtype, np.floating):
            continue
        bad = ~np.isfinite(flat)
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            if layout_ndim > 1:
                counts = ak.to_numpy(ak.num(values, axis=1))
                entry = int(np.searchsorted(np.cumsum(counts), position, side="right"))
            else:
                entry = position
            kind = "NaN" if np.isnan(flat[position]) else "infinite"
            raise ValueError(
                f"{file}: branch {physical[name]!r} has a {kind} value in entry "
                f"{entry} ({int(bad.sum())} non-finite values in the file)"
            )


def _fit(parts, entries, file, max_objects, overflow, ak):
    """Apply ``max_objects``: raise, or drop the softest jets (part 2)."""
    counts = sum(ak.to_numpy(ak.num(p, axis=1)) for p in parts)
    over = counts - max_objects
    if not (over > 0).any():
        return parts, 0, 0
    first = int(np.flatnonzero(over > 0)[0])
    if overflow == "raise":
        raise ValueError(
            f"{file}, entry {int(entries[first])}: {int(counts[first])} selected "
            f"objects but max_objects={max_objects} ({int((over > 0).sum())} such "
            "events); raise max_objects or pass overflow='drop_softest'"
        )
    jets = parts[2]
    n_jets = ak.to_numpy(ak.num(jets, axis=1))
    short = np.flatnonzero(over > n_jets)
    if len(short):
        i = int(short[0])
        raise ValueError(
            f"{file}, entry {int(entries[i])}: {int(counts[i])} selected objects "
            f"of which {int(n_jets[i])} jets; dropping every jet does not fit "
            f"max_objects={max_objects}"
        )
    allowed = n_jets - np.clip(over, 0, None)
    parts = list(parts)
    # jets are sorted by decreasing pT: keep the first `allowed` of each event
    parts[2] = jets[ak.local_index(jets, axis=1) < allowed[:, np.newaxis]]
    dropped = int(np.clip(over, 0, None).sum())
    return parts, dropped, int((over > 0).sum())


def _pad(objects, width: int, ak) -> np.ndarray:
    counts = ak.to_numpy(ak.num(objects, axis=1))
    out = np.zeros((len(counts), width, 4), dtype=np.float32)
    if counts.sum():
        row = np.repeat(np.arange(len(counts)), counts)
        col = ak.to_numpy(ak.flatten(ak.local_index(objects, axis=1)))
        for k, field in enumerate(("type", "pt", "eta", "phi")):
            out[row, col, k] = ak.to_numpy(ak.flatten(objects[field]))
    return out


_BRANCH_DEFAULTS = {
    "electron_id_branch": "Electron_cutBased",
    "electron_iso_branch": "Electron_pfRelIso03_all",
    "muon_id_branch": "Muon_tightId",
    "muon_iso_branch": "Muon_pfRelIso04_all",
    "jet_id_branch": "Jet_jetId",
    "btag_branch": "Jet_btagDeepFlavB",
}

_PRESET_OR = [StrOptions({PRESET}), None]
_PT = [Interval(Real, 0, None, closed="left"), *_PRESET_OR]
_BRANCH = [str]


@validate_params(
    {
        "paths": [str, os.PathLike, list, tuple],
        "tree": [str],
        "selection": [StrOptions({"seed"}), None],
        "weight": [str, None],
        "n_leptons": [Interval(Integral, 0, None, closed="left"), *_PRESET_OR],
        "electron_pt_min": _PT,
        "electron_eta_max": _PT,
        "electron_id": [Interval(Integral, 0, None, closed="left"), *_PRESET_OR],
        "electron_iso_max": _PT,
        "muon_pt_min": _PT,
        "muon_eta_max": _PT,
        "muon_id": ["boolean", *_PRESET_OR],
        "muon_iso_max": _PT,
        "jet_pt_min": _PT,
        "jet_eta_max": _PT,
        "jet_id": [Interval(Integral, 1, None, closed="left"), *_PRESET_OR],
        "btag_wp": [Interval(Real, None, None, closed="neither"), *_PRESET_OR],
        "electron_id_branch": _BRANCH,
        "electron_iso_branch": _BRANCH,
        "muon_id_branch": _BRANCH,
        "muon_iso_branch": _BRANCH,
        "jet_id_branch": _BRANCH,
        "btag_branch": _BRANCH,
        "met": [str, None],
        "max_objects": [Interval(Integral, 1, None, closed="left"), None],
        "overflow": [StrOptions({"raise", "drop_softest"})],
        "lazy": ["boolean"],
        "step_size": [Interval(Integral, 1, None, closed="left"), str, None],
    },
    prefer_skip_nested_validation=True,
)
def load_nanoaod(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    tree: str = "Events",
    selection: str | None = "seed",
    weight: str | None = "genWeight",
    n_leptons: int | str | None = PRESET,
    electron_pt_min: float | str | None = PRESET,
    muon_pt_min: float | str | None = PRESET,
    electron_eta_max: float | str | None = PRESET,
    muon_eta_max: float | str | None = PRESET,
    electron_id: int | str | None = PRESET,
    electron_iso_max: float | str | None = PRESET,
    muon_iso_max: float | str | None = PRESET,
    muon_id: bool | str | None = PRESET,
    jet_pt_min: float | str | None = PRESET,
    jet_eta_max: float | str | None = PRESET,
    jet_id: int | str | None = PRESET,
    btag_wp: float | str | None = PRESET,
    electron_id_branch: str = "Electron_cutBased",
    electron_iso_branch: str = "Electron_pfRelIso03_all",
    muon_id_branch: str = "Muon_tightId",
    muon_iso_branch: str = "Muon_pfRelIso04_all",
    jet_id_branch: str = "Jet_jetId",
    btag_branch: str = "Jet_btagDeepFlavB",
    met: str | None = "MET",
    max_objects: int | None = None,
    overflow: str = "raise",
    lazy: bool = False,
    step_size: int | str | None = None,
) -> NanoAODEvents:
    r"""Load CMS NanoAOD events as padded object lists for event images.

    Reads NanoAOD ROOT files with uproot (the ``root`` extra), a TTree or an
    RNTuple, with collections stored flat (``Electron_pt``) or as records
    (``Electron.pt``), detected per file and branch. Only the branches the
    selection needs are read. Selected electrons, muons and jets and the
    missing transverse momentum become rows ``(type, pt, eta, phi)``, the input
    of :class:`hepclf.EventImager`.

    Read more in the :ref:`User Guide <events>`.

    Parameters
    ----------
    paths : str, path-like or list of them
        One file, a glob pattern (``"data/*.root"``, files in sorted order) or
        a list of files and patterns. Events are concatenated in that order;
        ``ids.file`` says where each comes from.
    tree : str, default="Events"
        Name of the TTree or RNTuple in every file.
    selection : {"seed"} or None, default="seed"
        Preset of the cut keywords below left at ``"preset"``. ``"seed"``: the
        selection of the CMS event-image poster (jzyee/cms_image_classification)
        with NanoAOD's branches: leptons with tight ID (``Electron_cutBased
        >= 4``, ``Muon_tightId``), relative isolation below 0.10
        (``Electron_pfRelIso03_all``, ``Muon_pfRelIso04_all``; the seed used a
        cone of ΔR = 0.3 for muons too, which NanoAOD stores as
        ``Muon_pfRelIso03_all``: pass ``muon_iso_branch`` to use it) and pT of
        at least 20 GeV, no lepton eta cut; jets with tight ID (``Jet_jetId``
        bit 2), pT of at least 30 GeV and \|eta\| at most 2.4, b-tagged when
        ``Jet_btagDeepFlavB`` is above 0.2783; exactly one selected lepton.
        ``None``: every cut keyword left at ``"preset"`` is off (all objects,
        no b-tagging so every jet is type ``jet``, no event requirement).
    weight : str or None, default="genWeight"
        Branch with the per-event weight. ``None`` gives weights of one (e.g.
        for collision data, which has no ``genWeight``).
    n_leptons : int, None or "preset", default="preset"
        Keep only events with exactly this many selected electrons and muons
        together (seed: 1). ``None``: no requirement.
    electron_pt_min, muon_pt_min : float, None or "preset", default="preset"
        Minimum lepton pT in GeV, inclusive (seed: 20). ``None``: no cut.
    electron_eta_max, muon_eta_max : float, None or "preset", default="preset"
        Maximum lepton \|eta\|, inclusive (seed: no cut). ``None``: no cut.
    electron_id : int, None or "preset", default="preset"
        Minimum of ``electron_id_branch`` (NanoAOD's ``Electron_cutBased``: 0
        fail, 1 veto, 2 loose, 3 medium, 4 tight; seed: 4). ``None``: no cut.
    electron_iso_max, muon_iso_max : float, None or "preset", default="preset"
        Lepton relative isolation (``electron_iso_branch``,
        ``muon_iso_branch``) must be below this, exclusive (seed: 0.10).
        ``None``: no cut.
    muon_id : bool, None or "preset", default="preset"
        Require ``muon_id_branch`` (NanoAOD's ``Muon_tightId``) to be true
        (seed: ``True``). ``None`` or ``False``: no cut.
    jet_pt_min : float, None or "preset", default="preset"
        Minimum jet pT in GeV, inclusive (seed: 30). ``None``: no cut.
    jet_eta_max : float, None or "preset", default="preset"
        Maximum jet \|eta\|, inclusive (seed: 2.4). ``None``: no cut.
    jet_id : int, None or "preset", default="preset"
        Bits that must all be set in ``jet_id_branch`` (NanoAOD's
        ``Jet_jetId``: 2 = tight, 4 = tight with lepton veto; seed: 2).
        ``None``: no cut.
    btag_wp : float, None or "preset", default="preset"
        A selected jet whose ``btag_branch`` score is strictly above this is a
        ``bjet`` (type 6), otherwise a ``jet`` (type 5). Seed: 0.2783, the
        medium working point of DeepJet for 2018 ultra-legacy samples (0.2770
        before UL; other years and taggers have their own values). ``None``:
        no b-tagging, the score is not read.
    electron_id_branch, electron_iso_branch : str
        Branches of the electron ID and isolation, defaults
        ``"Electron_cutBased"`` and ``"Electron_pfRelIso03_all"``.
    muon_id_branch, muon_iso_branch : str
        Branches of the muon ID (boolean) and isolation, defaults
        ``"Muon_tightId"`` and ``"Muon_pfRelIso04_all"``.
    jet_id_branch, btag_branch : str
        Branches of the jet ID bits and the b-tag score, defaults
        ``"Jet_jetId"`` and ``"Jet_btagDeepFlavB"``.
    met : str or None, default="MET"
        Group of the missing transverse momentum (``MET_pt``, ``MET_phi``;
        e.g. ``"PuppiMET"``), one row of type ``met`` at eta 0 per event.
        ``None``: no MET row.
    max_objects : int or None, default=None
        Width of ``objects``. ``None`` pads to the event with the most
        objects over all files. A number pads to it; an event with more
        objects raises a ValueError naming its file and entry, unless
        ``overflow="drop_softest"``.
    overflow : {"raise", "drop_softest"}, default="raise"
        ``"drop_softest"`` drops the lowest-pT jets of an event with more than
        ``max_objects`` objects, with a ``UserWarning`` giving the number of
        jets and events; leptons and MET are never dropped (an event that
        does not fit without jets raises).
    lazy : bool, default=False
        Read through ``uproot.dask``: nothing is read until computed, so
        larger-than-memory data streams through
        :func:`hepclf.parallel.transform_dask`. Needs the ``dask`` extra and
        files of one kind and layout.
    step_size : int, str or None, default=None
        Entries (or a size such as ``"100 MB"``) per partition with
        ``lazy=True``; ``None`` uses uproot's default.

    Returns
    -------
    events : NanoAODEvents
        Named tuple ``(objects, weights, ids)``:

        - ``objects``: float32 ndarray of shape ``(n_events, n_objects, 4)``,
          rows ``(type, pt, eta, phi)`` (GeV, rad) with the codes of
          :data:`hepclf.imaging.OBJECT_TYPES`: per event the selected
          electrons (1), then muons (2), each by decreasing pT, then jets (5)
          and b-jets (6) together by decreasing pT, then MET (7, eta 0); rows
          of zeros pad the end. If no event passes, the shape is ``(0, 0, 4)``
          (``(0, max_objects, 4)`` when given).
        - ``weights``: float64 ndarray of shape ``(n_events,)``.
        - ``ids``: :class:`pandas.DataFrame` with columns ``file`` (str),
          ``entry`` (int64, the index of the event in its file), ``run``,
          ``luminosityBlock`` and ``event`` (as stored).

        With ``lazy=True``: ``objects`` is a dask-awkward array of per-event
        lists of records ``type, pt, eta, phi`` (the same values, unpadded;
        ``max_objects`` and ``overflow`` then do not apply), ``weights`` a
        dask-awkward array of float64, and ``ids`` a dask-awkward array of
        records ``run, luminosityBlock, event`` (no ``file`` or ``entry``;
        ``run``, ``luminosityBlock`` and ``event`` identify a CMS event).

    Raises
    ------
    FileNotFoundError
        If a file does not exist or a glob matches none.
    ValueError
        If a file is not ROOT, has no TTree or RNTuple named ``tree``, lacks a
        branch (the message names the file and the branch, and the closest
        names), holds NaN or infinite values in a branch read (file, branch
        and entry named; not checked with ``lazy=True``, where the imager
        reports them), or an event has more than ``max_objects`` objects
        (file and entry named). scikit-learn's ``InvalidParameterError``
        names a bad keyword.

    See Also
    --------
    write_nanoaod : Write NanoAOD-style files.
    hepclf.EventImager : Draw the objects as images.

    Notes
    -----
    Cuts compare in the precision of the branch (float32 in NanoAOD): a jet
    stored at eta 2.4 passes ``jet_eta_max=2.4``, and a b-tag score stored at
    the working point is not tagged. In NanoAOD the jets still contain the leptons (no overlap removal); like
    the seed, no cleaning is done here. The seed's isolation and IDs were
    computed in its own CMSSW producer; NanoAOD's ``cutBased``, ``tightId``,
    ``jetId`` and ``pfRelIso`` are the nearest standard equivalents.

    Examples
    --------
    >>> import numpy as np
    >>> from hepclf.datasets import load_nanoaod, write_nanoaod
    >>> f32 = np.float32
    >>> path = write_nanoaod(
    ...     getfixture("tmp_path") / "nano.root",
    ...     {
    ...         "run": np.array([1], dtype=np.uint32),
    ...         "luminosityBlock": np.array([7], dtype=np.uint32),
    ...         "event": np.array([42], dtype=np.uint64),
    ...         "genWeight": np.array([0.5], dtype=f32),
    ...         "Electron_pt": [np.array([35.0], dtype=f32)],
    ...         "Electron_eta": [np.array([0.5], dtype=f32)],
    ...         "Electron_phi": [np.array([1.0], dtype=f32)],
    ...         "Electron_cutBased": [np.array([4], dtype=np.uint8)],
    ...         "Electron_pfRelIso03_all": [np.array([0.02], dtype=f32)],
    ...         "Muon_pt": [np.array([], dtype=f32)],
    ...         "Muon_eta": [np.array([], dtype=f32)],
    ...         "Muon_phi": [np.array([], dtype=f32)],
    ...         "Muon_tightId": [np.array([], dtype=bool)],
    ...         "Muon_pfRelIso04_all": [np.array([], dtype=f32)],
    ...         "Jet_pt": [np.array([60.0, 40.0], dtype=f32)],
    ...         "Jet_eta": [np.array([1.0, -2.0], dtype=f32)],
    ...         "Jet_phi": [np.array([-1.0, 2.0], dtype=f32)],
    ...         "Jet_jetId": [np.array([6, 6], dtype=np.uint8)],
    ...         "Jet_btagDeepFlavB": [np.array([0.9, 0.1], dtype=f32)],
    ...         "MET_pt": np.array([25.0], dtype=f32),
    ...         "MET_phi": np.array([3.0], dtype=f32),
    ...     },
    ... )
    >>> objects, weights, ids = load_nanoaod(path)
    >>> objects[0]
    array([[ 1. , 35. ,  0.5,  1. ],
           [ 6. , 60. ,  1. , -1. ],
           [ 5. , 40. , -2. ,  2. ],
           [ 7. , 25. ,  0. ,  3. ]], dtype=float32)
    >>> weights, list(ids.columns)
    (array([0.5]), ['file', 'entry', 'run', 'luminosityBlock', 'event'])
    >>> int(ids.entry[0]), int(ids.run[0]), int(ids.event[0])
    (0, 1, 42)
    """
    ak = import_optional("awkward")
    uproot = import_optional("uproot")
    given = {
        "n_leptons": n_leptons,
        "electron_pt_min": electron_pt_min,
        "electron_eta_max": electron_eta_max,
        "electron_id": electron_id,
        "electron_iso_max": electron_iso_max,
        "muon_pt_min": muon_pt_min,
        "muon_eta_max": muon_eta_max,
        "muon_id": muon_id,
        "muon_iso_max": muon_iso_max,
        "jet_pt_min": jet_pt_min,
        "jet_eta_max": jet_eta_max,
        "jet_id": jet_id,
        "btag_wp": btag_wp,
    }
    cuts = _settings(selection, given)
    branch_names = {
        "electron_id_branch": electron_id_branch,
        "electron_iso_branch": electron_iso_branch,
        "muon_id_branch": muon_id_branch,
        "muon_iso_branch": muon_iso_branch,
        "jet_id_branch": jet_id_branch,
        "btag_branch": btag_branch,
        "met": met,
    }
    logical = _logical_branches(cuts, weight=weight, branch_names=branch_names)
    files = _expand_paths(paths)
    if lazy:
        return _load_lazy(files, tree, logical, cuts, weight, branch_names, step_size)

    per_file = []
    dropped = events_trimmed = 0
    for file in files:
        handle, obj = _open_tree(file, tree, uproot)
        with handle:
            physical = _resolve(file, tree, _names(obj, uproot), logical)
            arrays = {}
            for name, key in physical.items():
                try:
                    arrays[name] = obj[key].array(library="ak")
                except Exception as exc:
                    raise ValueError(
                        f"{file}: branch {key!r} of {tree!r} could not be read; "
                        f"the file may be truncated or corrupt "
                        f"({type(exc).__name__}: {exc})"
                    ) from exc
        _check_finite(file, arrays, physical, ak)
        parts, keep = _select(arrays, cuts, branch_names)
        keep = ak.to_numpy(keep)
        entries = np.flatnonzero(keep)
        parts = [p[keep] for p in parts]
        if max_objects is not None:
            parts, n_dropped, n_events = _fit(
                parts, entries, file, max_objects, overflow, ak
            )
            dropped += n_dropped
            events_trimmed += n_events
        objects = ak.concatenate(parts, axis=1)
        w = (
            np.ones(len(entries))
            if weight is None
            else ak.to_numpy(arrays[weight]).astype(np.float64)[keep]
        )
        ids = {name: ak.to_numpy(arrays[name])[keep] for name in ID_BRANCHES}
        per_file.append((file, entries, objects, w, ids))

    if dropped:
        warnings.warn(
            f"load_nanoaod: dropped the {dropped} softest jet(s) of "
            f"{events_trimmed} event(s) with more than max_objects={max_objects} "
            "objects",
            UserWarning,
            stacklevel=2,
        )
    if max_objects is None:
        width = max(
            (
                int(ak.to_numpy(ak.num(o, axis=1)).max(initial=0))
                for _, _, o, _, _ in per_file
            ),
            default=0,
        )
    else:
        width = max_objects
    return _concatenate(per_file, width, ak)


def _concatenate(per_file, width, ak) -> NanoAODEvents:
    import pandas as pd

    objects = np.concatenate([_pad(o, width, ak) for _, _, o, _, _ in per_file])
    weights = np.concatenate([w for _, _, _, w, _ in per_file])
    columns = {
        "file": np.concatenate(
            [np.full(len(e), str(f), dtype=object) for f, e, _, _, _ in per_file]
        ),
        "entry": np.concatenate([e for _, e, _, _, _ in per_file]).astype(np.int64),
    }
    for name in ID_BRANCHES:
        columns[name] = np.concatenate([ids[name] for *_, ids in per_file])
    return NanoAODEvents(objects, weights, pd.DataFrame(columns))


def _load_lazy(files, tree, logical, cuts, weight, branch_names, step_size):
    """Read lazily: one ``uproot.dask`` array, the selection per partition."""
    uproot = import_optional("uproot")
    dak = import_optional("dask_awkward")
    physical = None
    for file in files:
        handle, obj = _open_tree(file, tree, uproot)
        with handle:
            found = _resolve(file, tree, _names(obj, uproot), logical)
            is_rntuple = not isinstance(obj, uproot.TTree)
        key = (found, is_rntuple)
        if physical is None:
            physical, first = key, file
        elif key != physical:
            raise ValueError(
                f"load_nanoaod(lazy=True): {file} is not of the same kind and layout "
                f"as {first} (TTree or RNTuple, flat or records); read them "
                "separately or with lazy=False"
            )
    found, is_rntuple = physical
    options = {} if step_size is None else {"step_size": step_size}
    events = uproot.dask([{str(f): tree} for f in files], **options)

    def column(key):
        group, dot, field = key.partition(".")
        if is_rntuple and dot:
            return events[group][field]
        return events[key]

    inputs = dak.zip({name: column(key) for name, key in found.items()}, depth_limit=1)

    def objects_of(block):
        parts, keep = _select({name: block[name] for name in found}, cuts, branch_names)
        import awkward as ak

        return ak.concatenate(parts, axis=1)[keep]

    def weights_of(block):
        import awkward as ak

        _, keep = _select({name: block[name] for name in found}, cuts, branch_names)
        if weight is None:
            return ak.values_astype(
                ak.ones_like(keep, dtype=np.float64)[keep], np.float64
            )
        return ak.values_astype(block[weight][keep], np.float64)

    def ids_of(block):
        import awkward as ak

        _, keep = _select({name: block[name] for name in found}, cuts, branch_names)
        return ak.zip({name: block[name] for name in ID_BRANCHES})[keep]

    return NanoAODEvents(
        dak.map_partitions(objects_of, inputs, label="nanoaod-objects"),
        dak.map_partitions(weights_of, inputs, label="nanoaod-weights"),
        dak.map_partitions(ids_of, inputs, label="nanoaod-ids"),
    )
