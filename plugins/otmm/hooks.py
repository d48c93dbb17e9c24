"""``OtmmHook``: the DAM (OpenText Media Management REST API ``otmmapi/v6``) for the content-scaling workflow.

Connection (type ``otmm``, default ``otmm_default``): host = API base URL including ``/otmmapi/v6``, login and
password, extras ``auth_mode`` (``session`` | ``oauth`` | ``otds``), ``client_id``, ``client_secret``,
``otds_token_url``. Example::

    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "login": "svc_scaling", "password": "...", "extra": {"auth_mode": "session"}}'
    AIRFLOW_CONN_OTMM_DEFAULT='{"conn_type": "otmm", "host": "https://dam.example.com/otmmapi/v6",
        "extra": {"auth_mode": "otds", "client_id": "scaling", "client_secret": "...",
                  "otds_token_url": "https://otds.example.com/otdsws/oauth2/token"}}'

Every call goes through :meth:`OtmmHook._request`: one lazily created ``requests.Session``, a timeout on every
request, retries (tenacity) on 429 (honouring ``Retry-After``), the config's 5xx codes, connection errors,
timeouts and truncated bodies, never on other 4xx; a 401 logs in again once. Settings come from the config
(``retry``, ``dam``, ``field_mappings.validate_domain_values``), read when first needed; constructor keywords win.
"""

from __future__ import annotations

import json
import mimetypes
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests
import tenacity
from airflow.sdk import BaseHook

from hook_support.configured import ConfiguredHookMixin
from hook_support.messages import one_line, scrub
from hook_support.streams import (
    DownloadedFile,
    IncompleteTransferError,
    MultipartFileBody,
    TransferAdapter,
    file_sha1,
    response_to_file,
)
from otmm.exceptions import (
    OtmmAuthError,
    OtmmBadRequestError,
    OtmmConfigError,
    OtmmConflictError,
    OtmmError,
    OtmmIntegrityError,
    OtmmJobError,
    OtmmNotFoundError,
    OtmmTransportError,
    http_error,
)
from otmm.models import Campaign, DamFolder, MasterAsset, is_container

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from hook_support.retry import RetryPolicy

_T = TypeVar("_T")

AUTH_MODES = ("session", "oauth", "otds")
FIELD_TYPE = "com.artesia.metadata.MetadataField"
CONTAINS = "ARTESIA.OPERATOR.CHAR.CONTAINS"
JOB_DONE = {"COMPLETED", "COMPLETE", "SUCCESS", "SUCCEEDED", "FINISHED", "DONE"}
JOB_FAILED = {"FAILED", "ERROR", "CANCELLED", "CANCELED", "ABORTED"}
#: Renew a token this many seconds before the expiry the DAM announced.
TOKEN_EXPIRY_MARGIN = 30.0
PROJECT_ROOT = Path(__file__).resolve().parents[2]

# Lookup domains by (API base URL, domain id): (fetched at, {code: display value}); shared by the hooks of a process.
_DOMAIN_CACHE: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
_DOMAIN_LOCK = threading.Lock()


@dataclass(frozen=True)
class _ConnSettings:
    base_url: str
    auth_mode: str
    login: str | None
    password: str | None
    client_id: str | None
    client_secret: str | None
    otds_token_url: str | None

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.password, self.client_secret)


@dataclass(frozen=True)
class _DamSettings:
    timeout_seconds: float
    job_timeout_seconds: float
    job_poll_seconds: float
    page_size: int
    status_field: str
    number_field: str
    final_assets_folder_name: str
    domain_cache_ttl_seconds: float
    domain_cache_file: Path | None


