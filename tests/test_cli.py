from __future__ import annotations

import argparse

import joblib
import pytest

from hepclf._version import __version__
from hepclf.cli import (
    DEFAULT_DEMO_KIND,
    TASKS,
    VERBS,
    Command,
    build_parser,
    load_task,
    main,
)


def test_demo_writes_model_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo"
    assert (
        main(
            [
                "demo",
                "--max-epochs",
                "1",
                "--npix",
                "24",
                "--quiet",
                "--output-dir",
                str(out),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "ROC AUC" in text
    assert "rejection 1/eps_B @ eps_S=0.3" in text
    assert (out / "roc.png").stat().st_size > 10_000
    model = joblib.load(out / "model.joblib")
    assert model[0].npix == 24


def test_train_and_evaluate_commands(tmp_path, capsys):
    from hepclf.datasets import load_top_tagging, write_top_tagging

    X, y = load_top_tagging(split="val")
    data = tmp_path / "jets.h5"
    write_top_tagging(data, X[:400], y[:400])
    model = tmp_path / "m.joblib"
    assert (
        main(
            [
                "train",
                "jets",
                str(data),
                "-o",
                str(model),
                "--max-epochs",
                "1",
                "--npix",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    assert main(["evaluate", "jets", str(model), str(data)]) == 0
    assert "ROC AUC" in capsys.readouterr().out


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        main(["frobnicate"])


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"hepclf {__version__}"


@pytest.fixture
def fake_jet_demo(monkeypatch):
    """Replace the jet demo by one that records the parsed arguments."""
    calls = []
    jets = load_task("jets")
    real = jets.COMMANDS["demo"]
    fake = Command(real.help, real.add_arguments, lambda args: calls.append(args))
    monkeypatch.setitem(jets.COMMANDS, "demo", fake)
    return calls


def test_demo_without_kind_runs_the_jet_demo(fake_jet_demo):
    assert DEFAULT_DEMO_KIND == "jets"
    options = ["--npix", "24", "--quiet", "--output-dir", "out"]
    main(["demo", *options])
    main(["demo", "jets", *options])
    main(["demo"])
    plain, named, bare = (vars(args) for args in fake_jet_demo)
    assert plain == named
    assert plain["kind"] == "jets"
    assert plain["npix"] == 24
    assert plain["output_dir"] == "out"
    assert bare["npix"] == 40  # today's defaults
    assert bare["output_dir"] == "hepclf-demo"
    assert not bare["quiet"]


def test_parse_args_selects_the_same_task():
    parser = build_parser()
    plain = parser.parse_args(["demo", "--seed", "3"])
    named = parser.parse_args(["demo", "jets", "--seed", "3"])
    assert vars(plain) == vars(named)
    assert plain.func is load_task("jets").COMMANDS["demo"].run


def test_jet_options_keep_their_defaults():
    parser = build_parser()
    train = parser.parse_args(["train", "jets", "jets.h5"])
    assert (train.data, train.output, train.split) == ("jets.h5", "model.joblib", None)
    assert (train.npix, train.max_epochs, train.batch_size) == (40, 10, 128)
    assert (train.lr, train.device, train.seed, train.quiet) == (1e-3, "auto", 0, False)
    evaluate = parser.parse_args(["evaluate", "jets", "m.joblib", "jets.h5"])
    assert (evaluate.model, evaluate.data) == ("m.joblib", "jets.h5")
    assert (evaluate.split, evaluate.plot) == (None, None)
    generate = parser.parse_args(["generate", "jets", "out.h5"])
    assert (generate.output, generate.n_jets, generate.detector) == (
        "out.h5",
        1000,
        "particle",
    )
    assert (generate.seed, generate.n_jobs) == (0, 1)


def test_export_takes_no_kind():
    args = build_parser().parse_args(["export", "m.joblib"])
    assert args.model == "m.joblib"
    assert args.output == "model.onnx"
    assert not hasattr(args, "kind")


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "nope", "jets.h5"],
        ["evaluate", "nope", "m.joblib", "jets.h5"],
        ["generate", "nope", "out.h5"],
        ["demo", "nope"],
    ],
)
def test_unknown_kind_names_the_choices(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err
    for kind in TASKS:
        assert repr(kind) in err


def test_missing_kind_is_an_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["train", "jets.h5"])
    assert exc.value.code == 2
    assert "invalid choice: 'jets.h5'" in capsys.readouterr().err


@pytest.mark.parametrize("kind", sorted(TASKS))
def test_kind_module_provides_the_interface(kind):
    assert TASKS[kind] == f"hepclf.cli._{kind}"
    module = load_task(kind)
    assert isinstance(module.COMMANDS, dict)
    assert module.COMMANDS
    assert set(module.COMMANDS) <= set(VERBS)
    for command in module.COMMANDS.values():
        assert isinstance(command, Command)
        assert isinstance(command.help, str)
        assert command.help
        assert callable(command.run)
        parser = argparse.ArgumentParser()
        command.add_arguments(parser)  # adds options without error


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help_lists_the_kinds(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for kind in TASKS:
        assert kind in out


def test_every_verb_help_lists_its_kinds(capsys):
    for verb in VERBS:
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        out = capsys.readouterr().out
        for kind in TASKS:
            if verb in load_task(kind).COMMANDS:
                assert kind in out
