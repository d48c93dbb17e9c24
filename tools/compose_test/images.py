"""Local stand-ins of the registry images (no registry but Debian's and PyPI is reachable here):
a minimal Debian bookworm made with debootstrap, and from it the Airflow base (Python 3.11 + an entrypoint
like the official one), PostgreSQL and Redis (docker/compose-test/). Images stay in the engine's store
between runs; Docker's layer cache makes a rebuild of an unchanged Dockerfile a no-op."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from tools.compose_test.engine import docker

ROOT = Path(__file__).resolve().parents[2]
STAND_INS = ROOT / "docker" / "compose-test"
MIRROR = "http://deb.debian.org/debian"
BOOKWORM = "ferrero-compose-test/bookworm-min:latest"
AIRFLOW_BASE = "ferrero-compose-test/airflow-base:3.3.2-python3.11"
POSTGRES = "ferrero-compose-test/postgres:15"
REDIS = "ferrero-compose-test/redis:7"
CA_FOLDER = Path("/usr/local/share/ca-certificates")


def exists(image: str) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def bookworm(cache_dir: Path) -> str:
    """``debootstrap --variant=minbase bookworm`` imported as an image, once."""
    if exists(BOOKWORM):
        return "cached"
    rootfs = cache_dir / "bookworm-rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    cache_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), MIRROR], check=True,
                   capture_output=True)
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(["docker", "import", "-", BOOKWORM], stdin=tar.stdout, check=True, capture_output=True)
    tar.wait()
    shutil.rmtree(rootfs)
    return "built with debootstrap"


def build(tag: str, folder: str, log: Path) -> str:
    """``docker build`` of a stand-in; the Airflow base gets the host's CA certificates (apt and pip over TLS)."""
    cached = exists(tag)
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp) / folder
        shutil.copytree(STAND_INS / folder, context)
        if folder == "airflow-base":
            (context / "ca-certificates").mkdir()
            for cert in CA_FOLDER.glob("*.crt"):
                shutil.copy(cert, context / "ca-certificates")
        result = docker("build", "-t", tag, str(context), check=False)
    log.write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise SystemExit(f"compose-test: building {tag} failed; see {log}")
    return "layer cache" if cached and "Using cache" in result.stdout else "built"
