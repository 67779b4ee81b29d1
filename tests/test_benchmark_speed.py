"""The speed benchmark scripts run end to end at tiny sizes (never timings)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"

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


def _load_script(name):
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", BENCHMARKS / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _table(out, header):
    """The rows of the table that starts at the line beginning with ``header``."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        rows.append(line)
    return rows


@pytest.mark.slow
def test_bench_imaging(tmp_path, capsys):
    fake = tmp_path / "image_utils.py"
    fake.write_text(FAKE_IMAGE_UTILS)
    bench = _load_script("bench_imaging")
    bench.main(["--n-jets", "64", "--repeat", "1", "--energyflow", str(fake)])
    out = capsys.readouterr().out
    rows = _table(out, "method")
    labels = [row[:40].strip() for row in rows]
    assert "energyflow pixelate, per-jet loop" in labels
    assert "NumPy engine: full recipe" in labels
    assert "NumPy engine's scatter step (bincount)" in labels
    for row in rows:  # jets/s, x loop and x floor are positive numbers
        *_, rate, spread, x_loop, x_floor = row.split()
        assert float(rate.replace(",", "")) > 0
        assert spread.endswith("%")
        assert float(x_loop) > 0
        assert float(x_floor) > 0
    floors = [line for line in out.splitlines() if " thr: " in line]
    assert floors
    assert all("GB/s" in line for line in floors)


def test_bench_training(capsys):
    bench = _load_script("bench_training")
    bench.main(
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
        ]
    )
    out = capsys.readouterr().out
    assert len(_table(out, "training (median epoch)")) == 2
    rows = _table(out, "inference (predict_proba)")
    assert [row[:30].strip() for row in rows] == [
        "hand-written PyTorch loop",
        "hepclf CNNClassifier",
    ]


@pytest.mark.slow
def test_bench_onnx(capsys):
    pytest.importorskip("onnxruntime")
    bench = _load_script("bench_onnx")
    bench.main(["--n-jets", "40", "--n-single", "4", "--repeat", "1"])
    out = capsys.readouterr().out
    rows = _table(out, "method")
    assert [row.split()[-7] for row in rows] == ["all", "all", "1", "1"]
    assert "max |ONNX - predict_proba|" in out


@pytest.mark.slow
def test_bench_event_imaging(capsys):
    pytest.importorskip("matplotlib")
    bench = _load_script("bench_event_imaging")
    bench.main(["--n-events", "16", "--n-slow", "4", "--repeat", "1"])
    out = capsys.readouterr().out
    rows = _table(out, "method")
    labels = [row[:44].strip() for row in rows]
    for recipe in ("hepclf", "seed"):
        assert f"{recipe}: EventImager NumPy engine" in labels
        assert f"{recipe}: naive full-canvas NumPy" in labels
        assert f"{recipe}: matplotlib per event" in labels
    for row in rows:  # events/s, x matplotlib and x floor are positive numbers
        *_, rate, spread, x_mpl, x_floor = row.split()
        assert float(rate.replace(",", "")) > 0
        assert spread.endswith("%")
        assert float(x_mpl) > 0
        assert float(x_floor) > 0
    floors = [line for line in out.splitlines() if " thr: " in line]
    assert len(floors) >= 2
    assert all("GB/s" in line for line in floors)
    assert "seed preset vs matplotlib on 4 events" in out
    assert "pixels differing in occupancy 0" in out
