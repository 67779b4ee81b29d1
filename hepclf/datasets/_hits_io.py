"""Read and write drift-chamber hits: the seed's text dump and per-event CSVs.

Seed 001 shows two formats for the same events.

Text dump (:func:`write_hits_text`, :func:`load_hits_text`)
    One header line per event, then ``Detector information:``, then one line
    per hit ("digi")::

        Event number: 0 Number of digis: 2 T0: 656 MC truth information: Pi+: px=-0.24 py=-0.03 pz=-0.23 xi=0.02 yi=-0.15 zi=0.62 xf=87.5 yf=50.4 zf=-104.0 e+: px=...
        Detector information:
        layer=0, wire=21, stereo= 1, XE=-76.67, YE=-18.41, XW=-74.99, YW=24.37, RT=500.16, RC=2097, TRK=1
        layer=8, wire=35, stereo= 0, XE=-193.6, YE=36.45, XW=-193.6, YW=36.45, RT=538.78, RC=915, TRK=1

    (the seed, and :func:`write_hits_text`, put a tab after ``layer=0,``,
    ``stereo=`` and each later comma). The header line is long: the example
    is cut. The blank lines between these lines in the seed come from ``print`` of
    lines that already end in a newline; the reader skips blank lines and
    extra spaces or tabs. XE, YE, XW, YW are the east and west end points of
    the hit wire (mm), RT the drift time (ns), RC the charge (ADC counts) and
    TRK the true track the hit belongs to (0: noise). The truth lists each
    particle as ``<name>: px= py= pz= xi= yi= zi= xf= yf= zf=`` with momenta in
    GeV/c and the first and last points of the track in cm.

Per-event CSVs (:func:`write_hits_csv`, :func:`load_hits_csv`)
    One file per event with the header ``ID, Layer, Wire, Stereo, X, Y, RT,
    RC, TRK`` (``X = (XE + XW) / 2``, ``Y = (YE + YW) / 2``: the wire
    midpoint). The CSV files of the seed carry neither the truth nor the
    event's T0, so :func:`write_hits_csv` adds two companion files in the
    same directory:

    - ``events.csv`` with the header ``event_number,t0,n_hits,file``: one row
      per event, ``file`` being the name of its per-event CSV;
    - ``truth.csv`` with the header
      ``event_number,particle,px,py,pz,xi,yi,zi,xf,yf,zf``: one row per true
      particle, names as in :class:`HitEvents` (``pi+``, ``mu-``, ...).

    The per-event files are named ``event_<event number, 6 digits>.csv``.

Both readers return a :class:`HitEvents`. Numbers are written with Python's
shortest round-trip ``repr``, so reading a written file gives back exactly the
float64 values written, and therefore the same float32 ``hits``.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from numbers import Integral
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, validate_params

from ..imaging._hits import HIT_FEATURES

__all__ = [
    "HIT_FEATURES",
    "HitEvents",
    "hits_from_table",
    "load_hits_csv",
    "load_hits_text",
    "write_hits_csv",
    "write_hits_text",
]

#: Columns of the long hit table taken by :func:`hits_from_table`.
HIT_TABLE_COLUMNS = (
    "event",
    "layer",
    "wire",
    "stereo",
    "xe",
    "ye",
    "xw",
    "yw",
    "rt",
    "rc",
    "trk",
)

#: Per-particle truth values (momenta in GeV/c, start and end points in cm).
TRUTH_VALUES = ("px", "py", "pz", "xi", "yi", "zi", "xf", "yf", "zf")
TRUTH_COLUMNS = ("event", "particle", *TRUTH_VALUES)

#: Names of the companion files written by :func:`write_hits_csv`.
EVENTS_FILE = "events.csv"
TRUTH_FILE = "truth.csv"

# Particle names as the seed's dump spells them, by the names used here.
_DUMP_NAMES = {
    "pi+": "Pi+",
    "pi-": "Pi-",
    "e+": "e+",
    "e-": "e-",
    "mu+": "mu+",
    "mu-": "mu-",
}
_FROM_DUMP = {name.lower(): name for name in _DUMP_NAMES}

_DETECTOR_KEYS = ("layer", "wire", "stereo", "XE", "YE", "XW", "YW", "RT", "RC", "TRK")
_DETECTOR_INTS = frozenset({"layer", "wire", "stereo", "TRK"})
_CSV_COLUMNS = ("ID", "Layer", "Wire", "Stereo", "X", "Y", "RT", "RC", "TRK")
_CSV_INTS = frozenset({"ID", "Layer", "Wire", "Stereo", "TRK"})
_EVENTS_COLUMNS = ("event_number", "t0", "n_hits", "file")
_TRUTH_FILE_COLUMNS = ("event_number", "particle", *TRUTH_VALUES)

_INT32_MAX = 2**31 - 1
_FLOAT32_MAX = float(np.finfo(np.float32).max)
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
# A hit line in the written layout, with values that need no further check
# (non-negative integers, stereo 0 or 1, numbers too short to overflow); any
# other line goes through the general parser, which names what is wrong.
# Numbers below 1e25 in magnitude: within float32's range, and finite.
_SMALL = r"([+-]?(?:\d{1,15}(?:\.\d*)?|\.\d+)(?:[eE](?:\+?\d|-\d{1,2}))?)"
_F = rf"\s*=\s*{_SMALL}\s*,\s*"
_DIGI_FAST = re.compile(
    r"layer\s*=\s*(\d{1,9})\s*,\s*wire\s*=\s*(\d{1,9})\s*,\s*stereo\s*=\s*([01])"
    rf"\s*,\s*XE{_F}YE{_F}XW{_F}YW{_F}RT{_F}RC{_F}TRK\s*=\s*(\d{{1,9}})\s*,?"
)
_NUM = rf"\s*{_SMALL}\s*"
_CSV_FAST = re.compile(
    r"\s*([+-]?\d{1,18})\s*,\s*(\d{1,9})\s*,\s*(\d{1,9})\s*,\s*([01])\s*,"
    rf"{_NUM},{_NUM},{_NUM},{_NUM},\s*(\d{{1,9}})\s*,?\s*"
)
_HEADER = (
    ("Event number:", "event number"),
    ("Number of digis:", "number of digis"),
    ("T0:", "T0"),
    ("MC truth information:", None),
)
_EVENT_FILE = re.compile(r"event_\d+\.csv")
_DIGI_START = re.compile(
    r"\s*(?:" + "|".join(_DETECTOR_KEYS) + r")\s*(?:=|,|$)", re.IGNORECASE
)


class HitEvents(NamedTuple):
    """Drift-chamber events as padded hits, track ids and truth.

    Returned by :func:`load_hits_text`, :func:`load_hits_csv` and
    :func:`hits_from_table` (and so by the drift-chamber simulator).

    Parameters
    ----------
    hits : ndarray of shape (n_events, n_hits_max, 7), dtype float32
        One row per hit, features in this order (``HIT_FEATURES`` of this module):
        ``x``, ``y`` (mm; the wire midpoints ``(XE + XW) / 2`` and
        ``(YE + YW) / 2``), ``charge`` (RC, ADC counts), ``layer``, ``wire``,
        ``stereo`` (0 axial, 1 stereo) and ``drift_time`` (RT, ns). Hits keep
        the order of the file. Rows past an event's last hit are padding: all
        zeros, with track id -1 (a real hit may sit on layer 0, wire 0, so the
        track id, not the features, tells padding apart). Negative charges are
        kept as read; :class:`hepclf.imaging.EnergyEncoder` rejects them.
    track_ids : ndarray of shape (n_events, n_hits_max), dtype int32
        TRK of each hit: 0 for a noise hit, ``k >= 1`` for the hits of true
        track ``k``, -1 for padding.
    truth : pandas.DataFrame
        One row per true particle, columns ``event`` (int64, index into
        ``hits``), ``particle`` (str: ``"pi+"``, ``"pi-"``, ``"e+"``,
        ``"e-"``, ``"mu+"``, ``"mu-"``, or another name as written),
        ``px``, ``py``, ``pz`` (GeV/c), ``xi``, ``yi``, ``zi`` (first point of
        the track, cm) and ``xf``, ``yf``, ``zf`` (last point, cm), all
        float64. Empty (with these columns) when the files hold no truth.
    events : pandas.DataFrame
        One row per event, row ``i`` for ``hits[i]``: ``event_number``
        (int64), ``t0`` (float64; NaN when unknown), ``n_hits`` (int64) and
        ``source`` (str, the name of the file the event was read from; empty
        for events built in memory), plus any extra columns given to
        :func:`hits_from_table`.
    """

    hits: np.ndarray
    track_ids: np.ndarray
    truth: pd.DataFrame
    events: pd.DataFrame


# ---------------------------------------------------------------- assembling


def _empty_truth() -> pd.DataFrame:
    columns = {"event": np.zeros(0, np.int64), "particle": np.zeros(0, object)}
    columns.update({name: np.zeros(0) for name in TRUTH_VALUES})
    return pd.DataFrame(columns)


def _truth_frame(event, particle, values) -> pd.DataFrame:
    """Truth columns to the documented frame (``values``: (n, 9) floats)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1, len(TRUTH_VALUES))
    frame = {
        "event": np.asarray(event, dtype=np.int64),
        "particle": np.asarray(particle, dtype=object),
    }
    frame.update({name: values[:, i] for i, name in enumerate(TRUTH_VALUES)})
    return pd.DataFrame(frame)


