from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hepclf.datasets import (
    HitEvents,
    load_hits_csv,
    load_hits_text,
    write_hits_csv,
    write_hits_text,
)
from hepclf.datasets._hits_io import HIT_FEATURES, hits_from_table

TRUTH_VALUES = ["px", "py", "pz", "xi", "yi", "zi", "xf", "yf", "zf"]
HEADER = "ID,Layer,Wire,Stereo,X,Y,RT,RC,TRK\n"


def tables(seed=0):
    """Four events: 3, 2, 0 (empty) and 4 hits, rows of events interleaved."""
    rng = np.random.default_rng(seed)
    event = np.array([3, 0, 1, 0, 3, 1, 3, 0, 3])
    n = len(event)
    stereo = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0])
    xe = rng.uniform(-800, 800, n)
    ye = rng.uniform(-800, 800, n)
    # axial wires: both ends at the same (x, y)
    xw = np.where(stereo == 1, xe + rng.uniform(-30, 30, n), xe)
    yw = np.where(stereo == 1, ye + rng.uniform(-30, 30, n), ye)
    rc = np.round(rng.uniform(100, 3000, n))
    rc[5] = -7.0  # a negative charge is kept as read
    hits_table = pd.DataFrame(
        {
            "event": event,
            "layer": rng.integers(0, 43, n),
            "wire": rng.integers(0, 288, n),
            "stereo": stereo,
            "xe": xe,
            "ye": ye,
            "xw": xw,
            "yw": yw,
            "rt": rng.uniform(0, 1500, n),
            "rc": rc,
            "trk": np.array([1, 2, 0, 1, 4, 1, 3, 0, 2]),
        }
    )
    truth = pd.DataFrame(
        {
            "event": [0, 0, 1, 3, 3, 3, 3],
            "particle": ["pi+", "e-", "mu+", "pi+", "pi-", "e+", "e-"],
            **{k: rng.normal(0, 50, 7) for k in TRUTH_VALUES},
        }
    )
    events = pd.DataFrame({"event_number": [10, 11, 12, 13], "t0": [656.0, 0.5, 7, 3]})
    return hits_table, truth, events


def assert_same_hits(a: HitEvents, b: HitEvents):
    assert a.hits.dtype == b.hits.dtype == np.float32
    assert a.track_ids.dtype == b.track_ids.dtype == np.int32
    np.testing.assert_array_equal(a.hits, b.hits)
    np.testing.assert_array_equal(a.track_ids, b.track_ids)


def test_hits_from_table_known_values():
    hits_table, truth, events = tables()
    out = hits_from_table(hits_table, truth, events)
    assert HIT_FEATURES == ("x", "y", "charge", "layer", "wire", "stereo", "drift_time")
    assert out.hits.shape == (4, 4, 7)
    np.testing.assert_array_equal(out.events["n_hits"], [3, 2, 0, 4])
    # hits of event 0 are table rows 1, 3, 7, in that order
    rows = hits_table.iloc[[1, 3, 7]]
    expected = np.column_stack(
        [
            (rows.xe + rows.xw) / 2,
            (rows.ye + rows.yw) / 2,
            rows.rc,
            rows.layer,
            rows.wire,
            rows.stereo,
            rows.rt,
        ]
    ).astype(np.float32)
    np.testing.assert_array_equal(out.hits[0, :3], expected)
    np.testing.assert_array_equal(out.track_ids[0], [2, 1, 0, -1])
    np.testing.assert_array_equal(out.track_ids[3], [1, 4, 3, 2])
    # padding: all zeros and track id -1; the empty event is kept
    np.testing.assert_array_equal(out.hits[0, 3], 0)
    np.testing.assert_array_equal(out.hits[2], 0)
    np.testing.assert_array_equal(out.track_ids[2], -1)
    assert out.hits[1, 1, 2] == -7.0  # negative charge kept
    assert list(out.events.columns) == ["event_number", "t0", "n_hits", "source"]
    assert out.truth["event"].tolist() == [0, 0, 1, 3, 3, 3, 3]
    assert out.truth["particle"].tolist() == truth["particle"].tolist()


