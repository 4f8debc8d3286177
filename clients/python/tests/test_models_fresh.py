"""models.py is what the generator makes of openapi/openapi.json today (else: `make sdk-py-generate`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]  # clients/python: the generator's options live in its pyproject.toml
COMMITTED = PACKAGE / "src" / "connect_links" / "models.py"


def test_models_match_the_openapi_document(tmp_path):
    fresh = tmp_path / "models.py"
    generator = Path(sys.executable).parent / "datamodel-codegen"
    run = subprocess.run([str(generator), "--output", str(fresh)], cwd=PACKAGE, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert fresh.read_text() == COMMITTED.read_text(), (
        "clients/python/src/connect_links/models.py is stale against openapi/openapi.json: run `make sdk-py-generate`"
    )
