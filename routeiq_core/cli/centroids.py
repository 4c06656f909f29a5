"""``routeiq centroids build``: rebuild the category centroids from seed prompts."""

from __future__ import annotations

import argparse
import json


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
        same = existing.arrays_sha256() == built.arrays_sha256()
        print(f"{'identical' if same else 'DIFFERENT'}: arrays sha256 {built.arrays_sha256()[:16]}… "
              f"vs {existing.arrays_sha256()[:16]}… in {out}")
        return 0 if same else 1
    path = built.save(out)
    counts = ", ".join(f"{k} {v}" for k, v in built.manifest["seed_counts"].items())
    print(f"wrote {len(built.names)} centroids to {path} (arrays sha256 {built.arrays_sha256()[:16]}…; {counts})")
    return 0


def _show(args: argparse.Namespace) -> int:
    from .._centroids import CentroidSet

    cset = CentroidSet.load(args.dir)
    print(json.dumps(cset.manifest, indent=2, sort_keys=True))
    return 0
