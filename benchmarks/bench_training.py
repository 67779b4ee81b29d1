"""Training and inference speed: CNNClassifier against a hand-written PyTorch loop.

Same module (the default ``JetCNN``), same images (the bundled sample through
``JetImager``), same batch size, optimiser and shuffling, in one run:

* a hand-written loop that slices mini-batches out of in-memory tensors (the
  fastest plain-PyTorch way to train on arrays);
* ``CNNClassifier`` (skorch with hepclf's ``ArrayLoader``);
* plain skorch ``NeuralNetClassifier`` with its default ``DataLoader`` (one
  ``__getitem__`` per sample plus collation), for reference.

Every row trains for the same ``--epochs`` epochs on the same images (no
untimed epoch) and reports the median epoch time (skorch's ``dur``, the wall
clock of the epoch's batches, for the skorch rows), images/s and the ratio to
the hand-written loop. Then ``predict_proba`` on the same images with the same
batch size: one untimed call each, then ``--repeat`` rounds that call each once
in turn; the median, with the minor page faults per image of the timed calls.
Pass ``--device cuda`` on a GPU machine.

Run: ``python benchmarks/bench_training.py [--n-images 10000] [--epochs 3]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch import NeuralNetClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved

from hepclf import CNNClassifier, JetImager
from hepclf.datasets import load_top_tagging
from hepclf.models import JetCNN


def hand_written_fit(X, y, epochs, batch_size, lr, device, seed):
    torch.manual_seed(seed)
    model = JetCNN(in_channels=X.shape[1], image_size=X.shape[2:]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        perm = torch.randperm(len(X_t))
        for i in range(0, len(X_t), batch_size):
            idx = perm[i : i + batch_size]
            xb, yb = X_t[idx].to(device), y_t[idx].to(device)
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return model, times


def hand_written_predict(model, X, batch_size, device):
    model.eval()
    X_t = torch.from_numpy(X)
    out = []
    with torch.no_grad():
        for i in range(0, len(X_t), batch_size):
            out.append(
                torch.softmax(model(X_t[i : i + batch_size].to(device)), dim=1).cpu()
            )
    return torch.cat(out).numpy()


def epoch_times(net):
    return [row["dur"] for row in net.history_]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--repeat", type=int, default=5, help="timed predict_proba calls per row"
    )
    parser.add_argument("--skip-skorch-default", action="store_true")
    args = parser.parse_args(argv)

    X_jets, y = load_top_tagging()
    images = JetImager().fit_transform(X_jets)
    reps = -(-args.n_images // len(images))
    X = np.ascontiguousarray(np.concatenate([images] * reps)[: args.n_images])
    y = np.concatenate([y] * reps)[: args.n_images].astype(np.int64)
    print(
        f"{len(X)} images of {X.shape[1:]}, batch {args.batch_size}, {args.epochs} epochs, "
        f"device {args.device}, torch threads {torch.get_num_threads()}\n"
    )
    common = {
        "lr": 1e-3,
        "batch_size": args.batch_size,
        "max_epochs": args.epochs,
        "device": args.device,
    }

    model, hand = hand_written_fit(
        X, y, args.epochs, args.batch_size, 1e-3, args.device, 0
    )
    clf = CNNClassifier(random_state=0, **common).fit(X, y)
    rows = [
        ("hand-written PyTorch loop", statistics.median(hand)),
        ("hepclf CNNClassifier", statistics.median(epoch_times(clf))),
    ]
    if not args.skip_skorch_default:
        plain = NeuralNetClassifier(
            JetCNN,
            module__image_size=X.shape[2:],
            criterion=torch.nn.CrossEntropyLoss,
            optimizer=torch.optim.Adam,
            train_split=None,
            iterator_train__shuffle=True,
            verbose=0,
            **common,
        ).fit(X, y)
        rows.append(
            ("skorch default DataLoader", statistics.median(epoch_times(plain)))
        )

    base = rows[0][1]
    print(f"{'training (median epoch)':<30}{'s/epoch':>10}{'images/s':>12}{'ratio':>8}")
    for name, t in rows:
        print(f"{name:<30}{t:>10.2f}{len(X) / t:>12,.0f}{t / base:>8.2f}")

    times, faults = interleaved(
        {
            "hand-written PyTorch loop": lambda: hand_written_predict(
                model, X, args.batch_size, args.device
            ),
            "hepclf CNNClassifier": lambda: clf.predict_proba(X),
        },
        args.repeat,
    )
    print(
        f"\n{'inference (predict_proba)':<30}{'s':>10}{'images/s':>12}{'ratio':>8}"
        f"{'spread':>8}{'faults/image':>14}"
    )
    base = np.median(times["hand-written PyTorch loop"])
    for name, ts in times.items():
        t, f = np.median(ts), faults[name]
        print(
            f"{name:<30}{t:>10.2f}{len(X) / t:>12,.0f}{t / base:>8.2f}"
            f"{(max(ts) - min(ts)) / t:>8.0%}{f / len(X):>14.1f}"
        )
    print(
        f"\ninference: batch {args.batch_size}, one untimed call each, then "
        f"{args.repeat} interleaved rounds of one timed call each; median; "
        "spread: (slowest - fastest) / median"
    )


if __name__ == "__main__":
    main()
