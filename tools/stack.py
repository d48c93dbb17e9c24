"""``make up`` / ``down`` / ``status`` / ``logs``: the whole product on one laptop, no Docker needed.

``up`` starts, in order: PostgreSQL (embedded, or the external server of ``EXTERNAL_POSTGRES_URL``) with the
``airflow`` and ``tracking`` databases, both migrated; the sandbox DAM/Box/mail servers when no real DAM or Box
connection is configured (seeded on first start); the bootstrap (config/bootstrap.yaml: migrations,
pools, connections, users); Airflow (api-server, scheduler, dag-processor, triggerer; LocalExecutor, or
``EXECUTOR=celery`` with a Redis broker and ``WORKERS`` Celery workers: tools/executor.py); the receiver.
Every process runs in its own session and its PID is kept in ``.local/run`` (``$STACK_DIR/run``); ``down``
stops exactly those, and the data stays for the next ``up``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from ferrero_provider.box.client.box_connection import DEFAULT_CONN_ID as BOX_CONN_ID
from ferrero_provider.common.connection_fields import environment_variable
from ferrero_provider.common.postgres import TRACKING_DB_VARIABLE
from ferrero_provider.otmm.dam_connection import DEFAULT_CONN_ID as DAM_CONN_ID
from tools import bootstrap, executor
from tools.airflow_env import COMPONENT_PORTS, outage_settings, ports_in_use
from tools.processes import stop_groups

ROOT = Path(__file__).resolve().parents[1]
LOCAL = Path(os.environ.get("STACK_DIR") or ROOT / ".local").resolve()  # another folder: a second stack
RUN = LOCAL / "run"
LOGS = LOCAL / "logs"
PGDATA = LOCAL / "pgdata"
AIRFLOW_HOME = LOCAL / "airflow"
SANDBOX_DATA = LOCAL / "sandbox"
SECRETS_FILE = LOCAL / "secrets.json"
VENV_BIN = Path(sys.executable).parent

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
WEBHOOK_USER = "box_webhook"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status", "logs", "env", "start"])
    parser.add_argument("component", nargs="?", choices=AIRFLOW_COMPONENTS,
                        help="start: the one Airflow component to start again (no bootstrap), e.g. api-server")
    args = parser.parse_args(argv)
    _load_dotenv()
    if args.command == "start":
        if not args.component:
            parser.error("start needs the component to start, e.g. api-server")
        return start(args.component)
    return {"up": up, "down": down, "status": status, "logs": logs, "env": print_env}[args.command]()


# -- up ------------------------------------------------------------------------------------------------


def up() -> int:
    from include.ferrero.config import ConfigError, load_settings

    try:
        load_settings()  # a bad value stops everything here, with one sentence
    except ConfigError as exc:
        print(f"make up: {exc}", file=sys.stderr)
        return 2
    for folder in (RUN, LOGS, AIRFLOW_HOME):
        folder.mkdir(parents=True, exist_ok=True)

    env = _base_env()
    busy = [port for name in COMPONENT_PORTS if not _alive(name) and (name != "sandbox" or _needs_sandbox(env))
            for port in ports_in_use(name, env)]
    if busy:  # before starting anything
        print(f"make up: port {', '.join(busy)} is taken (another stack?); set another in .env", file=sys.stderr)
        return 2
    runner = _components_env(env, register_webhook=True)
    _run(env, "-m", "tools.bootstrap")  # migrations, pools, connections (the same as compose and the tests)
    _without_stored_connections(env)
    if runner.kind == "celery" and runner.broker_url is None:
        _spawn("redis", executor.redis_command(runner.redis_port, LOCAL / "redis"), env)
    if runner.kind == "celery":
        executor.wait_redis(runner.broker)
    for component in AIRFLOW_COMPONENTS:
        _spawn(component, [str(VENV_BIN / "airflow"), component], env)
    for index in range(1, runner.workers + 1 if runner.kind == "celery" else 1):
        _spawn(executor.worker_name(index), executor.worker_command(index, runner.concurrency),
               executor.worker_env(env, index, LOCAL / "workers"))
    api = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
    _wait_http(f"{api}/api/v2/monitor/health", "Airflow api-server", timeout=180)

    receiver = ROOT / "receiver"
    if receiver.is_dir():
        _spawn("receiver", [sys.executable, "-m", "receiver"], env)

    passwords = _secrets()["airflow_passwords"]
    print()
    print(f"Airflow UI      {api}   login: admin / {passwords['admin']}")
    if runner.kind == "celery":
        print(f"Executor        CeleryExecutor, {runner.workers} workers, broker {runner.broker}")
    if "SANDBOX_DATA_DIR" in env:
        endpoints = json.loads((SANDBOX_DATA / "endpoints.json").read_text())
        print(f"Sandbox DAM     {endpoints.get('otmm_base_url')}")
        print(f"Sandbox Box     {endpoints.get('box_base_url')}")
        print(f"Sandbox mail    {endpoints.get('sinks_url')}/__sandbox__/mail")
        print("Demo agency     .venv/bin/python -m sandbox agency --campaign <number>   (once it is in A2)")
    print(f"Data folder     {LOCAL}")
    print("Logs            make logs      Stop: make down      State: make status")
    return 0


def start(component: str) -> int:
    """One Airflow component started again, as ``up`` starts it but without the bootstrap (which ``up`` already
    applied): an operator bringing back a component that stopped, in seconds."""
    env = _base_env()
    _components_env(env, register_webhook=False)
    _without_stored_connections(env)
    _spawn(component, [str(VENV_BIN / "airflow"), component], env)
    if component == "api-server":
        _wait_http(f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}/api/v2/monitor/health", "Airflow api-server",
                   timeout=180)
    return 0


def _components_env(env: dict[str, str], *, register_webhook: bool) -> executor.Executor:
    """``env`` completed with the databases (started when embedded), the executor's settings and the sandbox's
    connections (started when no real DAM/Box is configured); the executor."""
    databases = _start_postgres()
    env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = databases["airflow_sqlalchemy"]
    env.setdefault(TRACKING_DB_VARIABLE, databases["tracking_conn"])
    runner = executor.from_environment(env)
    env.update(executor.airflow_env(runner, databases["airflow_sqlalchemy"]))
    if _needs_sandbox(env):
        env.update(_start_sandbox(env, register_webhook=register_webhook))
    _write_passwords_file()
    return runner


def _without_stored_connections(env: dict[str, str]) -> None:
    """The product's connections live in Airflow's database once bootstrapped, where the UI lists them with their
    form and Test button; environment variables would shadow them, so they leave the environment."""
    for name in bootstrap.load_definition()["connections"]:
        env.pop(f"AIRFLOW_CONN_{name.upper()}", None)


def _base_env() -> dict[str, str]:
    """Environment shared by every process ``up`` starts (Airflow settings, paths, connections)."""
    secret = _secrets()
    port = os.environ.get("AIRFLOW_PORT", "8080")
    env = dict(os.environ)
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags")),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            # the bootstrap's Airflow settings, unless the environment sets one (as tools.bootstrap does)
            **{key: value for key, value in bootstrap.airflow_env().items() if key not in os.environ},
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "6"),
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": os.environ.get("AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG", "6"),
            "AIRFLOW__CORE__FERNET_KEY": secret["fernet_key"],
            "AIRFLOW__API_AUTH__JWT_SECRET": secret["jwt_secret"],
            "AIRFLOW__API__PORT": port,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(AIRFLOW_HOME / "passwords.json"),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": os.environ.get("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "30"),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(LOGS / "airflow"),
            "AIRFLOW_API_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW_WEBHOOK_USER": WEBHOOK_USER,
            "AIRFLOW_WEBHOOK_PASSWORD": secret["airflow_passwords"][WEBHOOK_USER],
        }
    )
    try:
        env.update(outage_settings(env))
    except ValueError as exc:
        raise SystemExit(f"make up: {exc}") from None
    return env


def _secrets() -> dict[str, Any]:
    """Generated once per install and kept in .local/secrets.json (mode 600), never in git."""
    if SECRETS_FILE.is_file():
        return json.loads(SECRETS_FILE.read_text())
    from cryptography.fernet import Fernet

    LOCAL.mkdir(parents=True, exist_ok=True)
    data = {
        "fernet_key": Fernet.generate_key().decode(),
        "jwt_secret": secrets.token_urlsafe(32),
        "airflow_passwords": {"admin": secrets.token_urlsafe(12), WEBHOOK_USER: secrets.token_urlsafe(24)},
    }
    SECRETS_FILE.write_text(json.dumps(data, indent=2))
    SECRETS_FILE.chmod(0o600)
    return data


def _write_passwords_file() -> None:
    # SimpleAuthManager keeps existing entries of this file, so the printed login stays valid across restarts.
    path = AIRFLOW_HOME / "passwords.json"
    path.write_text(json.dumps(_secrets()["airflow_passwords"]))
    path.chmod(0o600)


def _start_postgres() -> dict[str, str]:
    from tools import localpg

    external = os.environ.get("EXTERNAL_POSTGRES_URL")
    if external:
        server_dsn = external
        base = external.rsplit("/", 1)[0]
        dsns = {name: f"{base}/{name}" for name in ("airflow", "tracking")}
    else:
        socket = localpg.start(PGDATA)
        server_dsn = localpg.dsn(socket, "postgres")
        dsns = {name: localpg.dsn(socket, name) for name in ("airflow", "tracking")}
        print(f"PostgreSQL      embedded, socket in {socket}")
    for name in ("airflow", "tracking"):
        localpg.ensure_database(server_dsn, name)
    tracking = dsns["tracking"]
    return {
        "airflow_sqlalchemy": dsns["airflow"].replace("postgresql://", "postgresql+psycopg2://", 1),
        "tracking_conn": json.dumps({"conn_type": "postgres", **localpg.conn_fields(tracking)}),
    }


def _needs_sandbox(env: dict[str, str]) -> bool:
    return not (env.get(environment_variable(DAM_CONN_ID)) and env.get(environment_variable(BOX_CONN_ID)))


def _start_sandbox(env: dict[str, str], *, register_webhook: bool = True) -> dict[str, str]:
    """Start the sandbox servers (seeded on first start) and point the product's connections at them."""
    sandbox_env = {**env, "SANDBOX_DATA_DIR": str(SANDBOX_DATA)}
    endpoints_file = SANDBOX_DATA / "endpoints.json"
    if not _alive("sandbox"):
        endpoints_file.unlink(missing_ok=True)
        _spawn("sandbox", [sys.executable, "-m", "sandbox", "serve"], sandbox_env)
    deadline = time.monotonic() + 60
    while not endpoints_file.is_file():
        if time.monotonic() > deadline or not _alive("sandbox"):
            raise SystemExit(f"make up: the sandbox did not start; see {LOGS / 'sandbox.log'}")
        time.sleep(0.3)
    if not (SANDBOX_DATA / "seed.json").is_file():
        print("Sandbox         seeding the demo DAM and Box (first start)")
        result = subprocess.run([sys.executable, "-m", "sandbox", "seed"], env=sandbox_env, cwd=ROOT,
                                capture_output=True, text=True)
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-2000:] + result.stderr[-3000:])
            raise SystemExit("make up: seeding the sandbox failed")
        seed = json.loads((SANDBOX_DATA / "seed.json").read_text())
        for campaign in seed.get("campaigns", []):
            print(f"                {campaign['number']} {campaign['name']}: {len(campaign['masters'])} masters, "
                  f"status {campaign['status']}")
    from sandbox.connections import product_connections

    conns = product_connections(SANDBOX_DATA)
    extra = {"SANDBOX_DATA_DIR": str(SANDBOX_DATA)}
    for key, value in conns.items():
        extra.setdefault(key, value)
    # Box -> receiver: the webhook (webhook_events.WEBHOOK_TRIGGERS) on the root folder (idempotent; follows a changed port).
    address = f"http://127.0.0.1:{os.environ.get('RECEIVER_PORT', '8095')}/box/webhook"
    if not register_webhook:
        return {k: v for k, v in extra.items() if k not in env or k == "SANDBOX_DATA_DIR"}
    result = subprocess.run([sys.executable, "-m", "receiver", "register-webhook", "--address", address],
                            env={**env, **extra}, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-2000:] + result.stderr[-2000:])
        raise SystemExit("make up: registering the Box webhook in the sandbox failed")
    print("Sandbox         running; DAM, Box, Mailgun and the status webhook point at it; Box webhook -> receiver")
    return {k: v for k, v in extra.items() if k not in env or k == "SANDBOX_DATA_DIR"}


