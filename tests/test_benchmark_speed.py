"""The speed benchmark scripts run end to end at tiny sizes (never timings)."""

from __future__ import annotations

import importlib.util
import mmap
import platform
import re
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
SETTINGS = ["float32", "float32, channels-last", "bfloat16", "bfloat16, channels-last"]

# A stand-in for energyflow's image_utils.py (energyflow pins numpy < 2 and the
# script downloads it with pip): same call, a plain histogram.
FAKE_IMAGE_UTILS = """
import numpy as np

def pixelate(jet, npix=33, img_width=0.8, nb_chan=1, norm=True):
    half = img_width / 2
    image, _, _ = np.histogram2d(
        jet[:, 1], jet[:, 2], bins=npix, range=[[-half, half]] * 2, weights=jet[:, 0]
    )
    return image / image.sum() if norm and image.sum() > 0 else image
"""

FLOOR = r"^  {} +\d thr: [\d.]+ MB in [\d.]+ ms = [\d.]+ GB/s, [\d,]+ {}/s$"

# script: (arguments, module it needs, tables, patterns the output must match).
# tables: header -> (the value columns that end the header line, the labels of
# the rows: all of them in order (a list), or some of them (a set)).
RUNS = {
    "bench_imaging": (
        ["--n-jets", "64", "--repeat", "1", "--energyflow", "{fake}"],
        None,
        {
            "method": (
                ["threads", "jets/s", "spread", "x loop", "x floor"],
                {
                    "energyflow pixelate, per-jet loop",
                    "energyflow loop, (E,px,py,pz)",
                    "NumPy engine: centre+norm",
                    "NumPy engine: full recipe",
                    "NumPy engine: full, (E,px,py,pz)",
                    "NumPy engine's scatter step (bincount)",
                },
            )
        },
        [
            r"^  read ptetaphi +NumPy sum +1 thr +[\d.]+ MB +[\d.]+ ms +[\d.]+ GB/s$",
            r"^  write +NumPy out\.fill\(0\) +1 thr .* GB/s$",
            r"^  \(a new output array, np\.empty then fill\(0\), page faults",
            FLOOR.format("ptetaphi", "jets"),
            FLOOR.format("epxpypz ", "jets"),
            r"^mean fraction of jet pT inside the 1\.6x1\.6 window: 0\.\d{4}$",
        ],
    ),
    "bench_event_imaging": (
        ["--n-events", "16", "--n-slow", "4", "--repeat", "1"],
        "matplotlib",
        {
            "method": (
                ["threads", "events/s", "spread", "x mpl", "x floor"],
                {
                    f"{recipe}: {row}"
                    for recipe in ("hepclf", "seed")
                    for row in (
                        "EventImager NumPy engine",
                        "naive full-canvas NumPy",
                        "matplotlib per event",
                    )
                },
            )
        },
        [
            r"^  read +NumPy sum +1 thr +[\d.]+ MB +[\d.]+ ms +[\d.]+ GB/s$",
            r"^  write seed +NumPy out\.fill\(0\) +1 thr .* GB/s$",
            r"^  \(a new hepclf output array, np\.empty then fill\(0\), page faults",
            FLOOR.format("hepclf", "events"),
            FLOOR.format("seed  ", "events"),
            r"^seed preset vs matplotlib on 4 events: ",
            r"pixels differing in occupancy 0$",
        ],
    ),
    "bench_hit_encoding": (
        ["--n-events", "60", "--n-slow", "12", "--repeat", "1", "--npix", "16"],
        None,
        {
            "method": (
                ["events/s", "spread", "x loop", "x floor"],
                {
                    f"{recipe}: {row}"
                    for recipe in ("per_hit", "all four")
                    for row in ("EnergyEncoder, numpy", "histogram2d per-event loop")
                }
                | {"unrolled: EnergyEncoder, numpy"},
            )
        },
        [
            r"^check per_hit, numpy engine: max \|EnergyEncoder - histogram2d loop\| = 0$",
            r"^check all four, numpy engine: max .* = 0$",
            r"^  read +NumPy sum +1 thr +[\d.]+ MB +[\d.]+ ms +[\d.]+ GB/s$",
            r"^  per_hit   1 thr: [\d.]+ MB in [\d.]+ ms = [\d.]+ GB/s",
        ],
    ),
    "bench_onnx": (
        ["--n-jets", "40", "--n-single", "4", "--repeat", "1"],
        "onnxruntime",
        {
            "method": (
                ["jets", "s", "jets/s", "speed-up", "spread", "faults/jet"],
                [
                    "pipe.predict_proba all",
                    "ONNX Runtime all",
                    "pipe.predict_proba 1",
                    "ONNX Runtime 1",
                ],
            )
        },
        [r"max \|ONNX - predict_proba\| = \d"],
    ),
    "bench_training": (
        [
            "--n-images",
            "64",
            "--epochs",
            "1",
            "--repeat",
            "1",
            "--batch-size",
            "32",
            "--skip-skorch-default",
        ],
        None,
        {
            header: (columns, ["hand-written PyTorch loop", "hepclf CNNClassifier"])
            for header, columns in [
                ("training (median epoch)", ["s/epoch", "images/s", "ratio"]),
                (
                    "inference (predict_proba)",
                    ["s", "images/s", "ratio", "spread", "faults/image"],
                ),
            ]
        },
        [r"^inference: batch 32, one untimed call each, then 1 interleaved"],
    ),
    "bench_precision": (
        [
            "--n-images",
            "8",
            "--npix",
            "32",
            "--repeat",
            "1",
            "--batch-size",
            "4",
            "--matmul-size",
            "64",
        ],
        None,
        {
            header: (columns, list(SETTINGS))
            for header, columns in [
                ("training (median epoch)", ["s/epoch", "images/s", "ratio", "spread"]),
                (
                    "inference (predict_proba)",
                    ["s", "images/s", "ratio", "spread", "faults/image"],
                ),
            ]
        },
        [
            (
                r"^arithmetic: [\d.]+ GFLOP per image per training step, [\d.]+ per "
                r"prediction; torch.mm of 64 x 64: float32 [\d,]+ GFLOP/s, bfloat16 "
            ),
            (
                r"^floor, training: the arithmetic at the matmul rate float32 [\d.]+ s, "
                r"bfloat16 [\d.]+ s; the fastest row [\d.]+ s$"
            ),
            r"^floor, inference: ",
            r"^floor, memory: one read of the images \(X.sum\(\), 0 MB\) ",
        ],
    ),
}
SLOW = {"bench_imaging", "bench_event_imaging", "bench_onnx"}


