"""`make up` refuses a broken configuration with the one-sentence error, before starting anything."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_up_refuses_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "config.yaml"
    path.write_text(path.read_text().replace("interval_seconds: 300", "interval_seconds: five"))
    env = {**os.environ, "CONTENT_SCALING_CONFIG_DIR": str(config)}
    result = subprocess.run([sys.executable, "-m", "tools.stack", "up"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().endswith(
        "polling.interval_seconds must be an integer >= 60, got 'five'"
    ), result.stderr
    assert "config.yaml" in result.stderr
