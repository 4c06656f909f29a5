"""``import routeiq_core`` is light: no heavy libraries, no model loading, no plugin scan, no file reads."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, os, sys
opened = []
def audit(event, args):
    # Module imports open .py/.pyc/.so files and directories; pydantic reads *.dist-info/entry_points.txt
    # looking for pydantic plugins. Anything else (data, models, config) counts as I/O.
    if event == "open" and isinstance(args[0], str) and os.path.isfile(args[0]) \
            and not args[0].endswith((".py", ".pyc", ".so", ".pth")) and ".dist-info" not in args[0]:
        opened.append(args[0])
sys.addaudithook(audit)
import routeiq_core
import routeiq_core._embedding as emb
import routeiq_core._registry as reg
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"litellm", "sklearn", "torch", "onnxruntime",
                                                          "tokenizers", "yaml", "matplotlib", "openai",
                                                          "sqlalchemy", "psycopg", "sqlite3", "redis",
                                                          "starlette", "fastapi", "opentelemetry"})
print(json.dumps({"heavy": heavy, "default_embedder": emb._default is None, "opened": opened,
                  "registry_created": reg.default_registry.cache_info().currsize,
                  "routeiq_strategies": "routeiq_strategies" in sys.modules}))
"""


def test_import_is_light_and_does_no_io() -> None:
    """Importing routeiq_core loads no litellm/sklearn/torch/onnxruntime and opens no file."""
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["default_embedder"] is True  # the ONNX model is not loaded (not even the object exists)
    assert result["opened"] == []  # no data file (catalog, centroids, tokenizer, model) is read
    assert result["registry_created"] == 0 and result["routeiq_strategies"] is False  # no plugin scan


def test_public_names_are_exported() -> None:
    """Everything in routeiq_core.__all__ exists."""
    import routeiq_core

    for name in routeiq_core.__all__:
        assert hasattr(routeiq_core, name), name
