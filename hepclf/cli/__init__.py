"""The ``hepclf`` command: ``hepclf VERB KIND ...`` for each kind of data.

``hepclf demo [KIND]``, ``hepclf train KIND DATA``, ``hepclf evaluate KIND MODEL
DATA`` and ``hepclf generate KIND OUTPUT`` are provided by one module per data
kind, listed in :data:`TASKS`; ``hepclf export MODEL`` works for any kind.

Adding a kind means writing ``hepclf/cli/_<kind>.py`` and one line in
:data:`TASKS`. The module provides ``COMMANDS``, a dict from the verbs it
supports (keys of :data:`VERBS`) to a :class:`Command`::

    COMMANDS = {
        "train": Command(
            help="train a top tagger on a top-tagging HDF5 file",
            add_arguments=add_train_arguments,  # (argparse.ArgumentParser) -> None
            run=train,  # (argparse.Namespace) -> exit status
        ),
    }

Kind modules are imported when the parser is built, so they import heavy
libraries (torch, sklearn, h5py) inside their ``run`` functions only. The
options and argument types several kinds share are defined here; the steps
their verbs share (the small CNN, reading one set of files per class, the
multi-class report and plot) are in ``hepclf.cli._common``.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import NamedTuple

from hepclf._version import __version__

#: data kind -> the module that provides its commands
TASKS = {
    "jets": "hepclf.cli._jets",
    "events": "hepclf.cli._events",
    "hits": "hepclf.cli._hits",
    "particles": "hepclf.cli._particles",
}

#: the kind ``hepclf demo`` runs when none is named (the README's quick start)
DEFAULT_DEMO_KIND = "jets"

#: verbs a kind may provide -> their help, in the order ``hepclf --help`` lists them
VERBS = {
    "demo": "train and evaluate a classifier on a bundled sample",
    "train": "train a classifier on a data file and save it",
    "evaluate": "evaluate a saved classifier on a data file",
    "generate": "generate simulated data into a file",
}


class Command(NamedTuple):
    """One verb of one data kind (or the generic ``export``)."""

    #: one line for ``--help``
    help: str
    #: adds the command's options to its ``argparse.ArgumentParser``
    add_arguments: Callable[[argparse.ArgumentParser], None]
    #: runs the command on the parsed ``argparse.Namespace``; returns the exit status
    run: Callable[[argparse.Namespace], int]


def add_training_options(parser, *, npix, lr):
    """Add the options every kind's training verbs share, with its defaults.

    ``--npix`` (image size), ``--max-epochs``, ``--batch-size``, ``--lr``,
    ``--device``, ``--seed`` and ``--quiet``.
    """
    parser.add_argument(
        "--npix", type=int, default=npix, help=f"image size (default {npix})"
    )
    parser.add_argument(
        "--max-epochs", type=int, default=10, help="training epochs (default 10)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=128, help="batch size (default 128)"
    )
    parser.add_argument(
        "--lr",
        type=float,
        default=lr,
        help=f"learning rate (default {lr:.0e})".replace("e-0", "e-"),
    )
    parser.add_argument(
        "--device", default="auto", help="auto, cpu or cuda (default auto)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def add_output_dir(parser, default):
    """Add the ``demo`` verbs' ``--output-dir``, with the kind's default."""
    parser.add_argument(
        "--output-dir", default=default, help=f"where to write (default {default})"
    )


def add_model_output(parser):
    """Add the ``train`` verbs' ``-o/--output``, the model file."""
    parser.add_argument(
        "-o",
        "--output",
        default="model.joblib",
        help="model file (default model.joblib)",
    )


def add_confusion_plot(parser):
    """Add the multi-class ``evaluate`` verbs' ``--plot``, the confusion matrix."""
    parser.add_argument(
        "--plot", default=None, help="write the confusion matrix to this image file"
    )


