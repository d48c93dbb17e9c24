"""OTMM authentication modes (spec §2), driven over HTTP with the spec's request shapes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox


def _login(sandbox: RunningSandbox) -> requests.Response:
    s = sandbox.settings
    return requests.post(f"{sandbox.endpoints['otmm_base_url']}/sessions",
                         data={"username": s.otmm_username, "password": s.otmm_password}, timeout=10)


def test_session_login_with_cookie_requires_x_requested_by(sandbox: RunningSandbox) -> None:
    base = sandbox.endpoints["otmm_base_url"]
    resp = _login(sandbox)
    assert resp.status_code == 200
    session = resp.json()["session_resource"]["session"]
    assert isinstance(session["id"], int) and session["login_name"] == sandbox.settings.otmm_username
    assert "JSESSIONID" in resp.cookies

    client = requests.Session()
    client.cookies.update(resp.cookies)
    assert client.get(f"{base}/folders/rootfolders", timeout=10).status_code == 401  # no X-Requested-By
    wrong = client.get(f"{base}/folders/rootfolders", headers={"X-Requested-By": "1"}, timeout=10)
    assert wrong.status_code == 401
    assert "exception_body" in wrong.json()
    ok = client.get(f"{base}/folders/rootfolders", headers={"X-Requested-By": str(session["id"])}, timeout=10)
    assert ok.status_code == 200
    assert ok.json()["folders_resource"]["folder_list"][0]["asset_id"] == "ARTESIA.PUBLIC.TREEN"

    assert client.get(f"{base}/sessions", timeout=10).json()["session_resource"]["session"]["id"] == session["id"]
    assert client.delete(f"{base}/sessions", timeout=10).status_code == 200
    after = client.get(f"{base}/folders/rootfolders", headers={"X-Requested-By": str(session["id"])}, timeout=10)
    assert after.status_code == 401


def test_otmmauthtoken_header(sandbox: RunningSandbox) -> None:
    base = sandbox.endpoints["otmm_base_url"]
    session = _login(sandbox).json()["session_resource"]["session"]
    headers = {"otmmauthtoken": session["message_digest"]}
    assert requests.get(f"{base}/lookupdomains", headers=headers, timeout=10).status_code == 401
    headers["X-Requested-By"] = str(session["id"])
    assert requests.get(f"{base}/lookupdomains", headers=headers, timeout=10).status_code == 200


def test_bad_password_refused(sandbox: RunningSandbox) -> None:
    resp = requests.post(f"{sandbox.endpoints['otmm_base_url']}/sessions",
                         data={"username": sandbox.settings.otmm_username, "password": "nope"}, timeout=10)
    assert resp.status_code == 401
    assert requests.get(f"{sandbox.endpoints['otmm_base_url']}/lookupdomains", timeout=10).status_code == 401


def test_otmm_oauth_password_grant_bearer_without_x_requested_by(sandbox: RunningSandbox) -> None:
    s, base = sandbox.settings, sandbox.endpoints["otmm_base_url"]
    form = {"username": s.otmm_username, "password": s.otmm_password, "grant_type": "password",
            "client_id": s.otmm_client_id, "client_secret": s.otmm_client_secret}
    resp = requests.post(f"{base}/sessions/oauth2/token", data=form, timeout=10)
    assert resp.status_code == 200
    token = resp.json()["token_info"]["oauth_token"]["accessToken"]
    ok = requests.get(f"{base}/folders/rootfolders", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert ok.status_code == 200
    bad = requests.post(f"{base}/sessions/oauth2/token", data={**form, "client_secret": "x"}, timeout=10)
    assert bad.status_code == 401
    assert requests.get(f"{base}/folders/rootfolders", headers={"Authorization": "Bearer forged"},
                        timeout=10).status_code == 401


def test_otds_client_credentials_body_and_basic(sandbox: RunningSandbox) -> None:
    s, base = sandbox.settings, sandbox.endpoints["otmm_base_url"]
    url = sandbox.endpoints["otds_token_url"]
    body = requests.post(url, data={"grant_type": "client_credentials", "client_id": s.otds_client_id,
                                    "client_secret": s.otds_client_secret}, timeout=10)
    assert body.status_code == 200
    assert body.json()["token_type"] == "Bearer" and body.json()["expires_in"] == s.token_ttl_seconds
    basic = requests.post(url, data={"grant_type": "client_credentials"},
                          auth=(s.otds_client_id, s.otds_client_secret), timeout=10)
    assert basic.status_code == 200
    for token in (body.json()["access_token"], basic.json()["access_token"]):
        resp = requests.get(f"{base}/lookupdomains", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert resp.status_code == 200
    refused = requests.post(url, data={"grant_type": "client_credentials", "client_id": s.otds_client_id,
                                       "client_secret": "wrong"}, timeout=10)
    assert refused.status_code == 401


def test_expired_tokens_and_sessions_get_401(sandbox: RunningSandbox) -> None:
    s, base = sandbox.settings, sandbox.endpoints["otmm_base_url"]
    token = requests.post(sandbox.endpoints["otds_token_url"],
                          data={"grant_type": "client_credentials", "client_id": s.otds_client_id,
                                "client_secret": s.otds_client_secret}, timeout=10).json()["access_token"]
    session = _login(sandbox)
    sid = str(session.json()["session_resource"]["session"]["id"])
    bearer = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{base}/lookupdomains", headers=bearer, timeout=10).status_code == 200
    expired = requests.post(f"{sandbox.endpoints['otmm_url']}/__sandbox__/otmm/expire-tokens", timeout=10)
    assert expired.status_code == 200 and expired.json()["expired"] >= 2
    assert requests.get(f"{base}/lookupdomains", headers=bearer, timeout=10).status_code == 401
    assert requests.get(f"{base}/lookupdomains", cookies=session.cookies, headers={"X-Requested-By": sid},
                        timeout=10).status_code == 401
    fresh = requests.post(sandbox.endpoints["otds_token_url"],
                          data={"grant_type": "client_credentials", "client_id": s.otds_client_id,
                                "client_secret": s.otds_client_secret}, timeout=10).json()["access_token"]
    assert requests.get(f"{base}/lookupdomains", headers={"Authorization": f"Bearer {fresh}"},
                        timeout=10).status_code == 200


def test_token_ttl_from_settings(sandbox_factory) -> None:  # noqa: ANN001
    import time

    box = sandbox_factory(token_ttl_seconds=1)
    s = box.settings
    token = requests.post(box.endpoints["otds_token_url"],
                          data={"grant_type": "client_credentials", "client_id": s.otds_client_id,
                                "client_secret": s.otds_client_secret}, timeout=10).json()
    assert token["expires_in"] == 1
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    assert requests.get(f"{box.endpoints['otmm_base_url']}/lookupdomains", headers=headers, timeout=10).ok
    time.sleep(1.2)
    assert requests.get(f"{box.endpoints['otmm_base_url']}/lookupdomains", headers=headers,
                        timeout=10).status_code == 401
