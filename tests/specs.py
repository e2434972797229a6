"""Where the providers' published OpenAPI files are: ../shared/provider-specs beside the repo.

CI and every developer checkout have shared/ beside the project; POS_PROVIDER_SPECS may
point elsewhere. A missing spec fails the test that needs it: fidelity is never skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPECS_DIR = Path(os.environ.get("POS_PROVIDER_SPECS", REPO.parent / "shared" / "provider-specs"))


def provider_spec(relative: str) -> Path:
    path = SPECS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"Provider spec {relative} not found under {SPECS_DIR}; put shared/ beside the "
            "repository or set POS_PROVIDER_SPECS."
        )
    return path
