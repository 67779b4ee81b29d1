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

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..utils._optional import import_optional

__all__ = ["write_nanoaod"]

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
