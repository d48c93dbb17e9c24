"""Start the sandbox in a subprocess for tests: ``start_sandbox(data_dir, **env_overrides)``.

Dependency-free (standard library only). Every port is 0 (a free one) unless overridden. Overrides are
``SANDBOX_*`` variables, given either as ``SANDBOX_WEBHOOK_RETRY_SCALE="0.001"`` or ``webhook_retry_scale=0.001``.

    with start_sandbox(tmp_path, webhook_retry_scale=0.001) as sandbox:
        requests.get(sandbox.endpoints["otmm_base_url"] + "/lookupdomains", ...)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, BinaryIO

from sandbox.settings import PROJECT_ROOT, SandboxSettings

#: endpoints.json keys of the servers that must answer before start_sandbox returns.
SERVER_KEYS = ("otmm_url", "box_base_url", "box_upload_url", "sinks_url")


def _env_name(key: str) -> str:
    key = key.upper()
    return key if key.startswith("SANDBOX_") else f"SANDBOX_{key}"


def _answers(base_url: str) -> bool:
    root = base_url.split("/", 3)
    url = "/".join(root[:3]) + "/__sandbox__/faults"
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:  # noqa: S310 - local sandbox URL
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


class RunningSandbox:
    """A sandbox process; ``endpoints`` is the parsed endpoints.json, ``settings`` has the real ports."""

    def __init__(
        self, data_dir: Path, process: subprocess.Popen[bytes], env: dict[str, str], log_file: BinaryIO
    ) -> None:
        self.data_dir = data_dir
        self.process = process
        self.env = env
        self._log_file = log_file
        self.log_path = Path(log_file.name)
        self.endpoints: dict[str, Any] = {}
        self.settings: SandboxSettings | None = None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        endpoints_path = self.data_dir / "endpoints.json"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.process.returncode}:\n{self.log_tail()}")
            if endpoints_path.exists():
                try:
                    endpoints = json.loads(endpoints_path.read_text())
                except ValueError:
                    endpoints = {}
                if endpoints.get("pid") == self.process.pid and all(
                    _answers(endpoints[k]) for k in SERVER_KEYS
                ):
                    self.endpoints = endpoints
                    self._load_settings()
                    return
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"sandbox not ready after {timeout}s:\n{self.log_tail()}")

    def _load_settings(self) -> None:
        settings = SandboxSettings.from_env(self.env, persist=False)
        for key, attr in (("otmm_url", "otmm_port"), ("box_base_url", "box_api_port"),
                          ("box_upload_url", "box_upload_port"), ("sinks_url", "sinks_port")):
            setattr(settings, attr, int(self.endpoints[key].split(":")[2].split("/")[0]))
        self.settings = settings

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 10) -> None:
        """Terminate (SIGTERM) and wait; kill when it does not exit in time."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=timeout)
        self._log_file.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(data_dir: str | os.PathLike[str], *, timeout: float = 30, **env_overrides: Any) -> RunningSandbox:
    """Run ``python -m sandbox serve`` on free ports with its state in ``data_dir``; wait until every server answers."""
    data_dir = Path(data_dir).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "endpoints.json").unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDBOX_")}
    env.update(
        {
            "SANDBOX_DATA_DIR": str(data_dir),
            "SANDBOX_OTMM_PORT": "0",
            "SANDBOX_BOX_API_PORT": "0",
            "SANDBOX_BOX_UPLOAD_PORT": "0",
            "SANDBOX_SINKS_PORT": "0",
        }
    )
    env.update({_env_name(k): str(v) for k, v in env_overrides.items()})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    log_path = data_dir / "sandbox.log"
    log_file = log_path.open("ab")
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "sandbox", "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    running = RunningSandbox(data_dir, process, env, log_file)
    running._wait_ready(timeout)
    return running
