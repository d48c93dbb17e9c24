"""Transfer benchmark (issue 4 §5): a master moves DAM → disk → Box through the hooks, beside ``curl`` doing the
same download and upload, against a sandbox of its own.

    .venv/bin/python bench/transfer_bench.py [--size-mib 1024] [--small-mib 10]

Prints the throughput of each leg (hooks and curl), the hooks/curl ratio (target ≥ 0.7) and the peak RSS of a
child process doing the big transfer vs one doing the small transfer (target: within 100 MB). curl does the same
operations: the download, then Box's chunked upload (session, parts with ``Digest``/``Content-Range``, commit) from
a small loop around curl; its one-POST direct upload is printed too, for reference. Everything it writes
(sandbox data, the test file, downloads) lives in a temporary folder under ``.local/`` and is removed at the end.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
MIB = 1024 * 1024


def _env_connections(endpoints: dict[str, Any], settings: Any) -> dict[str, str]:
    return {
        "AIRFLOW_CONN_OTMM_DEFAULT": json.dumps({
            "conn_type": "otmm", "host": endpoints["otmm_base_url"], "login": settings.otmm_username,
            "password": settings.otmm_password, "extra": {"auth_mode": "session"}}),
        "AIRFLOW_CONN_BOX_DEFAULT": json.dumps({
            "conn_type": "box", "login": settings.box_client_id, "password": settings.box_client_secret,
            "extra": {"auth_mode": "ccg", "enterprise_id": settings.box_enterprise_id,
                      "base_url": endpoints["box_base_url"], "upload_url": endpoints["box_upload_url"]}}),
    }


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with path.open("wb") as out:
        remaining = size
        while remaining:
            n = min(remaining, MIB)
            out.write(block[:n])
            remaining -= n


# ---- the child: one transfer through the hooks, measured ----------------------------------------------------


def child(asset_id: str, box_folder_id: str, work: Path) -> None:
    """Download the asset with OtmmHook and upload it with BoxHook; print timings and peak RSS as JSON."""
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook

    otmm = OtmmHook()
    box = BoxHook()
    otmm.get_conn()
    box.get_conn()
    target = work / f"hook-{asset_id}.bin"
    started = time.perf_counter()
    downloaded = otmm.client.assets.download_original(asset_id, target)
    middle = time.perf_counter()
    uploaded = box.client.uploads.upload_file(box_folder_id, target)
    ended = time.perf_counter()
    assert uploaded.sha1 == downloaded.sha1 and uploaded.size == downloaded.size
    target.unlink()
    print(json.dumps({
        "bytes": downloaded.size, "download_s": middle - started, "upload_s": ended - middle,
        "upload_method": uploaded.method,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def _run_child(asset_id: str, folder_id: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, __file__, "--child", asset_id, folder_id, str(work)],
        env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---- curl ------------------------------------------------------------------------------------------------------


def _curl(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "--fail", *args], capture_output=True, text=True, check=True)  # noqa: S603, S607
    return time.perf_counter() - started, out.stdout


def _curl_json(args: list[str], body: memoryview | bytes | None = None) -> dict[str, Any]:
    """One curl call; ``body`` goes through its stdin (one large write: the pipe, not Python, paces it)."""
    process = subprocess.Popen(  # noqa: S603 - curl with our arguments
        ["curl", "-sS", "--fail-with-body", *args],  # noqa: S607
        stdin=subprocess.PIPE if body is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    if body is not None:
        assert process.stdin is not None
        try:
            process.stdin.write(body)
        except BrokenPipeError:  # curl stopped reading (an early error answer): its output says why
            pass
        finally:
            process.stdin.close()
    out, err = process.stdout.read(), process.stderr.read()
    if process.wait() != 0:
        raise RuntimeError(f"curl {' '.join(args[-1:])} failed: {err.decode()[-500:]} {out.decode()[-500:]}")
    return json.loads(out)


def curl_chunked_upload(upload_url: str, token: str, folder_id: str, path: Path,
                        parallel_for: Callable[[int], int]) -> dict[str, Any]:
    """Box's chunked upload, every request made by curl: create the session, PUT each part (``Digest: sha=``,
    ``Content-Range``; as many parts at a time as the hook for that part size), commit with the whole file's SHA-1.

    This loop does what any script must for the protocol, as the hook does: read each part once, SHA-1 it (and
    the whole file, in order) before its PUT. curl reads each part from its stdin, sized by ``Content-Length``.
    """
    size = path.stat().st_size
    auth = ["-H", f"Authorization: Bearer {token}"]
    json_body = ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    session = _curl_json([*auth, *json_body, f"{upload_url}/2.0/files/upload_sessions"],
                         json.dumps({"folder_id": folder_id, "file_size": size, "file_name": path.name}).encode())
    part_size, endpoints = int(session["part_size"]), session["session_endpoints"]
    parallel = parallel_for(part_size)
    whole = hashlib.sha1()  # noqa: S324 - Box's digest

    def put(data: bytes, start: int) -> dict[str, Any]:
        digest = base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324
        return _curl_json([
            *auth, "-X", "PUT", "-T", "-", "-H", "Transfer-Encoding:", "-H", f"Content-Length: {len(data)}",
            "-H", "Expect:", "-H", "Content-Type: application/octet-stream", "-H", f"Digest: sha={digest}",
            "-H", f"Content-Range: bytes {start}-{start + len(data) - 1}/{size}", endpoints["upload_part"]],
            data)["part"]

    parts: list[dict[str, Any]] = []
    with ThreadPoolExecutor(max_workers=parallel) as pool, path.open("rb") as source:
        in_flight: list[Future[dict[str, Any]]] = []
        offset = 0
        while offset < size:
            if len(in_flight) >= parallel:
                parts.append(in_flight.pop(0).result())
            data = source.read(part_size)
            whole.update(data)
            in_flight.append(pool.submit(put, data, offset))
            offset += len(data)
        parts += [future.result() for future in in_flight]
    digest = base64.b64encode(whole.digest()).decode()
    committed = _curl_json([*auth, "-H", f"Digest: sha={digest}", *json_body, endpoints["commit"]],
                           json.dumps({"parts": sorted(parts, key=lambda p: p["offset"])}).encode())
    return {**committed["entries"][0], "part_size": part_size, "parallel": parallel}


def curl_transfer(endpoints: dict[str, Any], settings: Any, asset_id: str, box_folder_id: str,
                  work: Path, parallel_for: Callable[[int], int]) -> dict[str, Any]:
    """curl downloads the asset, then uploads it to Box twice: chunked (the hook's protocol) and direct."""
    import requests

    login = requests.post(f"{endpoints['otmm_base_url']}/sessions", timeout=30,
                          data={"username": settings.otmm_username, "password": settings.otmm_password})
    session = login.json()["session_resource"]["session"]
    token = requests.post(f"{endpoints['box_base_url']}/oauth2/token", timeout=30, data={
        "grant_type": "client_credentials", "client_id": settings.box_client_id,
        "client_secret": settings.box_client_secret, "box_subject_type": "enterprise",
        "box_subject_id": settings.box_enterprise_id}).json()["access_token"]
    target = work / f"curl-{asset_id}.bin"
    download_s, _ = _curl("-o", str(target), "-H", f"X-Requested-By: {session['id']}",
                          "-H", f"otmmauthtoken: {session['message_digest']}",
                          f"{endpoints['otmm_base_url']}/assets/{asset_id}/contents")
    size = target.stat().st_size
    started = time.perf_counter()
    chunked = curl_chunked_upload(endpoints["box_upload_url"], token, box_folder_id, target, parallel_for)
    chunked_s = time.perf_counter() - started
    assert chunked["size"] == size
    attributes = json.dumps({"name": f"direct-{target.name}", "parent": {"id": box_folder_id}})
    direct_s, body = _curl("-H", f"Authorization: Bearer {token}", "-F", f"attributes={attributes}",
                           "-F", f"file=@{target}", f"{endpoints['box_upload_url']}/2.0/files/content")
    assert json.loads(body)["entries"][0]["size"] == size
    assert json.loads(body)["entries"][0]["sha1"] == chunked["sha1"]
    target.unlink()
    return {"bytes": size, "download_s": download_s, "upload_s": chunked_s, "direct_upload_s": direct_s,
            "part_size": chunked["part_size"], "parallel": chunked["parallel"]}


# ---- main -------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--small-mib", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement; the best one counts")
    parser.add_argument("--child", nargs=3, metavar=("ASSET_ID", "BOX_FOLDER_ID", "WORK_DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1], Path(args.child[2]))
        return 0

    from sandbox.otmm.store import PUBLIC_ROOT_ID, OtmmStore
    from sandbox.testing import start_sandbox

    (ROOT / ".local").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="transfer-bench-", dir=ROOT / ".local"))
    sandbox = None
    try:
        sandbox = start_sandbox(scratch / "sandbox")
        settings, endpoints = sandbox.settings, sandbox.endpoints
        env = {**os.environ, **_env_connections(endpoints, settings), "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
        os.environ.update(_env_connections(endpoints, settings))
        store = OtmmStore(settings.otmm_dir)
        folder = store.create_folder(PUBLIC_ROOT_ID, "Bench campaign", user=settings.otmm_username)["asset_id"]
        work = scratch / "work"
        work.mkdir()
        assets = {}
        for label, mib in (("small", args.small_mib), ("big", args.size_mib)):
            source = work / f"{label}.bin"
            _make_file(source, mib * MIB)
            content_id, size = store.store_blob(source)
            source.unlink()
            assets[label] = store.create_asset(folder, f"{label}.bin", "application/octet-stream", content_id, size,
                                               user=settings.otmm_username)["asset_id"]

        from ferrero_provider.box.hooks import BoxHook

        box = BoxHook()
        hook_folder = box.client.folders.ensure_folder("0", "bench-hooks")
        curl_folder = box.client.folders.ensure_folder("0", "bench-curl")
        small = _run_child(assets["small"], hook_folder, work, env)
        bigs, curls = [], []
        for run in range(max(1, args.repeat)):  # alternate, so both see the same machine load
            bigs.append(_run_child(assets["big"], box.client.folders.ensure_folder(hook_folder, f"run {run}"), work, env))
            curls.append(curl_transfer(endpoints, settings, assets["big"], box.client.folders.ensure_folder(curl_folder, f"run {run}"),
                                       work, box.client.uploads.parts_in_flight))
        big = {**bigs[0], "download_s": min(b["download_s"] for b in bigs),
               "upload_s": min(b["upload_s"] for b in bigs), "peak_rss_mb": max(b["peak_rss_mb"] for b in bigs)}
        curl = {key: min(c[key] for c in curls) if key.endswith("_s") else curls[0][key] for key in curls[0]}

        size_mb = big["bytes"] / 1e6

        def rate(seconds: float) -> float:
            return size_mb / seconds

        method = big["upload_method"]
        rows = [
            ("download DAM -> disk", rate(big["download_s"]), rate(curl["download_s"])),
            (f"upload disk -> Box, {method} (curl: same protocol)", rate(big["upload_s"]), rate(curl["upload_s"])),
            ("end to end (same operations)", rate(big["download_s"] + big["upload_s"]),
             rate(curl["download_s"] + curl["upload_s"])),
            (f"  reference: hook {method} vs curl direct POST", rate(big["upload_s"]), rate(curl["direct_upload_s"])),
            ("  reference: end to end vs curl direct POST", rate(big["download_s"] + big["upload_s"]),
             rate(curl["download_s"] + curl["direct_upload_s"])),
        ]
        print(f"Transfer benchmark: {big['bytes'] / MIB:.0f} MiB file, sandbox on 127.0.0.1, {os.cpu_count()} CPUs, "
              f"best of {max(1, args.repeat)} runs per leg (load average {os.getloadavg()[0]:.2f})")
        print(f"Box upload: {method}, by the hook and by a loop around curl alike: upload session, "
              f"{curl['part_size'] / MIB:g} MiB parts (the session's), {curl['parallel']} in flight, SHA-1 of each "
              "part and of the whole file, commit. 'curl direct POST' (one multipart upload, another operation) is "
              "shown for reference.")
        print(f"{'leg':52} {'hooks MB/s':>11} {'curl MB/s':>10} {'ratio':>7}")
        for name, hooks_rate, curl_rate in rows:
            print(f"{name:52} {hooks_rate:11.1f} {curl_rate:10.1f} {hooks_rate / curl_rate:7.2f}")
        delta = big["peak_rss_mb"] - small["peak_rss_mb"]
        print(f"peak RSS of the hook process: {big['peak_rss_mb']:.1f} MB for {big['bytes'] / MIB:.0f} MiB, "
              f"{small['peak_rss_mb']:.1f} MB for {small['bytes'] / MIB:.0f} MiB (difference {delta:+.1f} MB)")
        ratio = rows[2][1] / rows[2][2]
        ok = ratio >= 0.7 and delta <= 100
        print(f"targets: end-to-end ratio (same operations) >= 0.70 -> {ratio:.2f}; RSS difference <= 100 MB -> "
              f"{delta:+.1f} MB: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1
    finally:
        if sandbox is not None:
            sandbox.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
