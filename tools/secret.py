"""Print one value of the install's secrets file, for Airflow's ``*_CMD`` settings (``make env``):
``python tools/secret.py <key> <path to secrets.json>``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __name__ == "__main__":
    print(json.loads(Path(sys.argv[2]).read_text())[sys.argv[1]])