class OtmmHook(ConfiguredHookMixin, BaseHook):
    """Talks to the DAM: campaigns, master assets, downloads, asset creation and new versions, campaign status,
    lookup domains.

    :param otmm_conn_id: the Airflow connection (type ``otmm``).
    :param retry: a whole :class:`RetryPolicy`; otherwise the config's ``retry`` section, with
        ``max_attempts``, ``initial_delay_seconds``, ``max_delay_seconds`` overriding single values
        (tests pass ``initial_delay_seconds=0``).
    :param timeout_seconds: read timeout of each request (default ``dam.timeout_seconds``).
    :param job_timeout_seconds: how long to wait for an import job (default ``dam.job_timeout_seconds``).
    :param page_size: page size of listings and searches (default ``dam.page_size``).
    :param domain_cache_file: file cache of lookup domains shared by task processes (default the config's
        ``validate_domain_values.cache_file``); ``False`` keeps the cache in memory only.
    """

    conn_name_attr = "otmm_conn_id"
    default_conn_name = "otmm_default"
    conn_type = "otmm"
    hook_name = "OpenText Media Management"

    def __init__(
        self,
        otmm_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        max_attempts: int | None = None,
        initial_delay_seconds: float | None = None,
        max_delay_seconds: float | None = None,
        timeout_seconds: float | None = None,
        job_timeout_seconds: float | None = None,
        job_poll_seconds: float | None = None,
        page_size: int | None = None,
        status_field: str | None = None,
        number_field: str | None = None,
        final_assets_folder_name: str | None = None,
        domain_cache_ttl_hours: float | None = None,
        domain_cache_file: str | os.PathLike[str] | bool | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.otmm_conn_id = otmm_conn_id
        self._init_configuration(config, retry, max_attempts=max_attempts,
                                 initial_delay_seconds=initial_delay_seconds, max_delay_seconds=max_delay_seconds)
        self._overrides = {
            "timeout_seconds": timeout_seconds,
            "job_timeout_seconds": job_timeout_seconds,
            "job_poll_seconds": job_poll_seconds,
            "page_size": page_size,
            "status_field": status_field,
            "number_field": number_field,
            "final_assets_folder_name": final_assets_folder_name,
            "domain_cache_ttl_hours": domain_cache_ttl_hours,
            "domain_cache_file": domain_cache_file,
        }
        self._session: requests.Session | None = None
        self._auth_expires_at: float | None = None
        self._lock = threading.RLock()

    # ---- settings ---------------------------------------------------------------------------------------------

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        policy = self._configured_retry_policy()
        timeout = self._overrides["timeout_seconds"]
        if timeout is None and self._retry is None:
            timeout = (self._load_config().get("dam") or {}).get("timeout_seconds")
        return policy.with_overrides(request_timeout_seconds=timeout)

    @cached_property
    def dam_settings(self) -> _DamSettings:
        o = self._overrides
        needs_config = any(o[k] is None for k in o if k != "timeout_seconds")
        config = self._load_config() if needs_config else {}
        dam = config.get("dam") or {}
        campaign = dam.get("campaign") or {}
        domains = (config.get("field_mappings") or {}).get("validate_domain_values") or {}

        def pick(key: str, default: Any) -> Any:
            return o[key] if o.get(key) is not None else default

        cache_file = pick("domain_cache_file", domains.get("cache_file"))
        if cache_file is False or cache_file in ("", None):
            cache_path = None
        else:
            cache_path = Path(cache_file)
            cache_path = cache_path if cache_path.is_absolute() else PROJECT_ROOT / cache_path
        return _DamSettings(
            timeout_seconds=float(pick("timeout_seconds", dam.get("timeout_seconds", 120))),
            job_timeout_seconds=float(pick("job_timeout_seconds", dam.get("job_timeout_seconds", 300))),
            job_poll_seconds=float(pick("job_poll_seconds", 1.0)),
            page_size=int(pick("page_size", dam.get("page_size", 100))),
            status_field=str(pick("status_field", campaign.get("status_field", "FERRERO.CAMPAIGN.FIELD.STATUS"))),
            number_field=str(pick("number_field", campaign.get("number_field", "FERRERO.CAMPAIGN.FIELD.NUMBER"))),
            final_assets_folder_name=str(
                pick("final_assets_folder_name", campaign.get("final_assets_folder_name", "Final Assets"))
            ),
            domain_cache_ttl_seconds=float(pick("domain_cache_ttl_hours", domains.get("cache_ttl_hours", 24))) * 3600,
            domain_cache_file=cache_path,
        )

    @cached_property
    def conn_settings(self) -> _ConnSettings:
        """The connection, checked: fails fast naming the missing or malformed field."""
        conn = self.get_connection(self.otmm_conn_id)
        extra = conn.extra_dejson or {}
        where = f"Airflow connection '{self.otmm_conn_id}'"
        host = (conn.host or "").strip()
        if not host:
            raise OtmmConfigError(f"{where} has no host; set it to the DAM API base URL, e.g. "
                                  "https://dam.example.com/otmmapi/v6.")
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}"
        parts = urlsplit(host)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OtmmConfigError(f"{where} has a host that is not an http(s) URL: {host!r}.")
        netloc = parts.netloc if parts.port or not conn.port else f"{parts.netloc}:{conn.port}"
        path = parts.path.rstrip("/") or "/otmmapi/v6"
        mode = str(extra.get("auth_mode") or "session").strip().lower()
        if mode not in AUTH_MODES:
            raise OtmmConfigError(f"{where} has auth_mode {mode!r}; use one of {', '.join(AUTH_MODES)}.")
        settings = _ConnSettings(
            base_url=f"{parts.scheme}://{netloc}{path}",
            auth_mode=mode,
            login=conn.login or None,
            password=conn.password or None,
            client_id=extra.get("client_id") or None,
            client_secret=extra.get("client_secret") or None,
            otds_token_url=extra.get("otds_token_url") or None,
        )
        required = {"session": ("login", "password"), "oauth": ("login", "password", "client_id", "client_secret"),
                    "otds": ("client_id", "client_secret", "otds_token_url")}[mode]
        missing = [name for name in required if not getattr(settings, name)]
        if missing:
            raise OtmmConfigError(f"{where} uses auth_mode {mode} but has no {' and no '.join(missing)}.")
        return settings

    # ---- session and authentication ---------------------------------------------------------------------

    def get_conn(self) -> requests.Session:
        """The authenticated ``requests.Session`` (created and logged in on first use)."""
        with self._lock:
            if self._session is None:
                session = requests.Session()
                adapter = TransferAdapter()
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.headers.update({"Accept": "application/json", "X-OTMM-Locale": "en_US"})
                self._session = session
                self._authenticate()
            elif self._auth_expires_at is not None and time.monotonic() >= self._auth_expires_at:
                self._authenticate()
            return self._session

    def _authenticate(self) -> None:
        """Log in (session) or fetch a token (oauth, otds) and put the credentials on the session."""
        conn = self.conn_settings
        session = self._session
        assert session is not None
        for header in ("Authorization", "X-Requested-By", "otmmauthtoken"):
            session.headers.pop(header, None)
        session.cookies.clear()
        self._auth_expires_at = None
        who = conn.login if conn.auth_mode != "otds" else f"client {conn.client_id}"
        operation = f"logging in to the DAM as {who} ({conn.auth_mode} authentication)"
        if conn.auth_mode == "session":
            data = self._send("POST", f"{conn.base_url}/sessions", operation,
                              data={"username": conn.login, "password": conn.password}, authenticated=False)
            info = (data or {}).get("session_resource", {}).get("session", {})
            if not info.get("id"):
                raise OtmmAuthError(f"DAM request failed while {operation}: the answer carries no session id.")
            session.headers["X-Requested-By"] = str(info["id"])
            if info.get("message_digest"):
                session.headers["otmmauthtoken"] = str(info["message_digest"])
            return
        if conn.auth_mode == "oauth":
            url = f"{conn.base_url}/sessions/oauth2/token"
            form = {"grant_type": "password", "username": conn.login, "password": conn.password,
                    "client_id": conn.client_id, "client_secret": conn.client_secret}
        else:
            url = str(conn.otds_token_url)
            form = {"grant_type": "client_credentials", "client_id": conn.client_id,
                    "client_secret": conn.client_secret}
        data = self._send("POST", url, operation, data=form, authenticated=False) or {}
        oauth = data.get("token_info", {}).get("oauth_token", {}) if isinstance(data.get("token_info"), dict) else {}
        token = data.get("access_token") or oauth.get("accessToken")
        expires_in = data.get("expires_in", oauth.get("expiresIn"))
        if not token:
            raise OtmmAuthError(f"DAM request failed while {operation}: the answer carries no access token.")
        session.headers["Authorization"] = f"Bearer {token}"
        try:
            if expires_in:
                self._auth_expires_at = time.monotonic() + max(0.0, float(expires_in) - TOKEN_EXPIRY_MARGIN)
        except (TypeError, ValueError):
            self._auth_expires_at = None

    def close(self) -> None:
        """Log out (session auth) and drop the HTTP session; best effort, never raises."""
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        try:
            if self.conn_settings.auth_mode == "session":
                session.delete(f"{self.conn_settings.base_url}/sessions", timeout=self.retry_policy.timeout)
        except requests.RequestException:
            pass
        finally:
            session.close()

    # ---- the one request path -------------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return path if "://" in path else f"{self.conn_settings.base_url}/{path.lstrip('/')}"

    def _retrying(self, operation: str, attempts: int | None = None) -> tenacity.Retrying:
        policy = self.retry_policy

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return policy.wait_for(state.attempt_number, getattr(exc, "retry_after", None))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.log.warning("DAM: attempt %d of %d failed (%s); retrying in %.1f s", state.attempt_number,
                             attempts or policy.max_attempts, scrub(str(exc), self.conn_settings.secrets),
                             state.next_action.sleep if state.next_action else 0)

        return tenacity.Retrying(
            stop=tenacity.stop_after_attempt(attempts or policy.max_attempts),
            wait=wait,
            retry=tenacity.retry_if_exception(_retryable),
            before_sleep=before_sleep,
            reraise=True,
        )

    def _request(
        self,
        method: str,
        path: str,
        operation: str,
        *,
        handle: Callable[[requests.Response], Any] | None = None,
        body: Callable[[], tuple[Any, str]] | None = None,
        idempotent: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Send one DAM request with retries; return ``handle(response)`` or the parsed JSON body.

        ``handle`` runs inside the retried attempt (a download cut short is retried whole). ``body`` builds a
        fresh streamed body and its content type for every attempt. ``idempotent=False`` sends once (a 401 is
        still answered by logging in again, since the request did not reach the DAM's logic).
        """
        return self._send(method, self._url(path), operation, handle=handle, body=body,
                          attempts=None if idempotent else 1, **kwargs)

    def _send(
        self,
        method: str,
        url: str,
        operation: str,
        *,
        handle: Callable[[requests.Response], Any] | None = None,
        body: Callable[[], tuple[Any, str]] | None = None,
        authenticated: bool = True,
        attempts: int | None = None,
        **kwargs: Any,
    ) -> Any:
        policy = self.retry_policy
        secrets = self.conn_settings.secrets
        state = {"renewed": False, "attempts": 0}

        def attempt() -> Any:
            state["attempts"] += 1
            while True:
                session = self.get_conn() if authenticated else self._session
                assert session is not None
                call = dict(kwargs)
                if body is not None:
                    data, content_type = body()
                    call["data"] = data
                    call["headers"] = {**call.get("headers", {}), "Content-Type": content_type}
                try:
                    response = session.request(method, url, timeout=policy.timeout, stream=True, **call)
                except requests.Timeout as exc:
                    raise _transport(operation, f"no answer within {policy.request_timeout_seconds:g} s", exc) from exc
                except requests.RequestException as exc:
                    raise _transport(operation, f"connection failed ({type(exc).__name__})", exc) from exc
                with response:
                    if response.status_code == 401 and authenticated and not state["renewed"]:
                        state["renewed"] = True
                        self.log.info("DAM answered 401 while %s; logging in again", operation)
                        with self._lock:
                            self._authenticate()
                        continue
                    if response.status_code >= 400:
                        raise http_error(operation, response, policy)
                    try:
                        if handle is not None:
                            return handle(response)
                        content = response.content
                    except IncompleteTransferError as exc:
                        raise OtmmIntegrityError(f"DAM request failed while {operation}: the body was cut short "
                                                 f"({exc})") from exc
                    except requests.RequestException as exc:
                        raise _transport(operation, f"the answer was cut short ({type(exc).__name__})", exc) from exc
                    if not content.strip():
                        return None
                    try:
                        return json.loads(content)
                    except ValueError as exc:
                        raise _transport(operation, "the answer is not complete JSON", exc) from exc

        try:
            return self._retrying(operation, attempts)(attempt)
        except OtmmError as exc:
            raise _final(exc, state["attempts"], secrets) from exc.__cause__

    # ---- campaigns ------------------------------------------------------------------------------------------

    def search_campaigns(self, status: str) -> list[Campaign]:
        """Every campaign folder whose status field is exactly ``status`` (all result pages).

        The DAM is asked with a CONTAINS condition (no exact operator is documented); hits are kept only when
        they are folders and their status equals ``status`` exactly.
        """
        s = self.dam_settings
        condition = {"search_condition_list": {"search_condition": [{
            "type": "com.artesia.search.SearchScalarCondition", "metadata_field_id": s.status_field,
            "relational_operator_id": CONTAINS, "value": status, "relational_operator": "and",
            "left_paren": "(", "right_paren": ")"}]}}
        campaigns: list[Campaign] = []
        seen: set[str] = set()
        after = 0
        while True:
            form = {"keyword_query": "*", "search_condition_list": json.dumps(condition), "load_type": "metadata",
                    "level_of_detail": "slim", "after": str(after), "limit": str(s.page_size)}
            data = self._request("POST", "/search/text", f"searching campaigns with status {status}", data=form)
            resource = (data or {}).get("search_result_resource", {})
            result = resource.get("search_result", {})
            items = resource.get("asset_list") or []
            for item in items:
                if not is_container(item) or str(item.get("asset_id")) in seen:
                    continue
                campaign = Campaign.from_folder(item, s.status_field, s.number_field)
                if campaign.status == status:
                    seen.add(campaign.campaign_id)
                    campaigns.append(campaign)
            hits = int(result.get("hit_count", len(items)) or 0)
            total = int(result.get("total_hit_count", 0) or 0)
            after += hits
            if hits == 0 or after >= total:
                break
        self.log.info("DAM: %d campaign(s) with status %s", len(campaigns), status)
        return campaigns

    def get_campaign(self, campaign_id: str) -> Campaign:
        """The campaign folder ``campaign_id`` with its metadata, status and number."""
        data = self._request("GET", f"/folders/{campaign_id}", f"reading campaign {campaign_id}",
                             params={"load_type": "metadata", "level_of_detail": "full"})
        folder = (data or {}).get("folder_resource", {}).get("folder")
        if not folder:
            raise OtmmNotFoundError(f"DAM request failed while reading campaign {campaign_id}: no folder in the answer.")
        s = self.dam_settings
        return Campaign.from_folder(folder, s.status_field, s.number_field)

    def _children(self, folder_id: str, operation: str, *, subfolders: bool = False, **params: Any) -> list[dict]:
        """Every child of a folder (``/children``, or ``/folders`` for subfolders only), all pages."""
        page_size = self.dam_settings.page_size
        endpoint, key, list_key = ("folders", "folders_resource", "folder_list") if subfolders else (
            "children", "folder_children", "asset_list")
        out: list[dict] = []
        after = 0
        while True:
            data = self._request("GET", f"/folders/{folder_id}/{endpoint}", operation,
                                 params={**params, "after": after, "limit": page_size, "sort": "asc_NAME"})
            page = (data or {}).get(key, {}).get(list_key) or []
            out.extend(page)
            after += len(page)
            if len(page) < page_size:
                return out

    def list_master_assets(self, campaign_id: str) -> list[MasterAsset]:
        """The campaign's master assets: its non-folder children, with metadata (all pages)."""
        children = self._children(campaign_id, f"listing the master assets of campaign {campaign_id}",
                                  load_type="metadata", level_of_detail="full")
        return [MasterAsset.from_asset(c) for c in children if not is_container(c)]

    def find_final_assets_folder(self, campaign_id: str) -> DamFolder:
        """The campaign's Final Assets subfolder (name matched case-insensitively); not found is an error."""
        wanted = self.dam_settings.final_assets_folder_name
        folders = self._children(campaign_id, f"looking for the {wanted} folder of campaign {campaign_id}",
                                 subfolders=True, load_type="system")
        for folder in folders:
            if str(folder.get("name", "")).strip().casefold() == wanted.strip().casefold():
                return DamFolder(str(folder["asset_id"]), str(folder["name"]))
        raise OtmmNotFoundError(f"Campaign {campaign_id} has no subfolder named {wanted!r} in the DAM; create it or "
                                "fix dam.campaign.final_assets_folder_name in config/config.yaml.", status=None)

    # ---- assets ---------------------------------------------------------------------------------------------

    def get_asset(self, asset_id: str) -> MasterAsset:
        """One asset with its metadata and content size."""
        data = self._request("GET", f"/assets/{asset_id}", f"reading asset {asset_id}",
                             params={"load_type": "metadata", "level_of_detail": "full"})
        asset = (data or {}).get("asset_resource", {}).get("asset")
        if not asset:
            raise OtmmNotFoundError(f"DAM request failed while reading asset {asset_id}: no asset in the answer.")
        return MasterAsset.from_asset(asset)

    def download_original(
        self, asset_id: str, target: str | os.PathLike[str], *, expected_size: int | None = None
    ) -> DownloadedFile:
        """Stream the asset's original content to ``target`` (memory stays flat; SHA-1 computed on the way).

        The byte count must match ``Content-Length`` and the asset's ``content_size`` (read from the DAM when
        ``expected_size`` is not given); a short or broken body is downloaded again, whole.
        """
        if expected_size is None:
            expected_size = self.get_asset(asset_id).content_size
        result = self._request(
            "GET", f"/assets/{asset_id}/contents", f"downloading the original of asset {asset_id}",
            headers={"Accept": "*/*", "Accept-Encoding": "identity"},
            handle=lambda response: response_to_file(response, target, expected_size=expected_size),
        )
        self.log.info("DAM: downloaded asset %s (%d bytes) to %s", asset_id, result.size, result.path)
        return result

    def find_asset_by_name(self, folder_id: str, name: str) -> MasterAsset | None:
        """The non-folder child of ``folder_id`` named exactly ``name``, if any."""
        children = self._children(folder_id, f"looking for asset {name!r} in folder {folder_id}",
                                  load_type="system")
        for child in children:
            if not is_container(child) and child.get("name") == name:
                return MasterAsset.from_asset(child)
        return None

    def create_asset(
        self,
        folder_id: str,
        path: str | os.PathLike[str],
        asset_representation: dict[str, Any] | str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
    ) -> str:
        """Create an asset in ``folder_id`` from a file and an asset representation; return the new asset id.

        Multipart ``POST /assets`` (streamed from disk), then the import job is awaited. An asset with the same
        name already in the folder (left by an earlier attempt) is returned instead: never created twice. The
        POST itself is never blindly re-sent; a failed attempt is retried only after checking the folder again.
        """
        name = file_name or Path(path).name
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        representation = asset_representation if isinstance(asset_representation, str) else json.dumps(
            asset_representation)
        manifest = json.dumps({"upload_manifest": {"master_files": [{"file": {"file_name": name, "file_type": mime}}]}})
        operation = f"creating asset {name!r} in folder {folder_id}"

        def body() -> tuple[Any, str]:
            multipart = MultipartFileBody(
                [("asset_representation", representation, "application/json"),
                 ("manifest", manifest, "application/json"),
                 ("parent_folder_id", folder_id, None)],
                "files", path, name, mime)
            return multipart, multipart.content_type

        def once() -> str:
            existing = self.find_asset_by_name(folder_id, name)
            if existing is not None:
                self.log.info("DAM: asset %r already in folder %s (id %s); not creating it again",
                              name, folder_id, existing.asset_id)
                return existing.asset_id
            data = self._request("POST", "/assets", operation, body=body, idempotent=False)
            job_id = (data or {}).get("job_handle", {}).get("job_id")
            if not job_id:
                raise OtmmBadRequestError(f"DAM request failed while {operation}: the answer has no import job id.")
            return self._wait_for_import(str(job_id), folder_id, name, operation)

        try:
            asset_id = self._retrying(operation)(once)
        except OtmmError as exc:
            raise _final(exc, 1, self.conn_settings.secrets) from exc.__cause__
        self.log.info("DAM: asset %r is %s in folder %s", name, asset_id, folder_id)
        return asset_id

    def _wait_for_import(self, job_id: str, folder_id: str, name: str, operation: str) -> str:
        """Poll ``/jobs/{id}`` until the import finished; return the created asset's id (from the job, or found by
        name in the folder when the DAM's job resource does not list it)."""

        def created_asset(job: dict[str, Any]) -> str | None:
            ids = job.get("asset_ids") or []
            if ids:
                return str(ids[0])
            found = self.find_asset_by_name(folder_id, name)
            return found.asset_id if found is not None else None

        return self._wait_for_job(job_id, operation, created_asset, kind="import job")

    # ---- new versions -----------------------------------------------------------------------------------------

    def check_in_new_version(
        self,
        asset_id: str,
        path: str | os.PathLike[str],
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        metadata: list[dict[str, Any]] | None = None,
    ) -> int:
        """Make the file the asset's new version (same asset id); return the asset's version number.

        Check out + lock → ``POST /jobs/imports`` → ``POST /renditions`` (streamed from disk) → ``PUT
        /jobs/checkins/{job}`` → the check-in job awaited → ``metadata`` (flat elements, e.g. from a
        representation) PATCHed → unlock, always attempted (spec §7 "three-step variant", §9). When the DAM
        already holds exactly these bytes (an earlier attempt got through), nothing is checked in: never two
        versions for one file. The check-in itself is never blindly re-sent; a failed attempt is retried only
        after comparing the DAM's content again.
        """
        name = file_name or Path(path).name
        mime = mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        operation = f"checking in a new version of asset {asset_id} from {name!r}"

        def once() -> int:
            current = self._asset_json(asset_id)
            if self._holds_content(current, path):
                self.log.info("DAM: asset %s already holds %r (version %s); not checking it in again",
                              asset_id, name, current.get("version"))
                return int(current.get("version") or 1)
            data = self._request("POST", "/jobs/imports", f"starting an import job for {name!r}",
                                 data={"file_name": name})
            job_id = (data or {}).get("job_handle", {}).get("job_id")
            if not job_id:
                raise OtmmBadRequestError(f"DAM request failed while {operation}: the answer has no import job id.")

            def body() -> tuple[Any, str]:
                multipart = MultipartFileBody([("import_job_id", str(job_id), None), ("file_name", name, None)],
                                              "file", path, name, mime)
                return multipart, multipart.content_type

            self._request("POST", "/renditions", f"uploading {name!r} to import job {job_id}", body=body)
            manifest = {"upload_manifest": {"master_files": [{"file": {"file_name": name}, "uoi_id": asset_id}]}}

            data = self._request("PUT", f"/jobs/checkins/{job_id}", operation, idempotent=False,
                                 files={"manifest": (None, json.dumps(manifest), "application/json")})
            checkin_job = (data or {}).get("job_handle", {}).get("job_id")
            if checkin_job:
                self._wait_for_job(str(checkin_job), operation)
            return int(self._asset_json(asset_id).get("version") or 1)

        try:
            with self._locked(asset_id, "asset", check_out=True):
                version = self._retrying(operation)(once)
                if metadata:
                    self._patch_metadata(asset_id, metadata, f"updating the metadata of asset {asset_id}")
        except OtmmError as exc:
            raise _final(exc, 1, self.conn_settings.secrets) from exc.__cause__
        self.log.info("DAM: asset %s is at version %d with %r", asset_id, version, name)
        return version

    def _asset_json(self, asset_id: str) -> dict[str, Any]:
        data = self._request("GET", f"/assets/{asset_id}", f"reading asset {asset_id}")
        asset = (data or {}).get("asset_resource", {}).get("asset")
        if not asset:
            raise OtmmNotFoundError(f"DAM request failed while reading asset {asset_id}: no asset in the answer.")
        return asset

    def _holds_content(self, asset: dict[str, Any], path: str | os.PathLike[str]) -> bool:
        """Whether the asset's original already is this file: sizes first, the bytes only when they match."""
        size = MasterAsset.from_asset(asset).content_size
        local = Path(path)
        if size is None or size != local.stat().st_size:
            return False
        copy = local.with_name(f".{local.name}.dam-current")
        try:
            return self.download_original(str(asset["asset_id"]), copy, expected_size=size).sha1 == file_sha1(local)
        finally:
            copy.unlink(missing_ok=True)

    def _wait_for_job(self, job_id: str, operation: str,
                      result: Callable[[dict[str, Any]], _T | None] = lambda job: True, *, kind: str = "job") -> _T:
        """Poll ``/jobs/{id}`` until the job finished and ``result(job)`` gives a value, and return that value. A
        DAM without job resources (404) counts as a finished job with an empty resource."""
        s = self.dam_settings
        deadline = time.monotonic() + s.job_timeout_seconds
        delay = min(0.2, s.job_poll_seconds)
        while True:
            try:
                data = self._request("GET", f"/jobs/{job_id}", f"checking {kind} {job_id}")
                job = (data or {}).get("job_resource", {}).get("job", {})
            except OtmmNotFoundError:
                job = {}
            state = str(job.get("job_state") or job.get("status") or job.get("state") or "").upper()
            if state in JOB_FAILED:
                message = one_line(job.get("message") or job.get("error_message") or state)
                raise OtmmJobError(f"DAM {kind} {job_id} failed while {operation}: {message}.")
            if state in JOB_DONE or not job:
                value = result(job)
                if value is not None:
                    return value
            if time.monotonic() >= deadline:
                raise OtmmJobError(f"DAM {kind} {job_id} did not finish within {s.job_timeout_seconds:g} s "
                                   f"while {operation} (dam.job_timeout_seconds).")
            time.sleep(delay)
            delay = min(max(delay * 2, 0.05), max(s.job_poll_seconds, 0.05))

    # ---- campaign status ------------------------------------------------------------------------------------

    def set_campaign_status(self, campaign_id: str, status: str, *, expected_status: str | None = None) -> bool:
        """Set the campaign's status field: lock → PATCH → unlock (the unlock is always attempted).

        Returns False when the status already was ``status`` (nothing changed). With ``expected_status``, a
        campaign found in any other status is refused (:class:`OtmmConflictError`), so a flip happens once.
        """
        s = self.dam_settings
        operation = f"setting the status of campaign {campaign_id} to {status}"
        with self._locked(campaign_id, "campaign"):
            current = self.get_campaign(campaign_id).status
            if current == status:
                self.log.info("DAM: campaign %s already has status %s", campaign_id, status)
                return False
            if expected_status is not None and current != expected_status:
                raise OtmmConflictError(f"Campaign {campaign_id} has status {current!r} in the DAM, not "
                                        f"{expected_status!r}; its status was not changed to {status}.")
            self._patch_metadata(campaign_id, [
                {"id": s.status_field, "type": FIELD_TYPE, "value": {"value": {"type": "string", "value": status}}}
            ], operation, folder=True)
            self.log.info("DAM: campaign %s status %s -> %s", campaign_id, current, status)
            return True

    @contextmanager
    def _locked(self, asset_id: str, what: str, *, check_out: bool = False) -> Iterator[None]:
        """Hold the DAM lock of an asset or folder (checked out first with ``check_out``) for the block; the
        unlock is always attempted once anything was taken. ``what`` names the object in messages."""
        actions = ("check_out", "lock") if check_out else ("lock",)
        taken = False
        failure: BaseException | None = None
        try:
            for action in actions:
                verb = "checking out" if action == "check_out" else "locking"
                self._request("PUT", f"/assets/{asset_id}/state", f"{verb} {what} {asset_id}",
                              data={"action": action})
                taken = True
            yield
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if taken:
                self._unlock(asset_id, what, failure)

    def _unlock(self, asset_id: str, what: str, failure: BaseException | None) -> None:
        try:
            self._request("PUT", f"/assets/{asset_id}/state", f"unlocking {what} {asset_id}",
                          data={"action": "unlock"})
        except OtmmError as exc:
            if failure is not None:
                self.log.error("DAM: unlocking %s %s failed too: %s", what, asset_id, exc)
            else:
                raise OtmmError(f"{what.capitalize()} {asset_id} was updated but stays locked in the DAM: {exc}",
                                status=exc.status, server_message=exc.server_message) from exc

    def _patch_metadata(self, asset_id: str, elements: list[dict[str, Any]], operation: str, *,
                        folder: bool = False) -> None:
        """``PATCH`` the ``edited_asset`` metadata (flat elements, as in a representation); the caller holds the
        lock. ``folder``: a DAM that refuses the asset path for a folder is asked at ``/folders/{id}``."""
        edit = {"edited_asset": {"data": {"metadata": elements}}}
        try:
            self._request("PATCH", f"/assets/{asset_id}", operation, json=edit)
        except (OtmmNotFoundError, OtmmBadRequestError) as exc:
            if not folder or exc.status not in (404, 405):
                raise
            self._request("PATCH", f"/folders/{asset_id}", operation, json=edit)

    # ---- lookup domains -------------------------------------------------------------------------------------

    def get_lookup_domain(self, domain_id: str) -> dict[str, str]:
        """The active values of a lookup domain, code -> display value (expired values left out).

        Cached for ``validate_domain_values.cache_ttl_hours`` in memory and in the cache file shared by tasks.
        """
        s = self.dam_settings
        key = (self.conn_settings.base_url, domain_id)
        now = time.time()
        with _DOMAIN_LOCK:
            cached = _DOMAIN_CACHE.get(key) or self._read_domain_file(key)
            if cached and now - cached[0] < s.domain_cache_ttl_seconds:
                _DOMAIN_CACHE[key] = cached
                return dict(cached[1])
        data = self._request("GET", f"/lookupdomains/{domain_id}", f"reading lookup domain {domain_id}")
        domain = (data or {}).get("lookup_domain_resource", {}).get("lookup_domain") or {}
        values: dict[str, str] = {}
        for entry in domain.get("domainValues") or domain.get("domain_values") or []:
            if entry.get("expired_value"):
                continue
            code = (entry.get("field_value") or {}).get("value")
            if code is not None:
                values[str(code)] = str(entry.get("display_value") or code)
        with _DOMAIN_LOCK:
            _DOMAIN_CACHE[key] = (now, values)
            self._write_domain_file(key, now, values)
        return dict(values)

    def _read_domain_file(self, key: tuple[str, str]) -> tuple[float, dict[str, str]] | None:
        path = self.dam_settings.domain_cache_file
        if path is None or not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text()).get(f"{key[0]} {key[1]}")
            return (float(entry["fetched_at"]), dict(entry["values"])) if entry else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_domain_file(self, key: tuple[str, str], fetched_at: float, values: dict[str, str]) -> None:
        path = self.dam_settings.domain_cache_file
        if path is None:
            return
        try:
            data = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            data = {}
        data[f"{key[0]} {key[1]}"] = {"fetched_at": fetched_at, "values": values}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, path)
        except OSError as exc:
            self.log.warning("DAM: could not write the lookup-domain cache %s: %s", path, exc)

    # ---- connection test ------------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Log in and read the root folders: (True, what was reached) or (False, why not). Never raises."""
        try:
            conn = self.conn_settings
            self._session = None
            self._request("GET", "/folders/rootfolders", "reading the root folders", params={"limit": 1})
            who = conn.login if conn.auth_mode != "otds" else f"client {conn.client_id}"
            return True, f"Connected to the DAM at {conn.base_url} as {who} ({conn.auth_mode} authentication)."
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            secrets: tuple[str | None, ...] = ()
            try:
                secrets = self.conn_settings.secrets
            except Exception:  # noqa: BLE001, S110
                pass
            return False, scrub(one_line(str(exc), 500), secrets)


def _transport(operation: str, what: str, cause: BaseException) -> OtmmTransportError:
    return OtmmTransportError(f"DAM request failed while {operation}: {what}")


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, OtmmError) and exc.retryable


def _final(exc: OtmmError, attempts: int, secrets: tuple[str | None, ...]) -> OtmmError:
    """The exception to raise: same type and kind, the message as one scrubbed sentence with the attempt count."""
    message = str(exc).rstrip(".")
    if attempts > 1 and exc.retryable:
        message += f", after {attempts} attempts"
    final = type(exc)(scrub(message + ".", secrets), status=exc.status, server_message=exc.server_message)
    final.permanent, final.retryable = exc.permanent, exc.retryable
    return final
