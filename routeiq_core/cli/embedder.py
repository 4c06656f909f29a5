"""``routeiq embedder distill``: the static embedder's table, distilled from the pinned ONNX model."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("embedder", help="distil or inspect the static embedder")
    actions = parser.add_subparsers(dest="embedder_command", metavar="ACTION", required=True)
    distill = actions.add_parser(
        "distill", help="distil the static word-piece table from the pinned ONNX model (about a minute)",
        description="Run the pinned ONNX model on every word piece, project, weight and quantise the table "
        "(the recipe in docs/concepts/embedding.md), and build its category centroids from the shipped seed "
        "prompts. Nothing is downloaded. Default: into the package's data/static.")
    distill.add_argument("--out", help="output directory (default: the package's data/static)")
    distill.add_argument("--check", action="store_true",
                         help="do not write; exit 1 if a rebuild differs from the existing table")
    distill.set_defaults(func=_distill)
    show = actions.add_parser("show", help="print the static embedder's manifest")
    show.add_argument("--dir", help="table directory (default: the shipped one)")
    show.set_defaults(func=_show)


def _distill(args: argparse.Namespace) -> int:
    from pathlib import Path

    import numpy as np

    from .._artifacts import write_artifact
    from .._centroids import CentroidSet
    from .._static_embedding import DEFAULT_STATIC, StaticEmbedder, distill

    out = Path(args.out) if args.out else DEFAULT_STATIC
    done = [0]

    def progress(n: int) -> None:
        done[0] += n
        if done[0] % 8192 < n:
            print(f"  {done[0]:,} word pieces", file=sys.stderr, flush=True)

    manifest, arrays = distill(progress=progress)
    if args.check:
        old = StaticEmbedder(out).table()
        new = arrays["values"].astype(np.float32) * arrays["scales"][:, None]
        if old.shape != new.shape:
            print(f"DIFFERENT: shape {new.shape} vs {old.shape} in {out}")
            return 1
        cos = np.sum(old * new, axis=1) / (np.linalg.norm(old, axis=1) * np.linalg.norm(new, axis=1) + 1e-12)
        same = float(cos.min()) >= 0.999
        print(f"{'equivalent' if same else 'DIFFERENT'}: the rebuilt table's rows have cosine >= {cos.min():.6f} "
              f"to those in {out} (mean {cos.mean():.6f})")
        return 0 if same else 1
    write_artifact(out, manifest, arrays)
    static = StaticEmbedder(out)
    CentroidSet.build(static).save(out / "centroids")
    print(f"wrote the static table ({arrays['values'].shape[0]:,} x {arrays['values'].shape[1]}, int8) and its "
          f"centroids to {out} (id {static.model_id[:16]}…)")
    return 0


def _show(args: argparse.Namespace) -> int:
    from .._static_embedding import StaticEmbedder

    static = StaticEmbedder(args.dir)
    static.load()
    print(json.dumps(static.manifest, indent=2, sort_keys=True))
    return 0
