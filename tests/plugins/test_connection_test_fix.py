"""The connection Test fix: the UI's ``"port": 0`` is dropped before Airflow compares it with the stored port."""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from cockpit.connection_test_fix import ConnectionTestPortFix, without_port_zero

UI_BODY = {"connection_id": "box_default", "conn_type": "box", "host": "", "login": "client", "password": "***",
           "port": 0, "schema": "", "extra": "{}"}


def test_port_zero_is_dropped_and_everything_else_kept() -> None:
    assert json.loads(without_port_zero(json.dumps(UI_BODY).encode())) == {
        k: v for k, v in UI_BODY.items() if k != "port"}
    for body in ({**UI_BODY, "port": 5432}, {**UI_BODY, "port": None}, ["port", 0]):
        assert without_port_zero(json.dumps(body).encode()) == json.dumps(body).encode()
    assert without_port_zero(b"not json") == b"not json"


def _echo_app() -> TestClient:
    """A stand-in for Airflow's root app behind the middleware: it answers with the body it was given."""
    app = FastAPI()

    @app.post("/api/v2/connections/test")
    @app.post("/api/v2/connections")
    async def echo(request: Request) -> dict:
        return {"body": json.loads(await request.body()), "length": request.headers["content-length"]}

    app.add_middleware(ConnectionTestPortFix)
    return TestClient(app)


def test_only_the_test_endpoint_is_rewritten() -> None:
    client = _echo_app()
    answer = client.post("/api/v2/connections/test", json=UI_BODY).json()
    assert "port" not in answer["body"] and answer["body"]["password"] == "***"
    assert int(answer["length"]) == len(json.dumps(answer["body"]).encode())
    assert client.post("/api/v2/connections", json=UI_BODY).json()["body"]["port"] == 0
