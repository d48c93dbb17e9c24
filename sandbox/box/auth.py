"""Box OAuth 2.0: ``POST /oauth2/token`` (JWT bearer and client credentials) and bearer-token checks.

JWT: the assertion is decoded; its RS256 signature is verified when ``box_jwt_public_key_pem`` is configured.
The SDK hard-codes ``aud = https://api.box.com/oauth2/token`` whatever the base URL, so that is the audience
checked; ``exp`` gets a small leeway for clock skew. ``box_sub_type=enterprise`` (sub = enterprise id) gives the
service account, ``user`` (sub = user id) gives that user; CCG maps ``box_subject_type``/``box_subject_id`` the same
way. Tokens live ``token_ttl_seconds``; afterwards (or after ``POST /__sandbox__/box/expire-tokens``) the API
answers 401 with Box's ``WWW-Authenticate`` header, which makes the SDK fetch a new token and retry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt
from starlette.responses import JSONResponse, Response

if TYPE_CHECKING:
    from starlette.requests import Request

    from sandbox.box.state import BoxState

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCE = "https://api.box.com/oauth2/token"
CLOCK_SKEW_SECONDS = 60


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def unauthorized() -> Response:
    """Box's answer to a missing, unknown or expired bearer token: 401, empty body."""
    return Response(
        status_code=401,
        headers={
            "WWW-Authenticate": 'Bearer realm="Service", error="invalid_token", '
            'error_description="The access token provided is invalid."'
        },
    )


def bearer_user(state: BoxState, request: Request) -> str | None:
    """The user id behind the request's bearer token, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return state.store.token_user(token.strip())


def _subject_user(state: BoxState, subject_type: str | None, subject_id: str | None) -> str | None:
    settings = state.settings
    if subject_type == "enterprise" and subject_id == settings.box_enterprise_id:
        return settings.box_service_account_user_id
    if subject_type == "user" and subject_id and state.store.user(subject_id) is not None:
        return subject_id
    return None


def _decode_assertion(state: BoxState, assertion: str) -> dict[str, Any]:
    public_key = state.settings.box_jwt_public_key_pem
    options = {"require": ["iss", "sub", "exp", "jti"]}
    if public_key:
        return jwt.decode(
            assertion, public_key, algorithms=["RS256", "RS384", "RS512"], audience=JWT_AUDIENCE,
            leeway=CLOCK_SKEW_SECONDS, options=options,
        )
    return jwt.decode(
        assertion, options={**options, "verify_signature": False, "verify_exp": True, "verify_aud": True},
        audience=JWT_AUDIENCE, leeway=CLOCK_SKEW_SECONDS,
    )


async def token_endpoint(request: Request) -> Response:
    """``POST /oauth2/token``: form-encoded JWT bearer or client-credentials grant."""
    state: BoxState = request.app.state.box
    form = await request.form()
    grant = form.get("grant_type")
    settings = state.settings
    if form.get("client_id") != settings.box_client_id or form.get("client_secret") != settings.box_client_secret:
        return _oauth_error("invalid_client", "The client credentials are invalid")
    if grant == JWT_GRANT:
        try:
            claims = _decode_assertion(state, str(form.get("assertion") or ""))
        except jwt.ExpiredSignatureError:
            return _oauth_error("invalid_grant", "Current date/time MUST be before the expiration date/time listed "
                                "in the 'exp' claim")
        except jwt.PyJWTError as exc:
            return _oauth_error("invalid_grant", f"Signature verification error. {exc}")
        if claims.get("iss") != settings.box_client_id:
            return _oauth_error("invalid_grant", "Please check the 'iss' claim.")
        user_id = _subject_user(state, claims.get("box_sub_type"), str(claims.get("sub")))
    elif grant == "client_credentials":
        user_id = _subject_user(state, form.get("box_subject_type"), form.get("box_subject_id"))
    else:
        return _oauth_error("unsupported_grant_type", "Grant type is not supported")
    if user_id is None:
        return _oauth_error("invalid_grant", "Please check the 'sub' claim. The 'sub' specified is invalid.")
    ttl = settings.token_ttl_seconds
    token = state.store.issue_token(user_id, ttl)
    return JSONResponse(
        {"access_token": token, "expires_in": ttl, "restricted_to": [], "token_type": "bearer"}
    )
