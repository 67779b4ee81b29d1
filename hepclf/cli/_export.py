"""``hepclf export MODEL``: a saved model of any kind to ONNX.

Which pipeline steps can be exported is decided by :mod:`hepclf.export` and its
registry (:func:`hepclf.export.register_graph`), not by the data kind.
"""

from __future__ import annotations

import sys

from . import Command


def export(args):
    """Export a saved model to ONNX (the whole pipeline, imaging included)."""
    import joblib

    from hepclf.export import OnnxExportError, export_onnx, read_metadata

    model = joblib.load(args.model)
    try:
        onnx_model = export_onnx(
            model,
            args.output,
            n_constituents=args.n_constituents,
            n_features=args.n_features,
            input_dtype=args.input_dtype,
            opset=args.opset,
            check=not args.no_check,
        )
    except (OnnxExportError, ImportError) as exc:  # ImportError: no [onnx] extra
        print(f"hepclf export: {args.model}: {exc}", file=sys.stderr)
        return 1
    meta = read_metadata(onnx_model)
    print(f"wrote {args.output} (ONNX opset {args.opset})")
    print(
        f"  input  {meta['input_name']}: {meta['input_dtype']} {meta['input_shape']} "
        f"({meta['input_format']})"
    )
    if "classes" in meta:
        n_out, method = len(meta["classes"]), "predict_proba"
    else:  # a regressor
        n_out, method = meta["n_outputs"], "predict"
    print(f"  output {meta['output_name']}: float32 ['batch', {n_out}]")
    if "classes" in meta:
        print(f"  classes {meta['classes']}")
    if not args.no_check:
        print(f"  checked against {method} with ONNX Runtime")
    return 0


def add_export_arguments(p):
    p.add_argument("model", help="model saved by 'hepclf train KIND' or joblib.dump")
    p.add_argument(
        "-o", "--output", default="model.onnx", help="ONNX file (default model.onnx)"
    )
    p.add_argument(
        "--n-constituents",
        type=int,
        default=None,
        help="fix the constituent axis to this length (default: dynamic)",
    )
    p.add_argument(
        "--n-features",
        type=int,
        default=None,
        help="features per constituent (ptetaphi: 3 or 4; default 4)",
    )
    p.add_argument(
        "--input-dtype",
        default="float32",
        choices=["float32", "float64"],
        help="element type of the constituents (default float32)",
    )
    p.add_argument("--opset", type=int, default=18, help="ONNX opset (default 18)")
    p.add_argument(
        "--no-check",
        action="store_true",
        help="skip the ONNX Runtime check against predict_proba (or predict)",
    )


COMMAND = Command(
    help="export a saved tagger to ONNX, for ONNX Runtime in C++",
    add_arguments=add_export_arguments,
    run=export,
)
