"""``make fresh-test``: the README's two commands on a new machine — a Debian 12 container holding only python3,
python3-venv, make, git and curl — then ``make install`` and ``make test`` inside it, on a clone of this checkout's
HEAD. ``PYTEST_ARGS`` narrows the suite as for ``make test`` (e.g. ``tests/test_chromium.py``).

The container comes from the same local base as ``make compose-test`` (``debootstrap`` bookworm, Debian's
docker.io; both installed with apt when missing). It shares the host's network (PyPI and Debian's mirror) and gets
the host's CA certificates, as the issue that asked for this check describes; nothing else of the host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tools.compose_test import engine, images

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".local" / "fresh-debian"

INSIDE = """set -euo pipefail
apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \\
  python3 python3-venv make git curl ca-certificates >/dev/null
mkdir -p /usr/local/share/ca-certificates && cp /ca/*.crt /usr/local/share/ca-certificates/ 2>/dev/null || true
update-ca-certificates >/dev/null
export PIP_CERT=/etc/ssl/certs/ca-certificates.crt
git clone -q /src /project && cd /project
echo "fresh-test: $(. /etc/os-release; echo $PRETTY_NAME), $(python3 --version), commit $(git log --oneline -1)"
time make install
time make test PYTEST_ARGS="$PYTEST_ARGS"
"""


def main() -> int:
    WORK.mkdir(parents=True, exist_ok=True)
    installed = engine.ensure_packages()
    print(f"fresh-test: engine packages {'installed: ' + ' '.join(installed) if installed else 'present'}")
    daemon = engine.Daemon(WORK / "dockerd.log")
    print(f"fresh-test: dockerd {daemon.start()}")
    try:
        print(f"fresh-test: base image {images.bookworm(WORK / 'cache')}")
        command = ["docker", "run", "--rm", "--network", "host", "--shm-size", "1g",
                   "-e", f"PYTEST_ARGS={os.environ.get('PYTEST_ARGS', '')}",
                   "-v", f"{ROOT}:/src:ro", "-v", f"{images.CA_FOLDER}:/ca:ro",
                   images.BOOKWORM, "bash", "-c", INSIDE]
        return subprocess.run(command, check=False).returncode
    finally:
        daemon.stop()


if __name__ == "__main__":
    sys.exit(main())