def _run(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, *args], env=env, cwd=ROOT, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    if result.returncode != 0:
        sys.stderr.write(result.stderr[-3000:])
        raise SystemExit(f"make up: `python {' '.join(args)}` failed (exit {result.returncode})")


def _spawn(name: str, cmd: list[str], env: dict[str, str]) -> None:
    if _alive(name):
        print(f"{name:<15} already running (pid {_pid(name)})")
        return
    log = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    (RUN / f"{name}.pid").write_text(str(proc.pid))
    print(f"{name:<15} started (pid {proc.pid}, log {LOGS / name}.log)")


def _wait_http(url: str, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=3).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise SystemExit(f"make up: {what} did not answer at {url} within {timeout:.0f} s; see make logs")


def _pid(name: str) -> int | None:
    try:
        return int((RUN / f"{name}.pid").read_text())
    except (FileNotFoundError, ValueError):
        return None


def _alive(name: str) -> bool:
    pid = _pid(name)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# -- down / status / logs ------------------------------------------------------------------------------


def down() -> int:
    from tools import localpg

    names = [p.stem for p in RUN.glob("*.pid")] if RUN.is_dir() else []
    # Stop consumers first (receiver, Airflow), then what they talk to (sandbox, broker).
    last = ("sandbox", "redis")
    order = sorted(names, key=lambda n: (n in last, n != "receiver"))
    consumers = [n for n in order if n not in last]
    for group in (consumers, [n for n in order if n in last]):
        pids = {name: pid for name in group if _alive(name) and (pid := _pid(name)) is not None}
        stop_groups(list(pids.values()))
        for name, pid in pids.items():
            print(f"{name:<15} stopped (pid {pid})")
        for name in group:
            (RUN / f"{name}.pid").unlink(missing_ok=True)
    if localpg.stop(PGDATA):
        print("PostgreSQL      stopped")
    print(f"Data kept in {LOCAL}; `make up` resumes.")
    return 0