def _pad(
    event: np.ndarray,
    features: np.ndarray,
    trk: np.ndarray,
    n_events: int,
    max_hits: int | None,
    name: Callable[[int], str],
    caller: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scatter hits (sorted by event, file order kept) into the padded arrays.

    ``features`` is float64 ``(n_hits, 7)``; ``name(i)`` names event ``i`` in
    an error message. Returns ``(hits, track_ids, n_hits per event)``.
    """
    counts = np.bincount(event, minlength=n_events).astype(np.int64)
    widest = int(counts.max(initial=0))
    if max_hits is None:
        width = widest
    else:
        width = int(max_hits)
        if widest > width:
            first = int(np.argmax(counts > width))
            raise ValueError(
                f"{caller}: {name(first)} has {counts[first]} hits but "
                f"max_hits={width} ({int((counts > width).sum())} such events); "
                "raise max_hits or pass max_hits=None (hits are never dropped)"
            )
    starts = np.cumsum(counts) - counts
    position = np.arange(len(event)) - starts[event]
    hits = np.zeros((n_events, width, len(HIT_FEATURES)), dtype=np.float32)
    track_ids = np.full((n_events, width), -1, dtype=np.int32)
    hits[event, position] = features.astype(np.float32)
    track_ids[event, position] = trk.astype(np.int32)
    return hits, track_ids, counts


def _features(x, y, rc, layer, wire, stereo, rt) -> np.ndarray:
    """Stack the float64 ``(n_hits, 7)`` features in :data:`HIT_FEATURES` order."""
    return np.column_stack(
        [np.asarray(c, dtype=np.float64) for c in (x, y, rc, layer, wire, stereo, rt)]
    ).reshape(-1, len(HIT_FEATURES))


def _midpoint(east, west) -> np.ndarray:
    """``(east + west) / 2`` in float64: the x or y of a hit in both formats."""
    return (np.asarray(east, dtype=np.float64) + np.asarray(west, dtype=np.float64)) / 2


# ----------------------------------------------------------- in-memory tables


def _columns(frame, required, what, caller) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{caller}: {what} must be a pandas DataFrame, got {type(frame)}"
        )
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{caller}: {what} lacks column(s) {missing}; it needs {list(required)}"
        )


def _integers(frame, column, what, caller) -> np.ndarray:
    values = frame[column].to_numpy()
    if values.dtype.kind in "iub":
        return values.astype(np.int64)
    as_float = values.astype(np.float64)
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"{caller}: {what} column {column!r} must hold integers; row {row} "
            f"holds {values[row]!r}"
        )
    return as_float.astype(np.int64)


def _finite(frame, column, what, caller) -> np.ndarray:
    values = frame[column].to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(
            f"{caller}: {what} column {column!r} holds {values[row]} in row {row}; "
            "only finite numbers can be written and read back"
        )
    return values


class _Table(NamedTuple):
    """A checked long hit table, hits sorted by event (stable)."""

    event: np.ndarray
    layer: np.ndarray
    wire: np.ndarray
    stereo: np.ndarray
    xe: np.ndarray
    ye: np.ndarray
    xw: np.ndarray
    yw: np.ndarray
    rt: np.ndarray
    rc: np.ndarray
    trk: np.ndarray
    truth: pd.DataFrame
    events: pd.DataFrame


def _check_tables(hits_table, truth, events, caller, writing=True) -> _Table:
    """Validate the long tables of :func:`hits_from_table` and the writers."""
    _columns(events, ("event_number", "t0"), "events", caller)
    _columns(hits_table, HIT_TABLE_COLUMNS, "hits_table", caller)
    n_events = len(events)
    event_number = _integers(events, "event_number", "events", caller)
    if writing:
        t0 = _finite(events, "t0", "events", caller)
    else:
        t0 = events["t0"].to_numpy(dtype=np.float64)
    columns = {}
    for name in HIT_TABLE_COLUMNS:
        if name in ("event", "layer", "wire", "stereo", "trk"):
            columns[name] = _integers(hits_table, name, "hits_table", caller)
        else:
            columns[name] = _finite(hits_table, name, "hits_table", caller)
    event = columns["event"]
    checks = (
        ("event", (event < 0) | (event >= n_events), f"in 0..{n_events - 1}"),
        ("layer", columns["layer"] < 0, ">= 0"),
        ("wire", columns["wire"] < 0, ">= 0"),
        ("stereo", (columns["stereo"] != 0) & (columns["stereo"] != 1), "0 or 1"),
        ("trk", columns["trk"] < 0, ">= 0 (0: noise)"),
    )
    for name, bad, rule in checks:
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"{caller}: hits_table column {name!r} must be {rule}; row {row} "
                f"holds {columns[name][row]}"
            )
    order = np.argsort(event, kind="stable")
    columns = {name: values[order] for name, values in columns.items()}

    if truth is None or (isinstance(truth, pd.DataFrame) and truth.empty):
        truth_frame = _empty_truth()
    else:
        _columns(truth, TRUTH_COLUMNS, "truth", caller)
        truth_event = _integers(truth, "event", "truth", caller)
        bad = (truth_event < 0) | (truth_event >= n_events)
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"{caller}: truth column 'event' must be in 0..{n_events - 1}; "
                f"row {row} holds {truth_event[row]}"
            )
        particle = truth["particle"].to_numpy()
        for row, value in enumerate(particle):
            if not isinstance(value, str) or not re.fullmatch(r"[^\s:=,]+", value):
                raise ValueError(
                    f"{caller}: truth row {row}: particle name {value!r} must be a "
                    "non-empty str without spaces, ':', '=' or ','"
                )
        values = np.column_stack(
            [_finite(truth, name, "truth", caller) for name in TRUTH_VALUES]
        )
        order_t = np.argsort(truth_event, kind="stable")
        truth_frame = _truth_frame(
            truth_event[order_t], particle[order_t], values[order_t]
        )

    counts = np.bincount(event, minlength=n_events)
    if "n_hits" in events.columns:
        given = _integers(events, "n_hits", "events", caller)
        bad = given != counts
        if bad.any():
            row = int(np.argmax(bad))
            raise ValueError(
                f"{caller}: events row {row} says n_hits={given[row]} but "
                f"hits_table has {counts[row]} hits for event {row}"
            )
    frame = events.reset_index(drop=True).copy()
    frame["event_number"] = event_number
    frame["t0"] = t0
    frame["n_hits"] = counts.astype(np.int64)
    if "source" not in frame.columns:
        frame["source"] = ""
    ordered = ["event_number", "t0", "n_hits", "source"]
    frame = frame[ordered + [c for c in frame.columns if c not in ordered]]
    return _Table(**columns, truth=truth_frame, events=frame)


def hits_from_table(
    hits_table: pd.DataFrame,
    truth: pd.DataFrame | None,
    events: pd.DataFrame,
    *,
    max_hits: int | None = None,
) -> HitEvents:
    """Build :class:`HitEvents` from long tables (one row per hit).

    The simulator builds these tables; the readers return the same
    :class:`HitEvents` for the files written from them.

    Parameters
    ----------
    hits_table : pandas.DataFrame
        One row per hit, columns ``event`` (int, 0 to n_events - 1: the
        position of the event in ``events``), ``layer``, ``wire``, ``stereo``
        (0 or 1), ``xe``, ``ye``, ``xw``, ``yw`` (wire end points, mm),
        ``rt`` (drift time, ns), ``rc`` (charge, ADC counts) and ``trk``
        (int >= 0; 0 for noise). The hits of an event keep their order in the
        table.
    truth : pandas.DataFrame or None
        One row per true particle: ``event`` (position, as above),
        ``particle`` (str) and ``px, py, pz, xi, yi, zi, xf, yf, zf``.
        ``None`` or an empty frame: no truth.
    events : pandas.DataFrame
        Row ``i`` describes event ``i``: ``event_number`` (int), ``t0``
        (float) and optional other columns, kept (``n_hits``, if given, must
        match the hit count; ``source`` defaults to ``""``). Events without
        hits are kept as all-padding rows.
    max_hits : int or None, default=None
        Width of the padded arrays. ``None`` pads to the event with the most
        hits. An event with more hits raises a ValueError (hits are never
        dropped).

    Returns
    -------
    HitEvents
        ``hits`` with x = (xe + xw) / 2 and y = (ye + yw) / 2 computed in
        float64 and stored as float32, ``track_ids``, ``truth`` (sorted by
        event, order within an event kept) and ``events``.

    Raises
    ------
    ValueError
        If a column is missing, a value is not finite, an integer column holds
        a fraction, ``event`` is out of range, ``stereo`` is not 0 or 1, a
        layer, wire or track id is negative, or an event has more than
        ``max_hits`` hits.

    Examples
    --------
    >>> import pandas as pd
    >>> from hepclf.datasets._hits_io import hits_from_table
    >>> table = pd.DataFrame({
    ...     "event": [1], "layer": [8], "wire": [3], "stereo": [0],
    ...     "xe": [10.0], "ye": [20.0], "xw": [10.0], "yw": [20.0],
    ...     "rt": [300.0], "rc": [800.0], "trk": [1]})
    >>> events = pd.DataFrame({"event_number": [0, 1], "t0": [0.0, 0.0]})
    >>> out = hits_from_table(table, None, events)
    >>> out.hits.shape, out.track_ids.tolist()
    ((2, 1, 7), [[-1], [1]])
    >>> out.hits[1, 0].tolist()
    [10.0, 20.0, 800.0, 8.0, 3.0, 0.0, 300.0]
    """
    caller = "hits_from_table"
    _check_max_hits(max_hits, caller)
    table = _check_tables(hits_table, truth, events, caller, writing=False)
    features = _features(
        _midpoint(table.xe, table.xw),
        _midpoint(table.ye, table.yw),
        table.rc,
        table.layer,
        table.wire,
        table.stereo,
        table.rt,
    )
    numbers = table.events["event_number"].to_numpy()
    hits, track_ids, _ = _pad(
        table.event,
        features,
        table.trk,
        len(table.events),
        max_hits,
        lambda i: f"event {i} (event number {numbers[i]})",
        caller,
    )
    return HitEvents(hits, track_ids, table.truth, table.events)


def _check_max_hits(max_hits, caller) -> None:
    if max_hits is not None and (
        isinstance(max_hits, bool) or not isinstance(max_hits, Integral) or max_hits < 0
    ):
        raise ValueError(
            f"{caller}: max_hits must be None or an int >= 0, got {max_hits!r}"
        )


# ------------------------------------------------------------------- writing


def _num(value: float) -> str:
    """Shortest text that reads back as the same float64 (``656.0`` as ``656``)."""
    text = repr(float(value))
    return text.removesuffix(".0")


def write_hits_text(
    path: str | os.PathLike,
    hits_table: pd.DataFrame,
    truth: pd.DataFrame | None,
    events: pd.DataFrame,
) -> Path:
    """Write events as the seed's text dump.

    Each event is written as its header line (event number, number of
    digis, T0 and the truth of every particle), a ``Detector information:``
    line and one line per hit, in the layout of the module docstring
    (``layer=0,<tab>wire=21, stereo=<tab>1, XE=..., ..., TRK=1``), without the
    blank lines of the seed's printout. Particle names are written as in the
    seed (``Pi+``, ``Pi-``, ``e+``, ``e-``, ``mu+``, ``mu-``; other names as
    given). Numbers are written with Python's ``repr`` (``.0`` dropped), so
    :func:`load_hits_text` reads back the same float64 values.

    Parameters
    ----------
    path : str or path-like
        The file to write (overwritten; parent folders are created).
    hits_table, truth, events : pandas.DataFrame
        The long tables of :func:`hits_from_table`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        For the tables, as :func:`hits_from_table`.

    See Also
    --------
    load_hits_text : Read the file back.
    write_hits_csv : The same events as per-event CSV files.
    """
    table = _check_tables(hits_table, truth, events, "write_hits_text")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    counts = table.events["n_hits"].to_numpy()
    starts = np.cumsum(counts) - counts
    truth_rows = _rows_by_event(table.truth, len(counts))
    truth_values = table.truth[list(TRUTH_VALUES)].to_numpy()
    particles = table.truth["particle"].to_numpy()
    numbers = table.events["event_number"].to_numpy()
    t0 = table.events["t0"].to_numpy()
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for i in range(len(counts)):
            parts = [
                (
                    f"Event number: {numbers[i]} Number of digis: {counts[i]} "
                    f"T0: {_num(t0[i])} MC truth information:"
                )
            ]
            for row in truth_rows[i]:
                name = _DUMP_NAMES.get(particles[row], particles[row])
                fields = " ".join(
                    f"{key}={_num(v)}"
                    for key, v in zip(TRUTH_VALUES, truth_values[row], strict=True)
                )
                parts.append(f"{name}: {fields}")
            lines = [" ".join(parts), "Detector information:"]
            for j in range(starts[i], starts[i] + counts[i]):
                lines.append(
                    f"layer={table.layer[j]},\twire={table.wire[j]}, "
                    f"stereo=\t{table.stereo[j]}, XE={_num(table.xe[j])},\t"
                    f"YE={_num(table.ye[j])},\tXW={_num(table.xw[j])},\t"
                    f"YW={_num(table.yw[j])},\tRT={_num(table.rt[j])},\t"
                    f"RC={_num(table.rc[j])},\tTRK={table.trk[j]}"
                )
            out.write("\n".join(lines) + "\n")
    return path


def _rows_by_event(truth: pd.DataFrame, n_events: int) -> list[range]:
    """Row ranges of a truth frame sorted by event, one per event."""
    counts = np.bincount(truth["event"].to_numpy(), minlength=n_events)
    ends = np.cumsum(counts)
    return [
        range(e - c, e) for c, e in zip(counts.tolist(), ends.tolist(), strict=True)
    ]


def _csv_line(values) -> str:
    return ",".join(values) + "\n"


def write_hits_csv(
    directory: str | os.PathLike,
    hits_table: pd.DataFrame,
    truth: pd.DataFrame | None,
    events: pd.DataFrame,
) -> list[Path]:
    """Write events as per-event CSV files plus ``events.csv`` and ``truth.csv``.

    Event ``n`` goes to ``<directory>/event_<n:06d>.csv`` with the header
    ``ID,Layer,Wire,Stereo,X,Y,RT,RC,TRK``: ``ID`` counts the hits of the
    event from 0, ``X = (XE + XW) / 2`` and ``Y = (YE + YW) / 2`` are the
    wire midpoints (computed in float64, as :func:`hits_from_table` does).
    ``events.csv`` (``event_number,t0,n_hits,file``) and ``truth.csv``
    (``event_number,particle,px,py,pz,xi,yi,zi,xf,yf,zf``) hold what the
    seed's CSV files lack; :func:`load_hits_csv` reads them. Numbers are
    written with Python's ``repr``, so they read back exactly.

    Parameters
    ----------
    directory : str or path-like
        Folder for the files (created if needed). It must not hold
        ``event_*.csv`` files of other events (from an earlier write), which
        :func:`load_hits_csv` would otherwise mix in.
    hits_table, truth, events : pandas.DataFrame
        The long tables of :func:`hits_from_table`; ``event_number`` must be
        unique and >= 0.

    Returns
    -------
    list of pathlib.Path
        The per-event files, in the order of ``events``.

    Raises
    ------
    ValueError
        For the tables, as :func:`hits_from_table`; for repeated or negative
        event numbers; or if the folder holds ``event_*.csv`` files this call
        does not write.

    See Also
    --------
    load_hits_csv : Read the files back.
    write_hits_text : The same events as the text dump.
    """
    caller = "write_hits_csv"
    table = _check_tables(hits_table, truth, events, caller)
    numbers = table.events["event_number"].to_numpy()
    if (numbers < 0).any():
        raise ValueError(
            f"{caller}: event numbers must be >= 0 to name the files; got "
            f"{int(numbers[np.argmax(numbers < 0)])}"
        )
    unique, seen = np.unique(numbers, return_counts=True)
    if (seen > 1).any():
        raise ValueError(
            f"{caller}: event number {int(unique[np.argmax(seen > 1)])} is given "
            "to more than one event; each event needs its own file"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    names = [f"event_{int(n):06d}.csv" for n in numbers]
    stale = sorted(
        p.name
        for p in directory.iterdir()
        if _EVENT_FILE.fullmatch(p.name) and p.name not in set(names)
    )
    if stale:
        raise ValueError(
            f"{caller}: {directory} already holds per-event files of other events "
            f"({stale[0]}, ... {len(stale)} files); write to an empty folder"
        )
    x = _midpoint(table.xe, table.xw)
    y = _midpoint(table.ye, table.yw)
    counts = table.events["n_hits"].to_numpy()
    starts = np.cumsum(counts) - counts
    paths = []
    for i, name in enumerate(names):
        lines = [_csv_line(_CSV_COLUMNS)]
        for k, j in enumerate(range(starts[i], starts[i] + counts[i])):
            lines.append(
                _csv_line(
                    (
                        str(k),
                        str(table.layer[j]),
                        str(table.wire[j]),
                        str(table.stereo[j]),
                        _num(x[j]),
                        _num(y[j]),
                        _num(table.rt[j]),
                        _num(table.rc[j]),
                        str(table.trk[j]),
                    )
                )
            )
        path = directory / name
        path.write_text("".join(lines), encoding="utf-8", newline="\n")
        paths.append(path)
    t0 = table.events["t0"].to_numpy()
    with (directory / EVENTS_FILE).open("w", encoding="utf-8", newline="\n") as out:
        out.write(_csv_line(_EVENTS_COLUMNS))
        for i, name in enumerate(names):
            out.write(_csv_line((str(numbers[i]), _num(t0[i]), str(counts[i]), name)))
    truth_values = table.truth[list(TRUTH_VALUES)].to_numpy()
    with (directory / TRUTH_FILE).open("w", encoding="utf-8", newline="\n") as out:
        out.write(_csv_line(_TRUTH_FILE_COLUMNS))
        for row, (event, particle) in enumerate(
            zip(table.truth["event"], table.truth["particle"], strict=True)
        ):
            values = (_num(v) for v in truth_values[row])
            out.write(_csv_line((str(numbers[event]), particle, *values)))
    return paths


# ------------------------------------------------------------------- reading


class _Reader:
    """Line-by-line reading of one file with errors naming file and line."""

    def __init__(self, path: Path, caller: str) -> None:
        self.path = path
        self.caller = caller
        self.line = 0

    def error(self, message: str, line: int | None = None) -> ValueError:
        line = self.line if line is None else line
        return ValueError(f"{self.caller}: {self.path}, line {line}: {message}")

    def lines(self) -> Iterator[str]:
        """Yield stripped lines, skipping blank ones; ``self.line`` is 1-based."""
        with self.path.open("rb") as handle:
            for self.line, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise self.error(f"not UTF-8 text ({exc.reason})") from None
                text = text.strip()
                if text:
                    yield text

    def integer(self, text: str, key: str) -> int:
        if not _INT.fullmatch(text):
            raise self.error(f"bad number {text!r} for {key!r} (expected an integer)")
        return int(text)

    def number(self, text: str, key: str) -> float:
        if not _FLOAT.fullmatch(text):
            raise self.error(f"bad number {text!r} for {key!r}")
        value = float(text)
        if not np.isfinite(value):
            raise self.error(f"bad number {text!r} for {key!r} (not finite)")
        if abs(value) > _FLOAT32_MAX:
            raise self.error(f"bad number {text!r} for {key!r} (beyond float32)")
        return value

    def fields(
        self, pairs: list[tuple[str, str]], keys: Sequence[str], at_end: bool, what: str
    ) -> dict[str, str]:
        """Check ``key=value`` pairs against the expected keys (any order).

        A line that stops after a prefix of the keys, in their order, is
        truncated; a key missing elsewhere is a missing field.
        """
        canonical = {k.lower(): k for k in keys}
        seen: dict[str, str] = {}
        for key, value in pairs:
            name = canonical.get(key.lower())
            if name is None:
                raise self.error(
                    f"unknown field {key!r} in {what} (expected {', '.join(keys)})"
                )
            if name in seen:
                raise self.error(f"field {name!r} given twice in {what}")
            seen[name] = value
        given = list(seen)
        missing = [k for k in keys if k not in seen]
        truncated = at_end and given == list(keys[: len(given)])
        if missing:
            if truncated:
                raise self.error(
                    f"truncated line: {what} ends before field {missing[0]!r} "
                    f"(expected {', '.join(keys)})"
                )
            raise self.error(f"missing field {missing[0]!r} in {what}")
        if truncated and seen[keys[-1]] == "":
            raise self.error(f"truncated line: {what} ends at {keys[-1]!r}= (no value)")
        for key, value in seen.items():
            if value == "":
                raise self.error(f"missing value for field {key!r} in {what}")
        return seen


class _Hits:
    """Growing per-hit values of one read, 8 bytes each (``array.array``)."""

    def __init__(self) -> None:
        self.event = array("q")
        self.ints = array("q")  # layer, wire, stereo, trk of each hit
        self.floats = array("d")

    def arrays(self, n_floats: int):
        event = np.frombuffer(self.event, dtype=np.int64).copy()
        ints = np.frombuffer(self.ints, dtype=np.int64).reshape(-1, 4).copy()
        floats = np.frombuffer(self.floats, dtype=np.float64).reshape(-1, n_floats)
        return event, ints, floats.copy()


def _check_hit(reader: _Reader, layer, wire, stereo, trk) -> None:
    for key, value in (("layer", layer), ("wire", wire), ("TRK", trk)):
        if value > _INT32_MAX:
            raise reader.error(f"bad number {value} for {key!r} (too large)")
    if layer < 0 or wire < 0:
        raise reader.error(f"negative layer or wire ({layer}, {wire})")
    if stereo not in (0, 1):
        raise reader.error(f"bad number {stereo} for 'stereo' (expected 0 or 1)")
    if trk < 0:
        raise reader.error(f"bad number {trk} for 'TRK' (expected >= 0; 0: noise)")


def _expect(reader: _Reader, line: str, pos: int, literal: str) -> int:
    """Position after ``literal`` at ``pos`` (case-insensitive), or raise."""
    rest = line[pos:]
    if rest.lower().startswith(literal.lower()):
        return pos + len(literal)
    if not rest or literal.lower().startswith(rest.lower()):
        raise reader.error(f"truncated line: event header ends before {literal!r}")
    raise reader.error(
        f"wrong header: expected {literal!r}, got {rest[: len(literal) + 10]!r} "
        "(an event header reads 'Event number: N Number of digis: K T0: t "
        "MC truth information: ...')"
    )


def _parse_header(reader: _Reader, text: str):
    """``(event number, n_digis, t0, [(name, 9 floats)])`` of a header line."""
    line = " ".join(text.split())
    pos = 0
    values = []
    for literal, key in _HEADER:
        pos = _expect(reader, line, pos, literal)
        if line[pos : pos + 1] == " ":
            pos += 1
        if key is None:
            break
        end = line.find(" ", pos)
        end = len(line) if end < 0 else end
        token = line[pos:end]
        if not token:
            raise reader.error(f"truncated line: event header ends before the {key}")
        if end == len(line):  # the value is the last thing on the line
            raise reader.error(f"truncated line: event header ends after {key!r}")
        if key == "T0":
            values.append(reader.number(token, key))
        else:
            values.append(reader.integer(token, key))
        pos = end + 1
    if values[1] < 0:
        raise reader.error(f"bad number {values[1]} for 'number of digis'")
    rest = re.sub(r"\s*=\s*", "=", line[pos:])
    rest = re.sub(r"\s+:", ":", rest)
    groups: list[tuple[str, list[tuple[str, str]]]] = []
    for token in rest.split():
        if "=" in token:
            if not groups:
                raise reader.error(
                    f"wrong header: {token!r} before any particle name "
                    "(expected e.g. 'Pi+: px=...')"
                )
            key, value = token.split("=", 1)
            groups[-1][1].append((key, value))
        elif token.endswith(":") and len(token) > 1:
            groups.append((token[:-1], []))
        else:
            raise reader.error(
                f"wrong header: unexpected {token!r} in the truth (expected "
                "'<particle>:' or 'key=value')"
            )
    particles = []
    for k, (name, pairs) in enumerate(groups):
        what = f"particle {name!r}"
        seen = reader.fields(pairs, TRUTH_VALUES, k == len(groups) - 1, what)
        numbers = [reader.number(seen[key], key) for key in TRUTH_VALUES]
        particles.append((_FROM_DUMP.get(name.lower(), name), numbers))
    return values[0], values[1], values[2], particles


def _parse_digi(reader: _Reader, text: str):
    """``(layer, wire, stereo, trk), (xe, ye, xw, yw, rt, rc)`` of a hit line."""
    match = _DIGI_FAST.fullmatch(text)
    if match is not None:  # the usual layout: no further checks needed
        g = match.groups()
        return (int(g[0]), int(g[1]), int(g[2]), int(g[9])), tuple(
            float(v) for v in g[3:9]
        )
    parts = [p.strip() for p in text.split(",")]
    while parts and not parts[-1]:
        parts.pop()
    pairs = []
    for k, part in enumerate(parts):
        if "=" not in part:
            if k == len(parts) - 1:
                raise reader.error(
                    f"truncated line: detector line ends in {part!r} "
                    f"(expected {', '.join(_DETECTOR_KEYS)})"
                )
            raise reader.error(
                f"missing field: {part!r} is not key=value in the detector line"
            )
        key, value = part.split("=", 1)
        pairs.append((key.strip(), value.strip()))
    seen = reader.fields(pairs, _DETECTOR_KEYS, True, "the detector line")
    layer, wire, stereo, trk = (
        reader.integer(seen[key], key) for key in ("layer", "wire", "stereo", "TRK")
    )
    _check_hit(reader, layer, wire, stereo, trk)
    floats = tuple(
        reader.number(seen[key], key) for key in ("XE", "YE", "XW", "YW", "RT", "RC")
    )
    return (layer, wire, stereo, trk), floats


def _resolve(path, caller) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ValueError(f"{caller}: {path} is a folder, not a file")
    return path


@validate_params(
    {
        "path": [str, os.PathLike],
        "max_hits": [Interval(Integral, 0, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def load_hits_text(
    path: str | os.PathLike, *, max_hits: int | None = None
) -> HitEvents:
    r"""Load drift-chamber events from the seed's text dump.

    The file is read line by line (never whole into memory); the per-hit
    values are gathered in columns and scattered into the padded array at
    the end. The format is in the module docstring: an event header, a
    ``Detector information:`` line and one ``layer=..., wire=..., stereo=...,
    XE=..., YE=..., XW=..., YW=..., RT=..., RC=..., TRK=...`` line per hit.
    Blank lines and extra spaces or tabs are allowed; fields may come in any
    order. An event with 0 digis is kept (all padding).

    Parameters
    ----------
    path : str or path-like
        The text file.
    max_hits : int or None, default=None
        Width of the padded arrays. ``None`` pads to the event with the most
        hits. An event with more hits raises a ValueError naming it (hits are
        never dropped).

    Returns
    -------
    HitEvents
        ``hits`` (``x = (XE + XW) / 2``, ``y = (YE + YW) / 2`` in float64,
        stored as float32), ``track_ids`` (TRK; -1 for padding), ``truth``
        (particle names ``Pi+``, ``Pi-`` read as ``pi+``, ``pi-``; ``e+``,
        ``e-``, ``mu+``, ``mu-`` as they are; other names kept as written)
        and ``events`` (event number, T0, number of hits, and the file name
        as ``source``), events in the order of the file.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If a line is malformed, naming the file and the 1-based line number:
        a truncated line (a header or hit line that stops before its last
        field), a bad number (not a number, not finite, a fraction where an
        integer is due, stereo not 0 or 1, a negative layer, wire, track id
        or digi count), a missing, unknown or repeated field, a wrong header
        (a line that is not an event header where one is due, or no
        ``Detector information:`` line), or a digi count that disagrees with
        the number of hit lines (the event header's line is named). Also if
        the file holds no event or an event has more than ``max_hits`` hits.
        A negative charge is not an error here; it is kept as read.

    See Also
    --------
    write_hits_text : Write the dump.
    load_hits_csv : The per-event CSV files.

    Examples
    --------
    >>> from hepclf.datasets import load_hits_text
    >>> path = getfixture("tmp_path") / "events.dat"
    >>> _ = path.write_text(
    ...     "Event number: 7 Number of digis: 1 T0: 656 MC truth information: "
    ...     "e+: px=1 py=0 pz=0 xi=0 yi=0 zi=0 xf=80 yf=0 zf=0\n"
    ...     "Detector information:\n"
    ...     "layer=8,\twire=35, stereo=\t0, XE=-10.5,\tYE=4,\tXW=-10.5,"
    ...     "\tYW=4,\tRT=538.5,\tRC=915,\tTRK=1\n")
    >>> events = load_hits_text(path)
    >>> events.hits.tolist()
    [[[-10.5, 4.0, 915.0, 8.0, 35.0, 0.0, 538.5]]]
    >>> events.truth.particle.tolist(), events.events.event_number.tolist()
    (['e+'], [7])
    """
    caller = "load_hits_text"
    reader = _Reader(_resolve(path, caller), caller)
    hits = _Hits()
    numbers: list[int] = []
    t0s: list[float] = []
    truth_event: list[int] = []
    truth_name: list[str] = []
    truth_values: list[list[float]] = []
    state = "start"  # "start", "header" (after an event header) or "digis"
    declared = found = header_line = 0

    def close() -> None:
        if state == "header":
            raise reader.error(
                "wrong header: the event header has no 'Detector information:' "
                "line after it",
                header_line,
            )
        if state == "digis" and found != declared:
            raise reader.error(
                f"the event header says 'Number of digis: {declared}' but "
                f"{found} detector lines follow it",
                header_line,
            )

    for text in reader.lines():
        if text.lower().startswith("event"):
            close()
            number, declared, t0, particles = _parse_header(reader, text)
            event = len(numbers)
            numbers.append(number)
            t0s.append(t0)
            for name, values in particles:
                truth_event.append(event)
                truth_name.append(name)
                truth_values.append(values)
            state, found, header_line = "header", 0, reader.line
        elif " ".join(text.split()).lower() == "detector information:":
            if state != "header":
                raise reader.error(
                    "wrong header: 'Detector information:' without an event "
                    "header before it"
                )
            state = "digis"
        elif state == "digis" and _DIGI_START.match(text):
            ints, floats = _parse_digi(reader, text)
            hits.event.append(len(numbers) - 1)
            hits.ints.extend(ints)
            hits.floats.extend(floats)
            found += 1
        elif state == "header":
            raise reader.error(
                f"wrong header: expected 'Detector information:', got {text[:40]!r}"
            )
        elif state == "digis":
            raise reader.error(
                "wrong header: expected a detector line 'layer=..., wire=..., ...' "
                f"or an event header 'Event number: ...', got {text[:40]!r}"
            )
        else:
            raise reader.error(
                f"wrong header: expected an event header 'Event number: N Number "
                f"of digis: K T0: t MC truth information: ...', got {text[:40]!r}"
            )
    close()
    if not numbers:
        raise ValueError(f"{caller}: {reader.path} holds no event")
    event, ints, floats = hits.arrays(6)
    features = _features(
        _midpoint(floats[:, 0], floats[:, 2]),
        _midpoint(floats[:, 1], floats[:, 3]),
        floats[:, 5],
        ints[:, 0],
        ints[:, 1],
        ints[:, 2],
        floats[:, 4],
    )
    padded, track_ids, counts = _pad(
        event,
        features,
        ints[:, 3],
        len(numbers),
        max_hits,
        lambda i: f"{reader.path}: event number {numbers[i]}",
        caller,
    )
    events = pd.DataFrame(
        {
            "event_number": np.asarray(numbers, dtype=np.int64),
            "t0": np.asarray(t0s, dtype=np.float64),
            "n_hits": counts,
            "source": reader.path.name,
        }
    )
    if truth_event:
        truth = _truth_frame(truth_event, truth_name, truth_values)
    else:
        truth = _empty_truth()
    return HitEvents(padded, track_ids, truth, events)


def _split_csv(reader: _Reader, text: str, columns: Sequence[str]) -> list[str]:
    """Split a CSV row into cells, checked for count and emptiness."""
    cells = [c.strip() for c in text.split(",")]
    while len(cells) > len(columns) and not cells[-1]:
        cells.pop()  # a trailing separator
    if len(cells) < len(columns):
        raise reader.error(
            f"truncated line: {len(cells)} of {len(columns)} fields "
            f"({', '.join(columns)})"
        )
    if len(cells) > len(columns):
        raise reader.error(f"{len(cells)} fields, expected {len(columns)}")
    for name, cell in zip(columns, cells, strict=True):
        if not cell:
            raise reader.error(f"missing field: no value for {name!r}")
    return cells


def _csv_rows(
    reader: _Reader, columns: Sequence[str], split: bool = True
) -> Iterator[list[str] | str]:
    """Check the header line, then yield the cells (or the text) of each row."""
    lines = reader.lines()
    header = next(lines, None)
    if header is None:
        raise reader.error(
            f"wrong header: empty file, expected {', '.join(columns)}",
            max(reader.line, 1),
        )
    names = [c.strip() for c in header.split(",")]
    while names and not names[-1]:
        names.pop()
    if [n.lower() for n in names] != [c.lower() for c in columns]:
        raise reader.error(
            f"wrong header: expected {', '.join(columns)}, got {header[:80]!r}"
        )
    for text in lines:
        yield _split_csv(reader, text, columns) if split else text


def _csv_files(paths, caller) -> list[Path]:
    """Per-event CSV files of a folder, a glob or a list of files and globs."""
    items = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not items:
        raise ValueError(f"{caller}: no files given")
    files: list[Path] = []
    companions = {EVENTS_FILE, TRUTH_FILE}
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p
                for p in path.glob("*.csv")
                if p.name not in companions and p.is_file()
            )
            if not found:
                raise FileNotFoundError(f"{path}: no per-event CSV file in this folder")
            files.extend(found)
        elif glob.has_magic(str(item)):
            found = sorted(
                Path(p) for p in glob.glob(str(item)) if Path(p).name not in companions
            )
            if not found:
                raise FileNotFoundError(f"{item}: no such file")
            files.extend(found)
        elif not path.exists():
            raise FileNotFoundError(f"{path}: no such file")
        else:
            files.append(path)
    return files


def _read_events_file(
    path: Path, caller: str
) -> dict[str, tuple[int, float, int, int]]:
    """``{file name: (event number, t0, n_hits, line)}`` from ``events.csv``."""
    reader = _Reader(path, caller)
    table = {}
    for cells in _csv_rows(reader, _EVENTS_COLUMNS):
        number = reader.integer(cells[0], "event_number")
        t0 = reader.number(cells[1], "t0")
        n_hits = reader.integer(cells[2], "n_hits")
        if cells[3] in table:
            raise reader.error(f"file {cells[3]!r} listed twice")
        table[cells[3]] = (number, t0, n_hits, reader.line)
    return table


def _number_from_name(path: Path, caller: str) -> int:
    digits = re.findall(r"\d+", path.stem)
    if not digits:
        raise ValueError(
            f"{caller}: cannot tell the event number of {path}: no {EVENTS_FILE} "
            "lists it and its name holds no number"
        )
    return int(digits[-1])


@validate_params(
    {
        "paths": [str, os.PathLike, list, tuple],
        "max_hits": [Interval(Integral, 0, None, closed="left"), None],
    },
    prefer_skip_nested_validation=True,
)
def load_hits_csv(
    paths: str | os.PathLike | Sequence[str | os.PathLike],
    *,
    max_hits: int | None = None,
) -> HitEvents:
    r"""Load drift-chamber events from per-event CSV files.

    Each file holds one event: the header ``ID, Layer, Wire, Stereo, X, Y,
    RT, RC, TRK`` (spaces, tabs and a trailing separator allowed, names in
    any case), then one row per hit, ``X`` and ``Y`` being the wire
    midpoints in mm. A file with the header only is an empty event. Files
    are read line by line. If the files share one folder that holds
    ``events.csv`` or ``truth.csv`` (written by :func:`write_hits_csv`, see
    the module docstring), event numbers and T0 come from ``events.csv`` and
    the truth from ``truth.csv``; otherwise the event number is the last
    number in the file name, T0 is NaN and the truth is empty.

    Parameters
    ----------
    paths : str, path-like or list of them
        A folder (every ``*.csv`` in it but ``events.csv`` and
        ``truth.csv``), a glob pattern or a list of files and patterns.
    max_hits : int or None, default=None
        Width of the padded arrays. ``None`` pads to the event with the most
        hits. An event with more hits raises a ValueError naming its file
        (hits are never dropped).

    Returns
    -------
    HitEvents
        Events ordered by event number: ``hits`` (the float32 of ``X``,
        ``Y``, ``RC``, ``Layer``, ``Wire``, ``Stereo``, ``RT``),
        ``track_ids`` (TRK; -1 for padding), ``truth`` (the rows of
        ``truth.csv`` for the events read; rows of other events are not
        read) and ``events`` (``source`` is the name of the event's file).
        For files written by :func:`write_hits_csv` and :func:`write_hits_text`
        from the same tables, ``hits`` and ``track_ids`` equal those of
        :func:`load_hits_text`.

    Raises
    ------
    FileNotFoundError
        If a file does not exist, or a folder or glob matches no file.
    ValueError
        If a line is malformed, naming the file and the 1-based line number:
        a wrong header, a truncated line (fewer fields than the header), a
        missing field (an empty cell), a bad number (as for
        :func:`load_hits_text`), or an ``events.csv`` row whose ``n_hits``
        disagrees with its file. Also for two files of the same event
        number, a per-event file of a folder that ``events.csv`` does not
        list, a file whose event number cannot be told, or an event with more
        than ``max_hits`` hits.

    See Also
    --------
    write_hits_csv : Write the files.
    load_hits_text : The text dump.

    Examples
    --------
    >>> from hepclf.datasets import load_hits_csv
    >>> folder = getfixture("tmp_path")
    >>> _ = (folder / "event_3.csv").write_text(
    ...     "ID, Layer, Wire, Stereo, X, Y, RT, RC, TRK\n"
    ...     "0, 8, 16, 0, 36.5, 193.5, 513.375, 1052.0, 1\n")
    >>> _ = (folder / "event_12.csv").write_text(
    ...     "ID, Layer, Wire, Stereo, X, Y, RT, RC, TRK\n")
    >>> events = load_hits_csv(folder)
    >>> events.events.event_number.tolist(), events.track_ids.tolist()
    ([3, 12], [[1], [-1]])
    """
    caller = "load_hits_csv"
    files = _csv_files(paths, caller)
    folders = {f.parent.resolve() for f in files}
    listed: dict[str, tuple[int, float, int, int]] = {}
    truth_path = None
    events_path = None
    if len(folders) == 1:
        folder = files[0].parent
        if (folder / EVENTS_FILE).is_file():
            events_path = folder / EVENTS_FILE
            listed = _read_events_file(events_path, caller)
        if (folder / TRUTH_FILE).is_file():
            truth_path = folder / TRUTH_FILE
    whole_folders = isinstance(paths, (str, os.PathLike)) and Path(paths).is_dir()
    if whole_folders and events_path is not None:
        names = {f.name for f in files}
        for name, (*_, line) in listed.items():
            if name not in names:
                raise _Reader(events_path, caller).error(
                    f"lists {name!r}, which is not in the folder", line
                )
    entries = []
    for f in files:
        if f.name in listed:
            number, t0, n_hits, line = listed[f.name]
        elif events_path is not None and whole_folders:
            raise ValueError(
                f"{caller}: {f} is not listed in {events_path}; remove it or pass "
                "the files to read explicitly"
            )
        else:
            number, t0, n_hits, line = _number_from_name(f, caller), np.nan, -1, 0
        entries.append((number, f, t0, n_hits, line))
    entries.sort(key=lambda e: e[0])
    for previous, entry in itertools.pairwise(entries):
        if previous[0] == entry[0]:
            raise ValueError(
                f"{caller}: {previous[1]} and {entry[1]} both hold event number "
                f"{entry[0]}"
            )

    hits = _Hits()
    for position, (_, f, _, n_hits, line) in enumerate(entries):
        reader = _Reader(f, caller)
        found = 0
        for text in _csv_rows(reader, _CSV_COLUMNS, split=False):
            match = _CSV_FAST.fullmatch(text)
            if match is not None:  # the usual row: no further checks needed
                g = match.groups()
                layer, wire, stereo, trk = int(g[1]), int(g[2]), int(g[3]), int(g[8])
                x, y, rt, rc = float(g[4]), float(g[5]), float(g[6]), float(g[7])
            else:
                cells = _split_csv(reader, text, _CSV_COLUMNS)
                reader.integer(cells[0], "ID")
                layer, wire, stereo, trk = (
                    reader.integer(cells[k], _CSV_COLUMNS[k]) for k in (1, 2, 3, 8)
                )
                _check_hit(reader, layer, wire, stereo, trk)
                x, y, rt, rc = (
                    reader.number(cells[k], _CSV_COLUMNS[k]) for k in (4, 5, 6, 7)
                )
            hits.event.append(position)
            hits.ints.extend((layer, wire, stereo, trk))
            hits.floats.extend((x, y, rt, rc))
            found += 1
        if n_hits >= 0 and n_hits != found:
            raise _Reader(events_path, caller).error(
                f"n_hits={n_hits} for {f.name}, which holds {found} hits", line
            )

    event, ints, floats = hits.arrays(4)
    features = _features(
        floats[:, 0],
        floats[:, 1],
        floats[:, 3],
        ints[:, 0],
        ints[:, 1],
        ints[:, 2],
        floats[:, 2],
    )
    padded, track_ids, counts = _pad(
        event,
        features,
        ints[:, 3],
        len(entries),
        max_hits,
        lambda i: f"{entries[i][1]}",
        caller,
    )
    numbers = np.asarray([e[0] for e in entries], dtype=np.int64)
    events = pd.DataFrame(
        {
            "event_number": numbers,
            "t0": np.asarray([e[2] for e in entries], dtype=np.float64),
            "n_hits": counts,
            "source": [e[1].name for e in entries],
        }
    )
    truth = _empty_truth()
    if truth_path is not None:
        position_of = {int(n): i for i, n in enumerate(numbers)}
        reader = _Reader(truth_path, caller)
        rows_event, rows_name, rows_values = [], [], []
        for cells in _csv_rows(reader, _TRUTH_FILE_COLUMNS):
            number = reader.integer(cells[0], "event_number")
            values = [
                reader.number(c, k)
                for c, k in zip(cells[2:], TRUTH_VALUES, strict=True)
            ]
            if number in position_of:
                rows_event.append(position_of[number])
                rows_name.append(_FROM_DUMP.get(cells[1].lower(), cells[1]))
                rows_values.append(values)
        if rows_event:
            order = np.argsort(np.asarray(rows_event), kind="stable")
            truth = _truth_frame(
                np.asarray(rows_event)[order],
                np.asarray(rows_name, dtype=object)[order],
                np.asarray(rows_values)[order],
            )
    return HitEvents(padded, track_ids, truth, events)