def test_round_trips_are_exact_and_both_formats_agree(tmp_path):
    hits_table, truth, events = tables()
    reference = hits_from_table(hits_table, truth, events)
    text = write_hits_text(tmp_path / "jpsi_ee.dat", hits_table, truth, events)
    files = write_hits_csv(tmp_path / "csv", hits_table, truth, events)
    assert [f.name for f in files] == [f"event_0000{n}.csv" for n in (10, 11, 12, 13)]
    from_text = load_hits_text(text)
    from_csv = load_hits_csv(tmp_path / "csv")
    for read in (from_text, from_csv):
        assert_same_hits(read, reference)
        pd.testing.assert_frame_equal(read.truth, reference.truth)
        pd.testing.assert_frame_equal(
            read.events.drop(columns="source"), reference.events.drop(columns="source")
        )
    assert_same_hits(from_text, from_csv)
    assert from_text.events["source"].tolist() == ["jpsi_ee.dat"] * 4
    assert from_csv.events["source"].tolist() == [f.name for f in files]
    # the empty event is still there, in both
    assert from_text.events["n_hits"].tolist() == [3, 2, 0, 4]
    np.testing.assert_array_equal(from_csv.track_ids[2], -1)


def test_text_layout_is_the_seeds(tmp_path):
    hits_table, truth, events = tables()
    path = write_hits_text(tmp_path / "a.dat", hits_table, truth, events)
    lines = path.read_text().splitlines()
    assert lines[0].startswith(
        "Event number: 10 Number of digis: 3 T0: 656 MC truth information: Pi+: px="
    )
    assert " e-: px=" in lines[0]
    assert lines[1] == "Detector information:"
    assert re.fullmatch(
        r"layer=\d+,\twire=\d+, stereo=\t0, XE=\S+,\tYE=\S+,\tXW=\S+,\tYW=\S+,"
        r"\tRT=\S+,\tRC=\S+,\tTRK=2",
        lines[2],
    )
    empty = lines.index(
        "Event number: 12 Number of digis: 0 T0: 7 MC truth information:"
    )
    assert lines[empty + 1] == "Detector information:"
    assert lines[empty + 2].startswith("Event number: 13 ")


SEED_TEXT = (
    "Event number: 0 Number of digis: 2 T0: 656 MC truth information: "
    "Pi+: px=-0.242978 py=-0.029811 pz=-0.234886 xi=0.021781 yi=-0.154217 "
    "zi=0.625080 xf=87.543005 yf=50.414698 zf=-104.047484 "
    "e+: px=1.153744 py=0.669807 pz=-0.660627 xi=0.021781 yi=-0.154217 "
    "zi=0.625080 xf=77.586081 yf=56.726887 zf=-48.333559\n"
    "\n"
    "Detector information:\n"
    "\n"
    "layer=0,\twire=21, stereo=\t1, XE=-76.671368,\tYE=-18.407167,\tXW=-74.990806,"
    "\tYW=24.365990,\tRT=500.156250,\tRC=2097,\tTRK=1\n"
    "\n"
    "layer=8,\twire=35, stereo=\t0, XE=-193.598870,\tYE=36.448287,"
    "\tXW=-193.598870,\tYW=36.448287,\tRT=538.781250,\tRC=915,\tTRK=3\n"
    "\n"
)


def test_reads_the_seeds_text(tmp_path):
    path = tmp_path / "pipijpsi_ee.dat"
    path.write_text(SEED_TEXT + SEED_TEXT.replace("number: 0", "number: 1"))
    out = load_hits_text(path)
    assert out.hits.shape == (2, 2, 7)
    x = (-76.671368 + -74.990806) / 2
    y = (-18.407167 + 24.365990) / 2
    np.testing.assert_array_equal(
        out.hits[0, 0], np.float32([x, y, 2097, 0, 21, 1, 500.15625])
    )
    np.testing.assert_array_equal(
        out.hits[1, 1], np.float32([-193.59887, 36.448287, 915, 8, 35, 0, 538.78125])
    )
    np.testing.assert_array_equal(out.track_ids, [[1, 3], [1, 3]])
    assert out.truth["particle"].tolist() == ["pi+", "e+", "pi+", "e+"]
    assert out.truth["event"].tolist() == [0, 0, 1, 1]
    assert out.truth.loc[1, "xf"] == 77.586081
    assert out.events["event_number"].tolist() == [0, 1]
    assert out.events["t0"].tolist() == [656.0, 656.0]


