"""Inference speed of an exported tagger: ONNX Runtime against ``predict_proba``.

The whole ``Pipeline(JetImager, CNNClassifier)`` (imaging, CNN and softmax)
exported with ``hepclf.export.export_onnx`` and run by ONNX Runtime on the CPU,
against ``pipe.predict_proba`` in Python (JetImager's default engine, then the
CNN in PyTorch), on the same jets, in one run:

* one call on all jets (throughput, as a batch job would run);
* one jet per call (latency, as an event loop in a C++ framework calls it).

Both use the same number of threads. Prints the time, jets/s and the ratio to
``predict_proba``; checks that the probabilities agree.

Run: ``python benchmarks/bench_onnx.py [--n-jets 10000] [--npix 40]
[--model tagger.joblib]`` (without ``--model`` a tagger is trained for one
epoch on the bundled sample: the speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import onnxruntime as ort
import torch
from sklearn.pipeline import make_pipeline

from hepclf import CNNClassifier, JetImager
from hepclf.datasets import load_top_tagging
from hepclf.export import export_onnx


def best_of(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def per_jet(fn, X):
    for i in range(len(X)):
        fn(X[i : i + 1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-jets", type=int, default=10000)
    parser.add_argument("--n-single", type=int, default=500, help="jets one by one")
    parser.add_argument("--npix", type=int, default=40)
    parser.add_argument("--model", default=None, help="a saved Pipeline (joblib)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    X_all, y = load_top_tagging()
    if args.model:
        pipe = joblib.load(args.model)
    else:
        pipe = make_pipeline(
            JetImager(npix=args.npix),
            CNNClassifier(max_epochs=1, random_state=0, device="cpu"),
        ).fit(X_all[:2000], y[:2000])
    reps = -(-args.n_jets // len(X_all))
    X = np.ascontiguousarray(np.concatenate([X_all] * reps)[: args.n_jets])

    threads = torch.get_num_threads()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tagger.onnx"
        start = time.perf_counter()
        export_onnx(pipe, path)
        export_s = time.perf_counter() - start
        session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
    name = session.get_inputs()[0].name

    def onnx(batch):
        return session.run(["probabilities"], {name: batch})[0]

    diff = float(np.abs(onnx(X) - pipe.predict_proba(X)).max())
    print(
        f"{len(X)} jets (padded to {X.shape[1]}), {pipe[0]!r}, module "
        f"{type(pipe[-1].module_).__name__}; {threads} threads (torch and ONNX "
        f"Runtime {ort.__version__}); export took {export_s:.1f} s; "
        f"max |ONNX - predict_proba| = {diff:.1e}\n"
    )

    single = X[: args.n_single]
    rows = [
        (
            "pipe.predict_proba",
            "all",
            best_of(lambda: pipe.predict_proba(X), args.repeat),
            len(X),
        ),
        ("ONNX Runtime", "all", best_of(lambda: onnx(X), args.repeat), len(X)),
        (
            "pipe.predict_proba",
            "1",
            best_of(lambda: per_jet(pipe.predict_proba, single), 1),
            len(single),
        ),
        (
            "ONNX Runtime",
            "1",
            best_of(lambda: per_jet(onnx, single), args.repeat),
            len(single),
        ),
    ]
    print(f"{'method':<22}{'jets/call':>10}{'s':>9}{'jets/s':>11}{'speed-up':>10}")
    base = {}
    for method, batch, seconds, n in rows:
        rate = n / seconds
        base.setdefault(batch, rate)
        print(
            f"{method:<22}{batch:>10}{seconds:>9.2f}{rate:>11,.0f}{rate / base[batch]:>10.2f}"
        )


if __name__ == "__main__":
    main()