def status() -> int:
    from tools import localpg

    pg = localpg.running_pid(PGDATA)
    print(f"{'postgres':<15} {f'running (pid {pg})' if pg else 'stopped'}")
    known = [*AIRFLOW_COMPONENTS, *executor.from_environment().components(), "sandbox", "receiver"]
    for name in known:
        pid = _pid(name)
        state = f"running (pid {pid})" if _alive(name) else ("stopped (stale pid file)" if pid else "stopped")
        print(f"{name:<15} {state}")
    port = os.environ.get("AIRFLOW_PORT", "8080")
    try:
        health = requests.get(f"http://127.0.0.1:{port}/api/v2/monitor/health", timeout=3).json()
        parts = ", ".join(f"{k} {v.get('status')}" for k, v in health.items() if isinstance(v, dict))
        print(f"Airflow health  {parts}")
    except requests.RequestException:
        print(f"Airflow health  no answer on port {port}")
    return 0


def logs() -> int:
    files = sorted(str(p) for p in LOGS.glob("*.log")) if LOGS.is_dir() else []
    if not files:
        print("No logs yet: run `make up` first.")
        return 1
    os.execvp("tail", ["tail", "-n", "30", "-F", *files])
    return 0


def print_env() -> int:
    """Print the Airflow environment of this install (for `airflow` CLI use: `eval $(make -s env)`)."""
    env = _base_env()
    from tools import localpg

    socket = localpg.socket_dir(PGDATA) if localpg.running_pid(PGDATA) else None
    external = os.environ.get("EXTERNAL_POSTGRES_URL")
    if external or socket:
        airflow_db = f"{external.rsplit('/', 1)[0]}/airflow" if external else localpg.dsn(str(socket), "airflow")
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = airflow_db.replace("postgresql://", "postgresql+psycopg2://", 1)
        env.update(executor.airflow_env(executor.from_environment(), env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]))
    # The CLI reads the Fernet key from the secrets file when it needs it (``_CMD``): never printed.
    env["AIRFLOW__CORE__FERNET_KEY_CMD"] = f"{sys.executable} {ROOT}/tools/secret.py fernet_key {SECRETS_FILE}"
    secret = ("AIRFLOW__API_AUTH", "AIRFLOW__CORE__FERNET_KEY=", "AIRFLOW_CONN", "AIRFLOW_WEBHOOK_PASS")
    for key in sorted(k for k in env if k.startswith(("AIRFLOW", "PYTHONPATH"))):
        if not f"{key}=".startswith(secret):
            print(f"export {key}={json.dumps(env[key])}")
    return 0


def _load_dotenv() -> None:
    from dotenv import load_dotenv

    load_dotenv(ROOT / ".env", override=False)


if __name__ == "__main__":
    sys.exit(main())