def test_text_reader_is_tolerant_of_spacing_and_line_ends(tmp_path):
    path = tmp_path / "a.dat"
    text = (
        "  Event  number:\t4 Number of digis:  1  T0: 2.5   MC truth information:"
        "  mu-:  px = 1 py=2 pz=3 xi=4 yi=5 zi=6 xf=7 yf=8 zf=9 \r\n"
        "Detector information:\r\n"
        " TRK=0 , layer = 3, wire=4, stereo=0, XE=1, YE=2, XW=3, YW=4, RT=5, RC=-6,\r\n"
    )
    path.write_bytes(text.encode())
    out = load_hits_text(path)
    np.testing.assert_array_equal(out.hits, np.float32([[[2, 3, -6, 3, 4, 0, 5]]]))
    np.testing.assert_array_equal(out.track_ids, [[0]])
    assert out.truth["particle"].tolist() == ["mu-"]
    np.testing.assert_array_equal(out.truth[TRUTH_VALUES].to_numpy(), [range(1, 10)])
    assert out.events.loc[0, "event_number"] == 4
    assert out.events.loc[0, "t0"] == 2.5


GOOD_HEADER = (
    "Event number: 0 Number of digis: 1 T0: 656 MC truth information: "
    "e+: px=1 py=2 pz=3 xi=4 yi=5 zi=6 xf=7 yf=8 zf=9"
)
GOOD_DIGI = (
    "layer=0,\twire=21, stereo=\t1, XE=-76.5,\tYE=-18.25,\tXW=-74.5,"
    "\tYW=24.5,\tRT=500.25,\tRC=2097,\tTRK=1"
)


def dump(*lines):
    return "\n".join(lines) + "\n"