def _load_script(name):
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", BENCHMARKS / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(out, header):
    """The header line and rows of the table whose header starts with ``header``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line)
    return lines[start], rows


def _number(text):
    return float(text.replace(",", "").removesuffix("%"))


@pytest.mark.parametrize(
    "script",
    [pytest.param(s, marks=pytest.mark.slow) if s in SLOW else s for s in RUNS],
)
def test_benchmark_runs(script, tmp_path, capsys):
    argv, needs, tables, patterns = RUNS[script]
    if needs:
        pytest.importorskip(needs)
    fake = tmp_path / "image_utils.py"
    fake.write_text(FAKE_IMAGE_UTILS)
    _load_script(script).main([a.format(fake=fake) for a in argv])
    out = capsys.readouterr().out
    for header, (columns, labels) in tables.items():
        head, rows = _table(out, header)
        assert " ".join(head.split()).endswith(" ".join(columns)), head
        found = []
        for row in rows:
            words = row.split()
            label, values = words[: -len(columns)], words[-len(columns) :]
            found.append(" ".join(label))
            for column, value in zip(columns, values, strict=True):
                # times and spreads round to 0 at these sizes; the rest cannot
                low = 0 if column in ("s", "spread") or "faults" in column else 1e-12
                assert _number(value) >= low, (row, column)
        if isinstance(labels, list):
            assert found == labels
        else:
            assert labels <= set(found), labels - set(found)
    for pattern in patterns:
        assert re.search(pattern, out, re.MULTILINE), pattern


def test_cpu_names_the_model_and_its_matrix_units(tmp_path):
    timing = _load_script("_timing")
    info = tmp_path / "cpuinfo"
    info.write_text("model name\t: Test CPU 9\nflags\t\t: fpu amx_bf16 sse avx512f\n")
    assert timing.cpu(info) == "Test CPU 9 with amx_bf16 avx512f"
    info.write_text("model name\t: Old CPU\nflags\t\t: fpu sse avx2\n")
    assert timing.cpu(info) == "Old CPU, no AMX or AVX-512"
    assert timing.cpu(tmp_path / "missing") == (
        platform.processor() or platform.machine()
    )
    assert f"CPU cores ({timing.cpu()})" in timing.machine()


def test_interleaved_warms_up_then_calls_each_once_per_round():
    timing = _load_script("_timing")
    calls = []

    def allocate():  # 64 MiB of fresh anonymous memory: a page fault per page touched
        calls.append("allocate")
        with mmap.mmap(-1, 64 << 20) as fresh:
            for offset in range(0, len(fresh), 4096):
                fresh[offset] = 1

    times, faults = timing.interleaved(
        {"noop": lambda: calls.append("noop"), "allocate": allocate}, repeat=3
    )
    assert calls == ["noop", "allocate"] * 4
    assert {name: len(t) for name, t in times.items()} == {"noop": 3, "allocate": 3}
    assert all(t >= 0 for ts in times.values() for t in ts)
    # 16384 pages of 4 KiB, or 32 huge pages of 2 MiB (measured: 544)
    assert faults["allocate"] >= 16
    assert faults["noop"] < faults["allocate"] / 4


def test_capped_limits_numba_threads_while_it_runs():
    numba = pytest.importorskip("numba")
    timing = _load_script("_timing")
    before = numba.get_num_threads()
    assert timing.capped(numba.get_num_threads, 1)() == 1
    assert numba.get_num_threads() == before
    fn = numba.get_num_threads
    assert timing.capped(fn, None) is fn


def test_floors_take_the_fastest_read_plus_write_or_fused_pass():
    timing = _load_script("_timing")
    median = {
        ("read", None, 1, "sum"): 1.0,  # serves every name
        ("read", None, 2, "parallel sum"): 0.2,
        ("write", "a", 1, "fill"): 2.0,
        ("write", "b", 1, "fill"): 5.0,
        ("fused", "a", 2, "both"): 2.5,
        ("fused", "b", 2, "both"): 4.0,
        ("read", "b", 1, "other input"): 0.5,
    }
    assert timing.floors(median, ["a", "b"], [1, 2]) == {
        ("a", 1): 3.0,  # nothing faster with one thread
        ("a", 2): pytest.approx(2.2),  # the parallel read + write beats fused 2.5
        ("b", 1): 5.5,  # b's own read
        ("b", 2): 4.0,  # fused beats 0.2 + 5.0
    }


def test_fused_floor_pass_reads_each_row_and_writes_its_sum():
    pytest.importorskip("numba")
    timing = _load_script("_timing")
    read, write, per_item = timing.floor_kernels()
    inp = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = np.zeros((3, 5), dtype=np.float32)
    sums = per_item(inp, out)
    np.testing.assert_array_equal(sums, [6, 22, 38])
    # every output entry written with a value that depends on the input, so
    # no store can be skipped as zeros written over zeros
    np.testing.assert_array_equal(out, np.repeat(sums[:, None], 5, axis=1))
    assert read(inp.reshape(-1), 3) == 66
    flat = np.ones(7, dtype=np.float32)
    write(flat, 3)
    assert not flat.any()


def test_floor_builds_the_passes_of_its_inputs_and_outputs(capsys):
    pytest.importorskip("numba")
    timing = _load_script("_timing")
    X = np.ones((4, 3, 2), np.float32)
    outputs = {"a": np.zeros((4, 1, 2, 2), np.float32)}
    outputs["bb"] = np.zeros((4, 2, 2, 2), np.float32)
    floor = timing.Floor(X, outputs, [1, 2], item="event")
    # the shared input's passes first, then each output's write and fused pass
    assert [key[:3] for key in floor.passes] == [
        ("read", None, 1),
        ("write", "a", 1),
        ("write", "bb", 1),
        *(
            key
            for threads in (1, 2)
            for key in [
                ("read", None, threads),
                ("write", "a", threads),
                ("fused", "a", threads),
                ("write", "bb", threads),
                ("fused", "bb", threads),
            ]
        ),
    ]
    assert floor.passes["fused", "bb", 2, "numba per event: sum, write it"][0] == (
        X.nbytes + outputs["bb"].nbytes
    )
    # named inputs, one output: each input's reads (and fused pass), the write last
    jets = {"p": X, "q": 2 * X}
    floor_jets = timing.Floor(jets, outputs["a"], [1], item="jet", numpy_max=True)
    assert [key[:2] + key[3:] for key in floor_jets.passes] == [
        ("read", "p", "NumPy sum"),
        ("read", "p", "NumPy max"),
        ("read", "q", "NumPy sum"),
        ("read", "q", "NumPy max"),
        ("write", None, "NumPy out.fill(0)"),
        ("read", "p", "numba sum"),
        ("fused", "p", "numba per jet: sum, write it"),
        ("read", "q", "numba sum"),
        ("fused", "q", "numba per jet: sum, write it"),
        ("write", None, "numba loop writing zeros"),
    ]
    # every pass and new array 1 ms: a fused pass (1 ms) beats read + write (2 ms)
    median = dict.fromkeys(floor.timed(), 1e-3)
    assert floor.report(median, widths=(12, 32)) == dict.fromkeys(
        [("a", 1), ("a", 2), ("bb", 1), ("bb", 2)], 1e-3
    )
    out = capsys.readouterr().out
    assert "  (a new bb output array, np.empty then fill(0)" in out
    assert (
        "Floor (fastest read + write or fused pass, at most that many threads):" in out
    )
    assert re.search(
        r"^  bb  2 thr: [\d.]+ MB in 1\.00 ms = .*, 4,000 events/s$", out, re.MULTILINE
    )