def add_seed_and_jobs(parser):
    """Add ``--seed`` and ``--n-jobs``, the last options of the ``generate`` verbs."""
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--n-jobs", type=int, default=1, help="processes (-1: all cores)"
    )


def class_files(example):
    """Return an argparse ``type`` that splits ``LABEL=FILES`` into (label, files).

    ``example`` is one such argument for the kind's files (for example
    ``"jpsi_ee=jpsi_ee.dat"``); a malformed argument's error shows it.
    """

    def parse(spec):
        label, sep, files = spec.partition("=")
        if not sep or not label or not files:
            raise argparse.ArgumentTypeError(
                f"expected LABEL=FILES (e.g. {example}), got {spec!r}"
            )
        return label, files

    parse.__name__ = "LABEL=FILES"
    return parse


def concatenate_padded(parts):
    """Concatenate zero-padded ``(n, n_items, n_features)`` arrays of any widths.

    The kinds' ``train`` and ``evaluate`` verbs read one set of files per
    class; this stacks their events, padded to the widest.
    """
    import numpy as np

    width = max(p.shape[1] for p in parts)
    X = np.zeros((sum(len(p) for p in parts), width, parts[0].shape[2]), np.float32)
    start = 0
    for p in parts:
        X[start : start + len(p), : p.shape[1]] = p
        start += len(p)
    return X


def load_task(kind):
    """Import and return the module that provides the commands of ``kind``."""
    return importlib.import_module(TASKS[kind])


class _VerbParser(argparse.ArgumentParser):
    """An argument parser whose first positional (the kind) may have a default.

    ``hepclf demo`` and ``hepclf demo --quiet`` run ``default_kind``;
    ``hepclf demo --help`` lists the kinds; ``hepclf demo nope`` is an error.
    """

    def __init__(self, *args, default_kind=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_kind = default_kind

    def parse_known_args(self, args=None, namespace=None):
        if self.default_kind is not None and args is not None:
            args = list(args)
            # no kind named: the arguments are empty or start with an option
            if not args or (
                args[0].startswith("-") and args[0] not in ("-h", "--help")
            ):
                args.insert(0, self.default_kind)
        return super().parse_known_args(args, namespace)


def build_parser():
    """Return the argument parser of the ``hepclf`` command."""
    from . import _export

    kinds = ", ".join(TASKS)
    parser = argparse.ArgumentParser(
        prog="hepclf",
        description="Classify particle-physics data with CNNs.",
        epilog=f"data kinds: {kinds} (see 'hepclf VERB --help')",
    )
    parser.add_argument("--version", action="version", version=f"hepclf {__version__}")
    verbs = parser.add_subparsers(
        dest="command", required=True, parser_class=_VerbParser
    )
    modules = {kind: load_task(kind) for kind in TASKS}
    for verb, verb_help in VERBS.items():
        supported = {
            k: m.COMMANDS[verb] for k, m in modules.items() if verb in m.COMMANDS
        }
        if not supported:
            continue
        description = f"{verb_help[0].upper()}{verb_help[1:]}."
        default = usage = None
        if verb == "demo":
            default = DEFAULT_DEMO_KIND
            description += f" Without a kind, 'hepclf demo' runs '{default}'."
            usage = f"%(prog)s [-h] [{{{','.join(supported)}}}] ..."
        p = verbs.add_parser(
            verb,
            help=verb_help,
            description=description,
            usage=usage,
            default_kind=default,
        )
        sub = p.add_subparsers(dest="kind", required=True, title="data kinds")
        for kind, command in supported.items():
            kp = sub.add_parser(kind, help=command.help, description=command.help)
            command.add_arguments(kp)
            kp.set_defaults(func=command.run)

    command = _export.COMMAND
    p = verbs.add_parser("export", help=command.help, description=command.help)
    command.add_arguments(p)
    p.set_defaults(func=command.run)
    return parser


def main(argv=None):
    """Run the ``hepclf`` command line."""
    args = build_parser().parse_args(argv)
    return args.func(args)