BAD_TEXT = [
    (
        "truncated-digi",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.split(",\tRC")[0]),
        3,
        "truncated line: the detector line ends before field 'RC'",
    ),
    (
        "truncated-in-key",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.split("=2097")[0][:-1]),
        3,
        "truncated line: detector line ends in 'R'",
    ),
    (
        "truncated-empty-value",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI[:-1]),
        3,
        "truncated line: the detector line ends at 'TRK'= (no value)",
    ),
    (
        "truncated-header",
        dump("", GOOD_HEADER.split(" zi=")[0], "Detector information:", GOOD_DIGI),
        2,
        "truncated line: particle 'e+' ends before field 'zi'",
    ),
    (
        "truncated-header-early",
        dump(GOOD_HEADER[:36], "Detector information:", GOOD_DIGI),
        1,
        "truncated line: event header ends before 'T0:'",
    ),
    (
        "bad-number",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("-18.25", "x1")),
        3,
        "bad number 'x1' for 'YE'",
    ),
    (
        "bad-number-nan",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("500.25", "nan")),
        3,
        "bad number 'nan' for 'RT'",
    ),
    (
        "bad-number-overflow",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("2097", "1e999")),
        3,
        "bad number '1e999' for 'RC' (not finite)",
    ),
    (
        "bad-number-float32",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("2097", "1e39")),
        3,
        "bad number '1e39' for 'RC' (beyond float32)",
    ),
    (
        "bad-number-fraction",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("=21", "=2.5")),
        3,
        "bad number '2.5' for 'wire' (expected an integer)",
    ),
    (
        "bad-number-header",
        dump(
            GOOD_HEADER.replace("py=2", "py=2..1"), "Detector information:", GOOD_DIGI
        ),
        1,
        "bad number '2..1' for 'py'",
    ),
    (
        "bad-stereo",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("\t1,", "\t2,")),
        3,
        "bad number 2 for 'stereo' (expected 0 or 1)",
    ),
    (
        "bad-track",
        dump(
            GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("TRK=1", "TRK=-1")
        ),
        3,
        "bad number -1 for 'TRK'",
    ),
    (
        "missing-field",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI.replace("XW=-74.5,", "")),
        3,
        "missing field 'XW' in the detector line",
    ),
    (
        "missing-field-header",
        dump(GOOD_HEADER.replace("px=1 ", ""), "Detector information:", GOOD_DIGI),
        1,
        "missing field 'px' in particle 'e+'",
    ),
    (
        "repeated-field",
        dump(GOOD_HEADER + " zf=3", "Detector information:", GOOD_DIGI),
        1,
        "field 'zf' given twice in particle 'e+'",
    ),
    (
        "unknown-field",
        dump(GOOD_HEADER, "Detector information:", GOOD_DIGI + ", ZZ=1"),
        3,
        "unknown field 'ZZ'",
    ),
    (
        "wrong-header",
        dump(GOOD_HEADER.replace("Event number", "Evnt number"), GOOD_DIGI),
        1,
        "wrong header: expected an event header 'Event number: N",
    ),
    (
        "wrong-header-field",
        dump(GOOD_HEADER.replace("Number of digis", "Number of hits")),
        1,
        "wrong header: expected 'Number of digis:', got 'Number of hits: 1",
    ),
    (
        "wrong-header-later",
        dump(
            GOOD_HEADER,
            "Detector information:",
            GOOD_DIGI,
            "",
            GOOD_HEADER.replace("Event number", "Evnt number"),
        ),
        5,
        "wrong header: expected a detector line",
    ),
    (
        "no-detector-information",
        dump(GOOD_HEADER, GOOD_DIGI),
        2,
        "wrong header: expected 'Detector information:'",
    ),
    (
        "no-detector-information-at-end",
        dump(GOOD_HEADER),
        1,
        "the event header has no 'Detector information:' line",
    ),
    (
        "too-few-digis",
        dump(GOOD_HEADER.replace("digis: 1", "digis: 2"), "Detector information:")
        + dump(GOOD_DIGI, GOOD_HEADER, "Detector information:", GOOD_DIGI),
        1,
        "'Number of digis: 2' but 1 detector lines follow it",
    ),
    (
        "too-many-digis",
        dump(GOOD_HEADER, "", "Detector information:", GOOD_DIGI, GOOD_DIGI),
        1,
        "'Number of digis: 1' but 2 detector lines follow it",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in BAD_TEXT], ids=[c[0] for c in BAD_TEXT]
)
def test_malformed_text_names_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "bad.dat"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"{path}, line {line}: ")) as info:
        load_hits_text(path)
    assert message in str(info.value)
    assert str(info.value).startswith("load_hits_text: ")


def test_good_text_fixture_reads(tmp_path):
    # the base of the malformed cases is itself valid
    path = tmp_path / "good.dat"
    path.write_text(dump(GOOD_HEADER, "Detector information:", GOOD_DIGI))
    out = load_hits_text(path)
    np.testing.assert_array_equal(
        out.hits, np.float32([[[-75.5, 3.125, 2097, 0, 21, 1, 500.25]]])
    )


def test_unusual_but_valid_numbers_read_the_same(tmp_path):
    # numbers outside the fast path's pattern take the general parser
    digi = GOOD_DIGI.replace("-76.5", "-7.65e+01").replace("RT=500.25", "RT=5.0025e2")
    digi = digi.replace("RC=2097", "RC=+2097.").replace("TRK=1", "TRK=0001")
    path = tmp_path / "a.dat"
    path.write_text(dump(GOOD_HEADER, "Detector information:", digi))
    out = load_hits_text(path)
    np.testing.assert_array_equal(
        out.hits, np.float32([[[-75.5, 3.125, 2097, 0, 21, 1, 500.25]]])
    )
    np.testing.assert_array_equal(out.track_ids, [[1]])
    row = "+0, 3, 4, 1, 15e-1, 2.5e+0, 3.0025e+20, 7.0e2, 1"
    (tmp_path / "event_1.csv").write_text(HEADER + row + "\n")
    out = load_hits_csv(tmp_path / "event_1.csv")
    np.testing.assert_array_equal(
        out.hits, np.float32([[[1.5, 2.5, 700, 3, 4, 1, 3.0025e20]]])
    )


