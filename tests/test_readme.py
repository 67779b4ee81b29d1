"""The README's quick start runs as written (with fewer epochs and folds)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"


def quick_start():
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_quick_start_is_short():
    assert len(quick_start().strip().splitlines()) <= 15


@pytest.mark.slow
def test_quick_start_runs(tmp_path, monkeypatch, capsys):
    code = quick_start()
    assert "max_epochs=5" in code
    assert "cv=3" in code
    code = code.replace("max_epochs=5", "max_epochs=1").replace("cv=3", "cv=2")
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    assert (tmp_path / "tagger.joblib").exists()
    assert namespace["proba"].shape == (1000, 2)
    assert namespace["search"].best_score_ > 0.8
    assert "jetimager__npix" in capsys.readouterr().out


@pytest.mark.slow
def test_particle_snippet_runs(capsys):
    text = README.read_text()
    section = text[text.index("## Quick start") :]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    code = blocks[1]
    assert "max_epochs=5" in code
    assert "cv=3" in code
    code = code.replace("max_epochs=5", "max_epochs=1").replace("cv=3", "cv=2")
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    from hepclf import CNNClassifier
    from hepclf.datasets import load_top_tagging

    X, y = load_top_tagging(split="train")
    namespace = {
        "X": X[:1000],
        "y": y[:1000],
        "make_pipeline": make_pipeline,
        "cross_val_score": cross_val_score,
        "CNNClassifier": CNNClassifier,
    }
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102
    scores = [float(v) for v in re.findall(r"[0-9.]+", capsys.readouterr().out)]
    assert len(scores) == 2
    assert min(scores) > 0.7
