"""Regenerate ``routeiq_core/data/ratings.json`` (the built-in public quality ratings) from a
dated copy of the LMArena text leaderboard.

Usage (from the repository root)::

    python scripts/build_ratings.py --csv lmarena_text.csv --as-of 2025-08-04 \
        --copy "github.com/fboulnois/llm-leaderboard-csv @ e964e252a171a83b8bf189675ca01406d86bc810: csv/lmarena_text.csv"

The CSV is the leaderboard as published (columns ``model``, ``arena_score``, ``95_pct_ci``,
``votes``). ``NAMES`` below says which leaderboard row each model name RouteIQ may meet stands
for: the built-in catalog's models and the models of the shared evaluation data sets. A model
without a row is left out on purpose (released after the snapshot, or never rated); the
centroid strategy then estimates its strength from its tier and says so.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "routeiq_core" / "data" / "ratings.json"

#: RouteIQ model name (lower case, provider prefix removed) -> leaderboard model name.
NAMES = {
    # the built-in catalog (routeiq_core/data/catalog.json)
    "gpt-4.1": "GPT-4.1-2025-04-14",
    "gpt-4.1-mini": "GPT-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "GPT-4.1-nano-2025-04-14",
    "gpt-4o": "GPT-4o-2024-08-06",  # the API alias's target when the snapshot was taken
    "gpt-4o-mini": "GPT-4o-mini-2024-07-18",
    "o3": "o3-2025-04-16",
    "o4-mini": "o4-mini-2025-04-16",
    "claude-sonnet-4": "Claude Sonnet 4 (20250514)",
    "claude-3-5-haiku": "Claude 3.5 Haiku (20241022)",
    "gemini-2.5-pro": "Gemini-2.5-Pro",
    "gemini-2.5-flash": "Gemini-2.5-Flash",
    "mistral-large-latest": "Mistral-Large-2411",
    "mistral-small-latest": "Mistral-Small-2506",
    "deepseek-chat": "DeepSeek-V3-0324",
    "deepseek-reasoner": "DeepSeek-R1-0528",
    "llama-3.1-8b-instant": "Meta-Llama-3.1-8B-Instruct",
    "llama-3.3-70b-versatile": "Llama-3.3-70B-Instruct",
    "llama3.2": "Meta-Llama-3.2-3B-Instruct",  # Ollama's default llama3.2 is the 3B model
    # models of the shared evaluation data sets (RouterBench, RouteLLM, LLMRouter)
    "gpt-4-1106-preview": "GPT-4-1106-preview",
    "gpt-3.5-turbo-1106": "GPT-3.5-Turbo-1106",
    "claude-v1": "Claude-1",
    "claude-v2": "Claude-2.0",
    "claude-instant-v1": "Claude-Instant-1",
    "llama-2-70b-chat": "Llama-2-70B-chat",
    "mixtral-8x7b-chat": "Mixtral-8x7B-Instruct-v0.1",
    "mixtral-8x7b-instruct-v0.1": "Mixtral-8x7B-Instruct-v0.1",
    "yi-34b-chat": "Yi-34B-Chat",
    "wizardlm-13b-v1.2": "WizardLM-13b-v1.2",
    "code-llama-instruct-34b-chat": "CodeLlama-34B-instruct",
    "mistral-7b-chat": "Mistral-7B-Instruct-v0.1",  # RouterBench does not say which version; v0.1 assumed
    "gemma-2-9b-it": "Gemma-2-9B-it",
    "llama-3.1-8b-instruct": "Meta-Llama-3.1-8B-Instruct",
    "llama-3.1-nemotron-51b-instruct": "Llama-3.1-Nemotron-51B-Instruct",
    "llama-3.3-nemotron-super-49b-v1": "Llama-3.3-Nemotron-Super-49B-v1",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, required=True)
    parser.add_argument("--as-of", required=True, help="the leaderboard's date (YYYY-MM-DD)")
    parser.add_argument("--copy", required=True, help="where the CSV was read from (repository @ commit: path)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with args.csv.open(newline="", encoding="utf-8") as fh:
        rows = {row["model"]: row for row in csv.DictReader(fh)}
    missing = sorted({v for v in NAMES.values() if v not in rows})
    if missing:
        raise SystemExit(f"not on this leaderboard: {missing}")
    ratings = {}
    for name, row_name in sorted(NAMES.items()):
        row = rows[row_name]
        ci = max(abs(int(part)) for part in row["95_pct_ci"].replace("+", "").split("/"))
        ratings[name] = {"score": int(row["arena_score"]), "ci95": ci, "votes": int(row["votes"]),
                         "leaderboard_name": row_name}
    doc = {
        "name": "builtin",
        "version": 1,
        "scale": "arena",
        "source": {
            "title": "LMArena (Chatbot Arena) text leaderboard, overall arena score",
            "url": "https://lmarena.ai/leaderboard/text",
            "as_of": args.as_of,
            "copy": args.copy,
            "note": ("Bradley-Terry scores from human pairwise votes: one general-strength number per model, "
                     "comparable within one snapshot only. Regenerate with scripts/build_ratings.py."),
        },
        "ratings": ratings,
    }
    args.out.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(ratings)} ratings -> {args.out}")


if __name__ == "__main__":
    main()