def test_text_without_events_or_file(tmp_path):
    empty = tmp_path / "empty.dat"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="holds no event"):
        load_hits_text(empty)
    with pytest.raises(FileNotFoundError, match=re.escape("nothere.dat: no such file")):
        load_hits_text(tmp_path / "nothere.dat")
    binary = tmp_path / "binary.dat"
    binary.write_bytes(dump(GOOD_HEADER).encode() + b"\xff\xfe\n")
    with pytest.raises(ValueError, match=r"binary.dat, line 2: not UTF-8"):
        load_hits_text(binary)


def test_max_hits(tmp_path):
    hits_table, truth, events = tables()
    text = write_hits_text(tmp_path / "a.dat", hits_table, truth, events)
    write_hits_csv(tmp_path / "csv", hits_table, truth, events)
    for load, where in (
        (load_hits_text, "a.dat: event number 13"),
        (load_hits_csv, "event_000013.csv"),
    ):
        source = text if load is load_hits_text else tmp_path / "csv"
        wide = load(source, max_hits=6)
        assert wide.hits.shape == (4, 6, 7)
        np.testing.assert_array_equal(wide.hits[:, :4], load(source).hits)
        np.testing.assert_array_equal(wide.track_ids[:, 4:], -1)
        with pytest.raises(ValueError, match="max_hits=3") as info:
            load(source, max_hits=3)
        assert where in str(info.value)
        assert "has 4 hits" in str(info.value)
    with pytest.raises(
        ValueError, match=re.escape("event 3 (event number 13) has 4 hits")
    ):
        hits_from_table(hits_table, truth, events, max_hits=3)


def test_csv_reads_the_seeds_layout(tmp_path):
    (tmp_path / "7.csv").write_text(
        "ID,\tLayer,\tWire,\tStereo,\tX,\tY,\tRT,\tRC,\tTRK\t\n"
        "0,\t0,\t10,\t1,\t14.805,\t74.431,\t277.312,\t705.0,\t1\t\n"
        "1,\t8,\t16,\t0,\t36.448,\t193.598,\t513.375,\t1052.0,\t2\t\n"
        "\n"
    )
    (tmp_path / "2.csv").write_text("ID, Layer, Wire, Stereo, X, Y, RT, RC, TRK\n")
    out = load_hits_csv(sorted(tmp_path.glob("*.csv"), reverse=True))
    assert out.events["event_number"].tolist() == [2, 7]
    assert out.events["source"].tolist() == ["2.csv", "7.csv"]
    assert out.events["n_hits"].tolist() == [0, 2]
    assert np.isnan(out.events["t0"]).all()
    assert out.truth.empty
    assert list(out.truth.columns) == ["event", "particle", *TRUTH_VALUES]
    np.testing.assert_array_equal(
        out.hits[1],
        np.float32(
            [
                [14.805, 74.431, 705, 0, 10, 1, 277.312],
                [36.448, 193.598, 1052, 8, 16, 0, 513.375],
            ]
        ),
    )
    np.testing.assert_array_equal(out.track_ids, [[-1, -1], [1, 2]])
    np.testing.assert_array_equal(out.hits[0], 0)


def test_csv_subsets_glob_and_companions(tmp_path):
    hits_table, truth, events = tables()
    files = write_hits_csv(tmp_path, hits_table, truth, events)
    header = (tmp_path / "events.csv").read_text().splitlines()[0]
    assert header == "event_number,t0,n_hits,file"
    assert (
        (tmp_path / "truth.csv")
        .read_text()
        .startswith("event_number,particle,px,py,pz,xi,yi,zi,xf,yf,zf\n10,pi+,")
    )
    everything = load_hits_csv(str(tmp_path / "event_*.csv"))
    assert everything.events["event_number"].tolist() == [10, 11, 12, 13]
    part = load_hits_csv([files[3], files[1]])
    assert part.events["event_number"].tolist() == [11, 13]
    np.testing.assert_array_equal(part.hits, everything.hits[[1, 3]])
    # truth rows of the events read only, with their new positions
    assert part.truth["event"].tolist() == [0, 1, 1, 1, 1]
    assert part.truth["particle"].tolist() == ["mu+", "pi+", "pi-", "e+", "e-"]
    np.testing.assert_array_equal(
        part.truth[TRUTH_VALUES], everything.truth[TRUTH_VALUES].iloc[2:]
    )
    assert part.events["t0"].tolist() == [0.5, 3.0]


