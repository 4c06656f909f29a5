"""``routeiq centroids build``: rebuild the category centroids from seed prompts."""

from __future__ import annotations

import argparse
import json

#: How far a rebuilt value may be from the stored one for ``--check`` to pass: float32 rounding
#: of another library build is ~1e-7; a changed seed or rule moves values by 1e-3 and more.
CHECK_TOLERANCE = 1e-5


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("centroids", help="build or inspect the category centroids")
    actions = parser.add_subparsers(dest="centroids_command", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="embed seed prompts and write centroids (deterministic)",
        description="Embed the seed prompts with the current embedding model and write a centroid "
        "directory (manifest.json + arrays.npz). Default: the shipped seeds into the package's own "
        "centroid directory.",
    )
    build.add_argument("--seeds", help="seed prompts JSON (default: the shipped seed_prompts.json)")
    build.add_argument("--out", help="output directory (default: the package's data/centroids)")
    build.add_argument("--check", action="store_true",
                       help="do not write; exit 1 if a rebuild differs from the existing centroids")
    build.set_defaults(func=_build)
    show = actions.add_parser("show", help="print the centroid manifest")
    show.add_argument("--dir", help="centroid directory (default: the shipped one)")
    show.set_defaults(func=_show)


def _build(args: argparse.Namespace) -> int:
    from .._centroids import DEFAULT_CENTROIDS, CentroidSet
    from .._embedding import default_embedder

    built = CentroidSet.build(default_embedder(), args.seeds)
    out = args.out or DEFAULT_CENTROIDS
    if args.check:
        existing = CentroidSet.load(out)
        hashes = f"arrays sha256 {built.arrays_sha256()[:16]}… vs {existing.arrays_sha256()[:16]}… in {out}"
        if existing.arrays_sha256() == built.arrays_sha256():
            print(f"identical: {hashes}")
            return 0
        gap = built.largest_difference(existing)
        if gap <= CHECK_TOLERANCE:  # another numpy/onnxruntime build rounds the last bits differently
            print(f"equivalent: every value within {CHECK_TOLERANCE:g} (largest difference {gap:.2g}); {hashes}")
            return 0
        print(f"DIFFERENT: largest difference {gap:.2g} (tolerance {CHECK_TOLERANCE:g}); {hashes}")
        return 1
    path = built.save(out)
    counts = ", ".join(f"{k} {v}" for k, v in built.manifest["seed_counts"].items())
    print(f"wrote {len(built.names)} centroids to {path} (arrays sha256 {built.arrays_sha256()[:16]}…; {counts})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from .._centroids import CentroidSet

    cset = CentroidSet.load(args.dir)
    print(json.dumps(cset.manifest, indent=2, sort_keys=True))
    return 0
