"""Each fault kind, observed by a plain requests client against a real uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from sandbox.faults import FaultAwareH11Protocol, FaultInjector

if TYPE_CHECKING:
    from collections.abc import Iterator

BODY = bytes(range(256)) * 4096  # 1 MiB


async def blob(request):  # noqa: ANN001, ANN201
    return Response(BODY, media_type="application/octet-stream")


async def ok(request):  # noqa: ANN001, ANN201
    return Response(b"ok", media_type="text/plain")


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    app = FaultInjector(Starlette(routes=[Route("/files/{id}/content", blob), Route("/ok", ok, methods=["GET", "POST"])]))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, http=FaultAwareH11Protocol, log_level="critical", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture(autouse=True)
def clear_faults(base_url: str) -> Iterator[None]:
    yield
    requests.delete(f"{base_url}/__sandbox__/faults", timeout=5)


def arm(base_url: str, **rule: object) -> dict:
    resp = requests.post(f"{base_url}/__sandbox__/faults", json=rule, timeout=5)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_off_by_default_and_listing(base_url: str) -> None:
    assert requests.get(f"{base_url}/__sandbox__/faults", timeout=5).json() == {"faults": []}
    assert requests.get(f"{base_url}/files/1/content", timeout=5).content == BODY
    arm(base_url, method="GET", path="/files/*/content", kind="status", status=502, count=2)
    listed = requests.get(f"{base_url}/__sandbox__/faults", timeout=5).json()["faults"]
    assert [(r["kind"], r["status"], r["remaining"]) for r in listed] == [("status", 502, 2)]


def test_status_for_next_n_matching_only(base_url: str) -> None:
    arm(base_url, method="GET", path="/files/*/content", kind="status", status=503, count=2)
    assert requests.post(f"{base_url}/ok", timeout=5).status_code == 200  # other path: untouched
    assert requests.get(f"{base_url}/files/7/content", timeout=5).status_code == 503
    assert requests.get(f"{base_url}/files/8/content", timeout=5).status_code == 503
    assert requests.get(f"{base_url}/files/9/content", timeout=5).status_code == 200


def test_method_must_match(base_url: str) -> None:
    arm(base_url, method="POST", path="/ok", kind="status", status=500)
    assert requests.get(f"{base_url}/ok", timeout=5).status_code == 200
    assert requests.post(f"{base_url}/ok", timeout=5).status_code == 500
    assert requests.post(f"{base_url}/ok", timeout=5).status_code == 200


def test_429_with_retry_after(base_url: str) -> None:
    arm(base_url, path="/ok", kind="429", retry_after=7)
    resp = requests.get(f"{base_url}/ok", timeout=5)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "7"
    assert requests.get(f"{base_url}/ok", timeout=5).status_code == 200


def test_reset_mid_body(base_url: str) -> None:
    arm(base_url, path="/files/*/content", kind="reset", after_bytes=65536)
    received = 0
    with pytest.raises(requests.exceptions.RequestException) as info:
        with requests.get(f"{base_url}/files/1/content", stream=True, timeout=5) as resp:
            assert resp.status_code == 200
            assert resp.headers["Content-Length"] == str(len(BODY))
            for chunk in resp.iter_content(8192):
                received += len(chunk)
    assert 0 < received < len(BODY)
    assert "reset" in repr(info.value).lower() or "broken" in repr(info.value).lower()
    assert requests.get(f"{base_url}/files/1/content", timeout=5).content == BODY


def test_truncate_keeps_content_length(base_url: str) -> None:
    arm(base_url, path="/files/*/content", kind="truncate", after_bytes=1000)
    sock = socket.create_connection(("127.0.0.1", int(base_url.rsplit(":", 1)[1])), timeout=5)
    sock.sendall(b"GET /files/1/content HTTP/1.1\r\nHost: x\r\n\r\n")
    raw = b""
    while chunk := sock.recv(65536):  # clean close (FIN), no reset
        raw += chunk
    sock.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert f"content-length: {len(BODY)}".encode() in head.lower()
    assert body == BODY[:1000]
    # and requests reports the short read
    arm(base_url, path="/files/*/content", kind="truncate")
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{base_url}/files/1/content", timeout=5)


def test_delay(base_url: str) -> None:
    arm(base_url, path="/ok", kind="delay", seconds=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{base_url}/ok", timeout=0.3)
    started = time.monotonic()
    assert requests.get(f"{base_url}/ok", timeout=5).status_code == 200
    assert time.monotonic() - started < 0.5


def test_bad_rule_refused(base_url: str) -> None:
    resp = requests.post(f"{base_url}/__sandbox__/faults", json={"path": "/ok", "kind": "explode"}, timeout=5)
    assert resp.status_code == 400


def test_the_concurrency_gauge_counts_requests_in_flight_at_once(base_url: str) -> None:
    """Three requests held 0.5 s together peak at 3; one marked X-Sandbox-Uncounted and admin calls do not count."""
    deadline = time.monotonic() + 10  # an earlier test's request the server still serves (its client gave up)
    while requests.get(f"{base_url}/__sandbox__/concurrency", timeout=5).json()["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.1)
    requests.delete(f"{base_url}/__sandbox__/concurrency", timeout=5)
    requests.post(f"{base_url}/__sandbox__/faults", json={"method": "GET", "path": "/ok", "kind": "delay",
                                                          "seconds": 0.5, "count": 4}, timeout=5)

    def get(headers: dict[str, str]) -> None:
        requests.get(f"{base_url}/ok", headers=headers, timeout=10)

    threads = [threading.Thread(target=get, args=({},)) for _ in range(3)]
    threads.append(threading.Thread(target=get, args=({"X-Sandbox-Uncounted": "1"},)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert requests.get(f"{base_url}/__sandbox__/concurrency", timeout=5).json() == {"peak": 3, "in_flight": 0}
    assert requests.delete(f"{base_url}/__sandbox__/concurrency", timeout=5).json()["peak"] == 0
