"""OTMM authentication (spec §2): sessions, OTMM's OAuth endpoint, OTDS client credentials, request checks.

- ``POST /otmmapi/v6/sessions`` (form ``username``/``password``) → ``session_resource`` + ``JSESSIONID`` cookie.
  Later calls send ``X-Requested-By: <session id>`` plus the cookie or ``otmmauthtoken: <message_digest>``
  (or ``Authorization: Bearer otmmToken <message_digest>``, M); a missing/wrong ``X-Requested-By`` is a 401.
- ``POST /otmmapi/v6/sessions/oauth2/token`` (password grant + client id/secret) →
  ``token_info.oauth_token.{accessToken, expiresIn, refreshToken, tokenType}`` (the last three: A);
  ``grant_type=refresh_token`` is accepted too (A).
- ``POST /otdsws/oauth2/token`` (``client_credentials`` or ``password``; client auth in the body or HTTP Basic)
  → ``{access_token, token_type, expires_in}``. A client-credentials token acts as the OTMM user
  ``settings.otmm_username`` (A: a service user mapped to the OAuth client).
- Bearer tokens need no ``X-Requested-By`` (variant ``bearer-writes-need-requested-by``: writes do, with the id
  ``GET /sessions`` answers for the token). ``GET /sessions`` with a Bearer token answers a session whose id is
  derived from the token (A). Tokens and sessions expire after ``token_ttl_seconds`` → 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from sandbox.otmm.variants import BEARER_WRITES_NEED_REQUESTED_BY

if TYPE_CHECKING:
    from starlette.requests import Request

    from sandbox.otmm.store import OtmmStore
    from sandbox.settings import SandboxSettings


def otmm_error(status: int, message: str, debug: str = "") -> JSONResponse:
    """Error body (A, spec §13): ``exception_body.{http_response_code, message, debug_message}``."""
    return JSONResponse(
        {"exception_body": {"http_response_code": status, "message": message, "debug_message": debug or message}},
        status_code=status,
    )


@dataclass(frozen=True)
class Principal:
    """Who is calling: the OTMM user name and how they authenticated."""

    login_name: str
    mode: str  # "session" | "bearer"
    session: dict[str, Any] | None = None


class AuthError(Exception):
    """Authentication failed; carries the 401 (or 403) to answer."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.response = otmm_error(status, message)


def bearer_session_id(token: str) -> int:
    """The session id ``GET /sessions`` answers for a Bearer token (stable per token)."""
    return int(hashlib.sha1(token.encode()).hexdigest()[:7], 16)  # noqa: S324 - an id, not security


def session_json(session: dict[str, Any], settings: SandboxSettings) -> dict[str, Any]:
    return {
        "session_resource": {
            "session": {
                "domain_name": "OTMM",
                "id": session["id"],
                "local_session": False,
                "login_name": session["login_name"],
                "message_digest": session["message_digest"],
                "role_name": "Administrator",
                "user_full_name": f"{session['login_name']}, otmm",
                "user_id": "1001",
                "user_role_id": 1,
                "validation_key": -(session["id"] % 2_000_000_000),
            }
        }
    }


class Authenticator:
    """Resolves the caller of a request, or raises :class:`AuthError`."""

    def __init__(self, settings: SandboxSettings, store: OtmmStore) -> None:
        self.settings = settings
        self.store = store

    def _live_session(self, session: dict[str, Any] | None) -> dict[str, Any]:
        if session is None:
            raise AuthError("Session is not valid; log in again")
        if session["expires_at"] <= time.time():
            raise AuthError("Session has expired; log in again")
        return session

    def session_of(self, request: Request) -> dict[str, Any]:
        """The session named by the cookie / otmmauthtoken / ``Bearer otmmToken`` (no X-Requested-By check)."""
        auth = request.headers.get("authorization", "")
        digest = request.headers.get("otmmauthtoken")
        if auth.lower().startswith("bearer otmmtoken "):
            digest = auth.split(" ", 2)[2].strip()
        if digest:
            return self._live_session(self.store.find_session(digest=digest))
        jsessionid = request.cookies.get("JSESSIONID")
        if jsessionid:
            return self._live_session(self.store.find_session(jsessionid=jsessionid))
        raise AuthError("Not authenticated: log in through /sessions or send an OAuth Bearer token")

    def principal(self, request: Request) -> Principal:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and not auth.lower().startswith("bearer otmmtoken "):
            token = self.store.find_token(token=auth[7:].strip())
            if token is None:
                raise AuthError("Invalid access token")
            if token["expires_at"] <= time.time():
                raise AuthError("Access token has expired")
            if (BEARER_WRITES_NEED_REQUESTED_BY in self.settings.otmm_variants and request.method != "GET"
                    and request.headers.get("x-requested-by", "").strip() != str(bearer_session_id(token["token"]))):
                raise AuthError("X-Requested-By header must carry the session id (GET /sessions)", status=403)
            return Principal(token["login_name"], "bearer")
        session = self.session_of(request)
        if request.headers.get("x-requested-by", "").strip() != str(session["id"]):
            raise AuthError("X-Requested-By header must carry the session id")
        return Principal(session["login_name"], "session", session)