def test_csv_folder_errors(tmp_path):
    hits_table, truth, events = tables()
    write_hits_csv(tmp_path, hits_table, truth, events)
    # rewriting the same events in place is fine; other events are refused
    write_hits_csv(tmp_path, hits_table, truth, events)
    other = events.assign(event_number=[10, 11, 12, 99])
    with pytest.raises(ValueError, match="already holds per-event files"):
        write_hits_csv(tmp_path, hits_table, truth, other)
    (tmp_path / "event_000099.csv").write_text(HEADER)
    with pytest.raises(
        ValueError, match=re.escape("event_000099.csv is not listed in")
    ):
        load_hits_csv(tmp_path)
    (tmp_path / "event_000099.csv").unlink()
    (tmp_path / "event_000011.csv").unlink()
    with pytest.raises(
        ValueError, match=r"events.csv, line 3: lists 'event_000011.csv', which is not"
    ):
        load_hits_csv(tmp_path)
    (tmp_path / "nothing").mkdir()
    with pytest.raises(FileNotFoundError, match="no per-event CSV file"):
        load_hits_csv(tmp_path / "nothing")
    with pytest.raises(FileNotFoundError, match=r"nope_\*.csv: no such file"):
        load_hits_csv(str(tmp_path / "nope_*.csv"))


def test_csv_duplicate_and_unnamed_events(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "event_5.csv").write_text(HEADER)
    (tmp_path / "b" / "event_005.csv").write_text(HEADER)
    with pytest.raises(ValueError, match="both hold event number 5"):
        load_hits_csv(
            [tmp_path / "a" / "event_5.csv", tmp_path / "b" / "event_005.csv"]
        )
    (tmp_path / "a" / "hits.csv").write_text(HEADER)
    with pytest.raises(ValueError, match="cannot tell the event number of"):
        load_hits_csv(tmp_path / "a")


ROW = "0,3,4,1,1.5,2.5,300.25,700.0,1"
BAD_CSV = [
    ("wrong-header", "ID,Layer,Wire,Stereo,XX,Y,RT,RC,TRK\n" + ROW, 1, "wrong header"),
    ("empty-file", "", 1, "wrong header: empty file"),
    ("truncated", HEADER + ROW + "\n" + ROW[:11], 3, "truncated line: 5 of 9 fields"),
    (
        "missing-field",
        HEADER + ROW.replace(",4,", ",,"),
        2,
        "missing field: no value for 'Wire'",
    ),
    ("bad-number", HEADER + ROW.replace("2.5", "2,5"), 2, "10 fields, expected 9"),
    ("bad-float", HEADER + ROW.replace("2.5", "2e"), 2, "bad number '2e' for 'Y'"),
    (
        "bad-int",
        HEADER + ROW.replace(",3,", ",3.0,"),
        2,
        "bad number '3.0' for 'Layer'",
    ),
    ("bad-inf", HEADER + ROW.replace("700.0", "inf"), 2, "bad number 'inf' for 'RC'"),
    (
        "bad-stereo",
        HEADER + ROW.replace(",1,1.5", ",5,1.5"),
        2,
        "for 'stereo' (expected 0",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "message"), [c[1:] for c in BAD_CSV], ids=[c[0] for c in BAD_CSV]
)
def test_malformed_csv_names_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "event_1.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(f"{path}, line {line}: ")) as info:
        load_hits_csv(path)
    assert message in str(info.value)
    assert str(info.value).startswith("load_hits_csv: ")


def test_good_csv_row_reads(tmp_path):
    path = tmp_path / "event_1.csv"
    path.write_text(HEADER + ROW + "\n")
    out = load_hits_csv(path)
    np.testing.assert_array_equal(
        out.hits, np.float32([[[1.5, 2.5, 700, 3, 4, 1, 300.25]]])
    )


def test_malformed_companion_files(tmp_path):
    hits_table, truth, events = tables()
    write_hits_csv(tmp_path, hits_table, truth, events)
    listing = tmp_path / "events.csv"
    good = listing.read_text()
    listing.write_text(good.replace(",3,event_000010", ",4,event_000010"))
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"{listing}, line 2: n_hits=4 for event_000010.csv, which holds 3"
        ),
    ):
        load_hits_csv(tmp_path)
    listing.write_text(good.replace(",0.5,", ",abc,"))
    with pytest.raises(
        ValueError, match=r"events.csv, line 3: bad number 'abc' for 't0'"
    ):
        load_hits_csv(tmp_path)
    listing.write_text(good)
    truth_file = tmp_path / "truth.csv"
    lines = truth_file.read_text().splitlines()
    lines[4] = lines[4].rsplit(",", 2)[0]
    truth_file.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"truth.csv, line 5: truncated line: 9 of 11"):
        load_hits_csv(tmp_path)


def test_writers_and_table_checks(tmp_path):
    hits_table, truth, events = tables()
    with pytest.raises(ValueError, match="more than one event"):
        write_hits_csv(
            tmp_path, hits_table, truth, events.assign(event_number=[1, 2, 2, 3])
        )
    bad = hits_table.copy()
    bad.loc[4, "rt"] = np.nan
    with pytest.raises(ValueError, match="column 'rt' holds nan in row 4"):
        write_hits_text(tmp_path / "a.dat", bad, truth, events)
    with pytest.raises(
        ValueError, match=re.escape("column 'event' must be in 0..3; row 0 holds 4")
    ):
        hits_from_table(hits_table.assign(event=hits_table.event + 1), truth, events)
    with pytest.raises(ValueError, match=re.escape("lacks column(s) ['trk']")):
        hits_from_table(hits_table.drop(columns="trk"), truth, events)
    with pytest.raises(ValueError, match="'stereo' must be 0 or 1"):
        hits_from_table(hits_table.assign(stereo=2), truth, events)
    with pytest.raises(
        ValueError, match="n_hits=1 but hits_table has 3 hits for event 0"
    ):
        hits_from_table(hits_table, truth, events.assign(n_hits=[1, 2, 0, 4]))
    with pytest.raises(ValueError, match=re.escape("particle name 'pi +'")):
        write_hits_text(
            tmp_path / "a.dat", hits_table, truth.assign(particle="pi +"), events
        )
    with pytest.raises(ValueError, match="events column 't0' holds nan"):
        write_hits_text(tmp_path / "a.dat", hits_table, truth, events.assign(t0=np.nan))
    # no truth at all: written and read back as an empty frame
    path = write_hits_text(tmp_path / "b.dat", hits_table, None, events)
    out = load_hits_text(path)
    assert out.truth.empty
    assert list(out.truth.columns) == ["event", "particle", *TRUTH_VALUES]
    assert_same_hits(out, hits_from_table(hits_table, None, events))


def test_trailing_empty_events_are_kept(tmp_path):
    hits_table, truth, events = tables()
    events = pd.concat(
        [events, pd.DataFrame({"event_number": [14, 15], "t0": [1.0, 2.0]})],
        ignore_index=True,
    )
    reference = hits_from_table(hits_table, truth, events)
    assert reference.hits.shape == (6, 4, 7)
    text = load_hits_text(
        write_hits_text(tmp_path / "a.dat", hits_table, truth, events)
    )
    write_hits_csv(tmp_path / "csv", hits_table, truth, events)
    from_csv = load_hits_csv(tmp_path / "csv")
    for out in (reference, text, from_csv):
        assert out.events["n_hits"].tolist() == [3, 2, 0, 4, 0, 0]
        assert out.events["event_number"].tolist() == [10, 11, 12, 13, 14, 15]
        np.testing.assert_array_equal(out.track_ids[4:], -1)
    assert_same_hits(text, reference)
    assert_same_hits(from_csv, reference)


def test_extra_event_columns_are_kept():
    hits_table, truth, events = tables()
    out = hits_from_table(
        hits_table, truth, events.assign(process="jpsi_ee", source="x")
    )
    assert list(out.events.columns) == [
        "event_number",
        "t0",
        "n_hits",
        "source",
        "process",
    ]
    assert out.events["source"].tolist() == ["x"] * 4