def _form_value(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


def make_auth_endpoints(settings: SandboxSettings, store: OtmmStore, authn: Authenticator) -> dict[str, Any]:
    """The session/token endpoint handlers, by name."""
    ttl = settings.token_ttl_seconds

    def password_ok(username: str, password: str) -> bool:
        return username == settings.otmm_username and password == settings.otmm_password

    async def sessions(request: Request) -> Response:
        if request.method == "POST":
            form = await request.form()
            if not password_ok(_form_value(form, "username"), _form_value(form, "password")):
                return otmm_error(401, "Invalid username or password")
            session = store.create_session(settings.otmm_username, ttl)
            response = JSONResponse(session_json(session, settings))
            response.set_cookie("JSESSIONID", session["jsessionid"], path="/otmmapi", httponly=True)
            return response
        auth = request.headers.get("authorization", "")
        if request.method == "GET" and auth.lower().startswith("bearer ") and "otmmtoken" not in auth.lower():
            token = store.find_token(token=auth[7:].strip())
            if token is None or token["expires_at"] <= time.time():
                return otmm_error(401, "Invalid or expired access token")
            pseudo = {"id": bearer_session_id(token["token"]), "login_name": token["login_name"],
                      "message_digest": ""}
            return JSONResponse(session_json(pseudo, settings))
        try:
            session = authn.session_of(request)
        except AuthError as exc:
            return exc.response
        if request.method == "DELETE":
            store.delete_session(session["id"])
            response = Response(status_code=200)
            response.delete_cookie("JSESSIONID", path="/otmmapi")
            return response
        return JSONResponse(session_json(session, settings))

    async def otmm_oauth_token(request: Request) -> Response:
        form = await request.form()
        grant = _form_value(form, "grant_type")
        client = (_form_value(form, "client_id"), _form_value(form, "client_secret"))
        if _basic(request):
            client = _basic(request)  # type: ignore[assignment]
        if client != (settings.otmm_client_id, settings.otmm_client_secret):
            return otmm_error(401, "Invalid client credentials")
        if grant == "password":
            if not password_ok(_form_value(form, "username"), _form_value(form, "password")):
                return otmm_error(401, "Invalid username or password")
        elif grant == "refresh_token":
            old = store.find_token(refresh_token=_form_value(form, "refresh_token"))
            if old is None:
                return otmm_error(401, "Invalid refresh token")
        else:
            return otmm_error(400, f"Unsupported grant_type {grant!r}")
        token = store.create_token("otmm", settings.otmm_username, client[0], ttl)
        return JSONResponse(
            {
                "token_info": {
                    "oauth_token": {
                        "accessToken": token["token"],
                        "expiresIn": ttl,
                        "refreshToken": token["refresh_token"],
                        "tokenType": "Bearer",
                    }
                }
            }
        )

    async def otds_token(request: Request) -> Response:
        form = await request.form()
        grant = _form_value(form, "grant_type")
        client = _basic(request) or (_form_value(form, "client_id"), _form_value(form, "client_secret"))
        if client != (settings.otds_client_id, settings.otds_client_secret):
            return JSONResponse({"error": "invalid_client", "error_description": "Invalid client"}, status_code=401)
        if grant == "password" and not password_ok(_form_value(form, "username"), _form_value(form, "password")):
            return JSONResponse({"error": "invalid_grant", "error_description": "Invalid credentials"}, 400)
        if grant not in ("client_credentials", "password"):
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        token = store.create_token("otds", settings.otmm_username, client[0], ttl)
        return JSONResponse({"access_token": token["token"], "token_type": "Bearer", "expires_in": ttl})

    return {"sessions": sessions, "otmm_oauth_token": otmm_oauth_token, "otds_token": otds_token}
