"""``BoxHook``: Box through the official SDK (``box_sdk_gen``) for the content-scaling workflow.

Connection (type ``box``, default ``box_default``): login = client id, password = client secret, extras
``auth_mode`` (``jwt`` | ``ccg``), ``enterprise_id``, ``user_id``, ``jwt_config_json`` (the Developer Console's
config.json, replacing the key fields), ``jwt_key_id``, ``jwt_private_key`` (PEM, encrypted or not),
``jwt_private_key_passphrase``, ``base_url``, ``upload_url``, ``oauth_url`` (how a sandbox is reached). Examples::

    AIRFLOW_CONN_BOX_DEFAULT='{"conn_type": "box", "login": "<client id>", "password": "<client secret>",
        "extra": {"auth_mode": "ccg", "enterprise_id": "123456"}}'
    AIRFLOW_CONN_BOX_DEFAULT='{"conn_type": "box", "extra": {"auth_mode": "jwt",
        "jwt_config_json": "{\\"boxAppSettings\\": {...}, \\"enterpriseID\\": \\"123456\\"}"}}'

Requests go through one ``requests.Session`` inside the SDK's network client, with a timeout on each and the
config's retry policy (:class:`box.retry.PolicyRetryStrategy`); a 401 fetches a new token once. SDK and
transport errors become :class:`box.exceptions.BoxError` subclasses with one-sentence messages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
import tenacity
from airflow.sdk import BaseHook
from box_sdk_gen import (
    AddShareLinkToFolderSharedLink,
    AddShareLinkToFolderSharedLinkAccessField,
    BaseUrls,
    BoxAPIError,
    BoxCCGAuth,
    BoxClient,
    BoxJWTAuth,
    BoxNetworkClient,
    BoxSDKError,
    CCGConfig,
    CreateFolderParent,
    JWTConfig,
    NetworkSession,
    TimeoutConfig,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
    UploadPart,
)
from box_sdk_gen.internal.utils import PrivateKeyDecryptor

from ferrero_provider.box.exceptions import (
    BoxAuthError,
    BoxConfigError,
    BoxConflictError,
    BoxError,
    BoxIntegrityError,
    BoxNotFoundError,
    BoxServerError,
    BoxTransportError,
    api_error,
    download_error,
)
from ferrero_provider.box.models import BoxFile, BoxFileVersion, BoxItem, CampaignFolders, UploadedFile
from ferrero_provider.box.retry import PolicyRetryStrategy
from ferrero_provider.common.configured import ConfiguredHookMixin
from ferrero_provider.common.messages import one_line, scrub
from ferrero_provider.common.streams import (
    DownloadedFile,
    IncompleteTransferError,
    MemoryStream,
    TransferAdapter,
    file_sha1,
    response_to_file,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

    from ferrero_provider.common.retry import RetryPolicy

AUTH_MODES = ("jwt", "ccg")
DEFAULT_BASE_URL = "https://api.box.com"
DEFAULT_UPLOAD_URL = "https://upload.box.com/api"
DEFAULT_OAUTH_URL = "https://account.box.com/api/oauth2"
FILE_FIELDS = ["id", "type", "name", "size", "sha1", "parent", "file_version", "etag", "path_collection"]
ITEM_FIELDS = ["id", "type", "name", "size", "sha1"]
PAGE_LIMIT = 1000
#: Memory a chunked upload may hold in part buffers (the parts in flight plus the one being read).
UPLOAD_BUFFER_BUDGET = 48 * 1024 * 1024
#: Extra polls of a chunked-upload commit that Box keeps answering 202 (still assembling the file).
COMMIT_POLLS = 30


class _KeyDecryptor(PrivateKeyDecryptor):
    """Loads the JWT private key whether or not it is encrypted (the SDK's default needs an encrypted key)."""

    def decrypt_private_key(self, encryptedPrivateKey: str, passphrase: str) -> Any:  # noqa: N803 - SDK's name
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        pem = encryptedPrivateKey.encode()
        password = passphrase.encode() if passphrase else None
        try:
            return load_pem_private_key(pem, password=password)
        except TypeError:  # a passphrase for an unencrypted key (or none for an encrypted one)
            return load_pem_private_key(pem, password=None)


@dataclass(frozen=True)
class _ConnSettings:
    auth_mode: str
    client_id: str
    client_secret: str
    enterprise_id: str | None
    user_id: str | None
    jwt_key_id: str | None
    jwt_private_key: str | None
    jwt_private_key_passphrase: str | None
    base_url: str
    upload_url: str
    oauth_url: str

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.client_secret, self.jwt_private_key, self.jwt_private_key_passphrase)

    @property
    def subject(self) -> str:
        return f"user {self.user_id}" if self.user_id else f"enterprise {self.enterprise_id}"


def _clean_url(value: Any, default: str) -> str:
    return str(value).strip().rstrip("/") if value and str(value).strip() else default


def box_item_name(name: str) -> str:
    """A name Box accepts: no slashes, no leading/trailing spaces, at most 255 bytes."""
    cleaned = " ".join(name.replace("/", "-").replace("\\", "-").split())
    while len(cleaned.encode("utf-8")) > 255:
        cleaned = cleaned[:-1]
    return cleaned.rstrip() or "_"


def _retryable(exc: BaseException) -> bool:
    """Worth another attempt: transient, and not already retried by the SDK's own strategy."""
    return isinstance(exc, BoxError) and exc.retryable and not getattr(exc, "final", False)


class BoxHook(ConfiguredHookMixin, BaseHook):
    """Box folders, uploads (direct or chunked, idempotent by name and SHA-1), downloads, listings, shared links.

    :param box_conn_id: the Airflow connection (type ``box``).
    :param retry: a whole :class:`RetryPolicy`; otherwise the config's ``retry`` section, with ``max_attempts``,
        ``initial_delay_seconds``, ``max_delay_seconds``, ``timeout_seconds`` overriding single values.
    :param chunked_upload_threshold_mb: files above this many MiB are uploaded in chunks
        (default ``box.chunked_upload_threshold_mb``).
    :param upload_workers: parts of a chunked upload sent in parallel at most (memory: one part, 8 MiB on Box,
        each); fewer when Box dictates parts so large that they would not fit in ``UPLOAD_BUFFER_BUDGET``.
    """

    conn_name_attr = "box_conn_id"
    default_conn_name = "box_default"
    conn_type = "box"
    hook_name = "Box"

    def __init__(
        self,
        box_conn_id: str = default_conn_name,
        *,
        retry: RetryPolicy | None = None,
        max_attempts: int | None = None,
        initial_delay_seconds: float | None = None,
        max_delay_seconds: float | None = None,
        timeout_seconds: float | None = None,
        chunked_upload_threshold_mb: float | None = None,
        masters_folder_name: str | None = None,
        derivatives_folder_name: str | None = None,
        root_folder_id: str | None = None,
        upload_workers: int = 3,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.box_conn_id = box_conn_id
        self._init_configuration(config, retry, max_attempts=max_attempts,
                                 initial_delay_seconds=initial_delay_seconds, max_delay_seconds=max_delay_seconds,
                                 request_timeout_seconds=timeout_seconds)
        self._overrides = {
            "chunked_upload_threshold_mb": chunked_upload_threshold_mb,
            "masters_folder_name": masters_folder_name,
            "derivatives_folder_name": derivatives_folder_name,
            "root_folder_id": root_folder_id,
        }
        self.upload_workers = max(1, int(upload_workers))
        self._client: BoxClient | None = None
        self._http: requests.Session | None = None
        self._lock = threading.Lock()

    # ---- settings ---------------------------------------------------------------------------------------------

    @cached_property
    def retry_policy(self) -> RetryPolicy:
        return self._configured_retry_policy()

    def _box_setting(self, key: str, default: Any) -> Any:
        if self._overrides.get(key) is not None:
            return self._overrides[key]
        return (self._load_config().get("box") or {}).get(key, default)

    @property
    def chunked_threshold_bytes(self) -> int:
        """Files larger than this go through an upload session; up to it, one direct upload."""
        return int(float(self._box_setting("chunked_upload_threshold_mb", 50)) * 1024 * 1024)

    @cached_property
    def conn_settings(self) -> _ConnSettings:
        """The connection, checked: fails fast naming the missing or malformed field."""
        conn = self.get_connection(self.box_conn_id)
        extra = conn.extra_dejson or {}
        where = f"Airflow connection '{self.box_conn_id}'"

        def text(key: str) -> str | None:
            value = extra.get(key)
            return str(value).strip() if value not in (None, "") else None

        app: dict[str, Any] = {}
        raw_config = extra.get("jwt_config_json")
        if raw_config:
            try:
                parsed = raw_config if isinstance(raw_config, dict) else json.loads(raw_config)
                settings = parsed["boxAppSettings"]
                auth = settings.get("appAuth") or {}
                app = {"client_id": settings.get("clientID"), "client_secret": settings.get("clientSecret"),
                       "jwt_key_id": auth.get("publicKeyID"), "jwt_private_key": auth.get("privateKey"),
                       "jwt_private_key_passphrase": auth.get("passphrase"),
                       "enterprise_id": parsed.get("enterpriseID"), "user_id": parsed.get("userID")}
            except (ValueError, KeyError, TypeError, AttributeError):
                raise BoxConfigError(f"{where} has a jwt_config_json that is not a Box app config.json "
                                     "(JSON with boxAppSettings).") from None
        mode = (text("auth_mode") or ("jwt" if raw_config or text("jwt_private_key") else "ccg")).lower()
        if mode not in AUTH_MODES:
            raise BoxConfigError(f"{where} has auth_mode {mode!r}; use jwt or ccg.")
        settings = _ConnSettings(
            auth_mode=mode,
            client_id=conn.login or app.get("client_id") or "",
            client_secret=conn.password or app.get("client_secret") or "",
            enterprise_id=text("enterprise_id") or (str(app["enterprise_id"]) if app.get("enterprise_id") else None),
            user_id=text("user_id") or (str(app["user_id"]) if app.get("user_id") else None),
            jwt_key_id=text("jwt_key_id") or app.get("jwt_key_id"),
            jwt_private_key=(extra.get("jwt_private_key") or app.get("jwt_private_key") or None),
            jwt_private_key_passphrase=(extra.get("jwt_private_key_passphrase")
                                        or app.get("jwt_private_key_passphrase") or None),
            base_url=_clean_url(extra.get("base_url"), DEFAULT_BASE_URL),
            upload_url=_clean_url(extra.get("upload_url"), DEFAULT_UPLOAD_URL),
            oauth_url=_clean_url(extra.get("oauth_url"), DEFAULT_OAUTH_URL),
        )
        missing = [label for label, value in (("a client id (login)", settings.client_id),
                                              ("a client secret (password)", settings.client_secret)) if not value]
        if mode == "jwt":
            missing += [label for label, value in (("jwt_key_id", settings.jwt_key_id),
                                                   ("jwt_private_key", settings.jwt_private_key)) if not value]
        if not (settings.enterprise_id or settings.user_id):
            missing.append("enterprise_id or user_id")
        if missing:
            raise BoxConfigError(f"{where} uses auth_mode {mode} but has no {', no '.join(missing)}.")
        for key in ("base_url", "upload_url", "oauth_url"):
            if not getattr(settings, key).startswith(("http://", "https://")):
                raise BoxConfigError(f"{where} has a {key} that is not an http(s) URL.")
        return settings

    # ---- client -------------------------------------------------------------------------------------------------

    def _auth(self) -> BoxCCGAuth | BoxJWTAuth:
        c = self.conn_settings
        enterprise = None if c.user_id else c.enterprise_id
        if c.auth_mode == "ccg":
            return BoxCCGAuth(config=CCGConfig(client_id=c.client_id, client_secret=c.client_secret,
                                               enterprise_id=enterprise, user_id=c.user_id))
        config = JWTConfig(
            client_id=c.client_id, client_secret=c.client_secret, jwt_key_id=str(c.jwt_key_id),
            private_key=str(c.jwt_private_key).replace("\\n", "\n"),
            private_key_passphrase=c.jwt_private_key_passphrase or "",
            enterprise_id=enterprise, user_id=c.user_id, private_key_decryptor=_KeyDecryptor(),
        )
        return BoxJWTAuth(config=config)

    def get_conn(self) -> BoxClient:
        """The SDK client (created on first use), pointed at the connection's base URLs."""
        with self._lock:
            if self._client is None:
                c = self.conn_settings
                policy = self.retry_policy
                self._http = requests.Session()
                adapter = TransferAdapter()
                self._http.mount("http://", adapter)
                self._http.mount("https://", adapter)
                session = NetworkSession(
                    base_urls=BaseUrls(base_url=c.base_url, upload_url=c.upload_url, oauth_2_url=c.oauth_url),
                    retry_strategy=PolicyRetryStrategy(policy),
                    timeout_config=TimeoutConfig(connection_timeout_ms=int(policy.timeout[0] * 1000),
                                                 read_timeout_ms=int(policy.timeout[1] * 1000)),
                    network_client=BoxNetworkClient(requests_session=self._http),
                )
                self._client = BoxClient(auth=self._auth(), network_session=session)
            return self._client

    # ---- the one call path --------------------------------------------------------------------------------------

    def _retrying(self, operation: str) -> tenacity.Retrying:
        policy = self.retry_policy

        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            return policy.wait_for(state.attempt_number, getattr(exc, "retry_after", None))

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            self.log.warning("Box: attempt %d of %d failed (%s); retrying", state.attempt_number,
                             policy.max_attempts, scrub(str(exc), self.conn_settings.secrets))

        return tenacity.Retrying(stop=tenacity.stop_after_attempt(policy.max_attempts), wait=wait,
                                 retry=tenacity.retry_if_exception(_retryable), before_sleep=before_sleep,
                                 reraise=True)

    def _call(self, operation: str, fn: Callable[[BoxClient], Any], *, retry_transport: bool = True) -> Any:
        """Run one SDK call. HTTP retries happen inside the SDK (the policy strategy); a body cut short while
        being read (raised past the SDK) is retried here. Every failure becomes a :class:`BoxError`."""
        client = self.get_conn()
        attempts = {"n": 0}

        def attempt() -> Any:
            attempts["n"] += 1
            try:
                return fn(client)
            except BoxAPIError as exc:
                error = api_error(operation, exc, self.retry_policy)
                if error.retryable:  # the SDK already retried it
                    error = error.reworded(f"{error}, after {self.retry_policy.max_attempts} attempts")
                    error.final = True  # type: ignore[attr-defined]
                raise error from None
            except BoxSDKError as exc:
                cause = exc.error if isinstance(getattr(exc, "error", None), BaseException) else None
                what = "no answer in time" if isinstance(cause, requests.Timeout) else (
                    f"connection failed ({type(cause).__name__})" if cause else one_line(exc.message))
                error = BoxTransportError(f"Box request failed while {operation}: {what}")
                error.final = cause is not None  # type: ignore[attr-defined]  # network errors: SDK retried them
                raise error from None
            except requests.RequestException as exc:
                raise BoxTransportError(f"Box request failed while {operation}: the answer was cut short "
                                        f"({type(exc).__name__})") from None

        def retry_if(exc: BaseException) -> bool:
            return retry_transport and isinstance(exc, BoxTransportError) and not getattr(exc, "final", False)

        policy = self.retry_policy
        try:
            return tenacity.Retrying(
                stop=tenacity.stop_after_attempt(policy.max_attempts),
                wait=lambda state: policy.backoff(state.attempt_number),
                retry=tenacity.retry_if_exception(retry_if), reraise=True,
            )(attempt)
        except BoxError as exc:
            message = str(exc).rstrip(".")
            if attempts["n"] > 1:
                message += f", after {attempts['n']} attempts"
            raise exc.reworded(scrub(message, self.conn_settings.secrets) + ".") from None

    # ---- folders ------------------------------------------------------------------------------------------------

    def ensure_folder(self, parent_folder_id: str, name: str) -> str:
        """The id of folder ``name`` in ``parent_folder_id``, created when missing (a 409 reuses the existing one)."""
        name = box_item_name(name)
        operation = f"creating folder {name!r} in folder {parent_folder_id}"
        try:
            folder = self._call(operation, lambda c: c.folders.create_folder(
                name, CreateFolderParent(id=str(parent_folder_id)), fields=["id", "name"]))
            self.log.info("Box: created folder %r (%s) in %s", name, folder.id, parent_folder_id)
            return str(folder.id)
        except BoxConflictError as exc:
            conflicts = exc.context_info.get("conflicts")
            existing = conflicts[0] if isinstance(conflicts, list) and conflicts else conflicts
            if isinstance(existing, dict) and existing.get("type", "folder") == "folder" and existing.get("id"):
                return str(existing["id"])
            for item in self.list_folder_items(parent_folder_id):
                if item.name.casefold() == name.casefold():
                    if item.item_type == "folder":
                        return item.item_id
                    raise BoxConflictError(f"Box folder {parent_folder_id} already has a {item.item_type} named "
                                           f"{item.name!r}, so folder {name!r} cannot be created there.") from None
            raise

    def ensure_campaign_folders(self, number: str, name: str, *, parent_folder_id: str | None = None) -> CampaignFolders:
        """``<number> <name>/Masters`` and ``/Derivatives`` under the root folder (or ``parent_folder_id``)."""
        parent = str(parent_folder_id or self._box_setting("root_folder_id", "0"))
        campaign_name = box_item_name(f"{number} {name}".strip())
        campaign_id = self.ensure_folder(parent, campaign_name)
        masters = self.ensure_folder(campaign_id, str(self._box_setting("masters_folder_name", "Masters")))
        derivatives = self.ensure_folder(campaign_id, str(self._box_setting("derivatives_folder_name", "Derivatives")))
        return CampaignFolders(campaign_id, campaign_name, masters, derivatives)

    def list_folder_items(self, folder_id: str) -> list[BoxItem]:
        """Every item of a folder (all pages, marker paging)."""
        items: list[BoxItem] = []
        marker: str | None = None
        while True:
            page = self._call(f"listing folder {folder_id}", lambda c, m=marker: c.folders.get_folder_items(
                str(folder_id), fields=ITEM_FIELDS, usemarker=True, marker=m, limit=PAGE_LIMIT))
            items.extend(BoxItem.from_sdk(entry) for entry in page.entries or [])
            marker = page.next_marker
            if not marker or not page.entries:
                return items

    def get_folder_shared_link(self, folder_id: str, *, access: str = "open") -> str:
        """The folder's shared link URL (for the email), created with ``access`` when it has none."""
        folder = self._call(f"reading the shared link of folder {folder_id}",
                            lambda c: c.folders.get_folder_by_id(str(folder_id), fields=["id", "shared_link"]))
        link = getattr(folder, "shared_link", None)
        if link is not None and getattr(link, "url", None):
            return str(link.url)
        shared = AddShareLinkToFolderSharedLink(access=AddShareLinkToFolderSharedLinkAccessField(access))
        folder = self._call(f"creating a shared link for folder {folder_id}",
                            lambda c: c.shared_links_folders.add_share_link_to_folder(
                                str(folder_id), "shared_link", shared_link=shared))
        return str(folder.shared_link.url)

    # ---- files --------------------------------------------------------------------------------------------------

    def get_file_info(self, file_id: str) -> BoxFile:
        """Name, size, SHA-1, parent folder and version of a file."""
        file = self._call(f"reading file {file_id}", lambda c: c.files.get_file_by_id(str(file_id), fields=FILE_FIELDS))
        return BoxFile.from_sdk(file)

    def file_versions(self, file_id: str) -> list[BoxFileVersion]:
        """Every version of a file, oldest first, the current one last (Box lists past versions only for
        premium accounts; without them the list is the current version alone)."""
        info = self.get_file_info(file_id)
        try:
            past = self._call(f"listing the versions of file {file_id}",
                              lambda c: c.file_versions.get_file_versions(str(file_id), limit=1000)).entries or []
        except (BoxAuthError, BoxNotFoundError) as exc:  # an account without version history
            self.log.info("Box: no version history for file %s (%s); using its current version", file_id, exc)
            past = []
        entries = sorted((e for e in past if str(e.id) != info.version_id),
                         key=lambda e: (str(getattr(e, "created_at", "") or ""), int(e.id) if str(e.id).isdigit() else 0))
        versions = [(str(e.id), getattr(e, "sha_1", None), getattr(e, "size", None),
                     str(getattr(e, "created_at", "") or "") or None) for e in entries]
        versions.append((str(info.version_id), info.sha1, info.size, None))
        return [BoxFileVersion(v, i, sha1, size, created) for i, (v, sha1, size, created) in enumerate(versions, 1)]

    def upload_file(self, folder_id: str, path: str | os.PathLike[str], *, file_name: str | None = None) -> UploadedFile:
        """Upload a file into ``folder_id``: direct up to the threshold, chunked above; SHA-1 sent and checked.

        When a file of that name is already there: returned as is if its SHA-1 matches (``outcome='existing'``),
        otherwise the content is uploaded as a new version of it (``outcome='new_version'``).
        """
        path = Path(path)
        name = box_item_name(file_name or path.name)
        size = path.stat().st_size
        chunked = size > self.chunked_threshold_bytes
        operation = f"uploading {name!r} ({size} bytes) to folder {folder_id}"
        local_sha1: str | None = None
        try:
            if chunked:
                file, local_sha1 = self._upload_chunked(path, size, name, operation, folder_id=str(folder_id))
            else:
                local_sha1 = file_sha1(path)
                file = self._upload_direct(path, name, local_sha1, operation, folder_id=str(folder_id))
            outcome = "created"
        except BoxConflictError as exc:
            existing = exc.context_info.get("conflicts")
            existing = existing[0] if isinstance(existing, list) and existing else existing
            if not isinstance(existing, dict) or not existing.get("id") or existing.get("type") == "folder":
                raise
            local_sha1 = local_sha1 or file_sha1(path)
            if str(existing.get("sha1") or "").lower() == local_sha1:
                self.log.info("Box: %r already in folder %s with the same SHA-1 (file %s); not uploading again",
                              name, folder_id, existing["id"])
                return UploadedFile.of(self.get_file_info(str(existing["id"])), "existing", "none")
            self.log.info("Box: %r exists in folder %s with other content; uploading a new version of file %s",
                          name, folder_id, existing["id"])
            operation = f"uploading a new version of file {existing['id']} ({name!r}, {size} bytes)"
            if chunked:
                file, local_sha1 = self._upload_chunked(path, size, name, operation, file_id=str(existing["id"]))
            else:
                file = self._upload_direct(path, name, local_sha1, operation, file_id=str(existing["id"]))
            outcome = "new_version"
        result = BoxFile.from_sdk(file)
        if result.sha1 and result.sha1.lower() != local_sha1:
            raise BoxIntegrityError(f"Box stored {name!r} (file {result.file_id}) with SHA-1 {result.sha1}, but the "
                                    f"local file has {local_sha1}; the upload is corrupt.")
        if result.size is not None and result.size != size:
            raise BoxIntegrityError(f"Box stored {name!r} (file {result.file_id}) with {result.size} bytes, but the "
                                    f"local file has {size}; the upload is incomplete.")
        self.log.info("Box: %s %r as file %s (%d bytes, %s upload)", outcome.replace("_", " "), name,
                      result.file_id, size, "chunked" if chunked else "direct")
        return UploadedFile.of(result, outcome, "chunked" if chunked else "direct")

    def _upload_direct(self, path: Path, name: str, sha1: str, operation: str, *, folder_id: str | None = None,
                       file_id: str | None = None) -> Any:
        def send(client: BoxClient) -> Any:
            with path.open("rb") as stream:
                if file_id is not None:
                    return client.uploads.upload_file_version(
                        file_id, UploadFileVersionAttributes(name=name), stream, content_md_5=sha1).entries[0]
                attributes = UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=str(folder_id)))
                return client.uploads.upload_file(attributes, stream, file_file_name=name,
                                                  content_md_5=sha1).entries[0]

        return self._call(operation, send)

    def parts_in_flight(self, part_size: int) -> int:
        """Parts a chunked upload sends at once, for the part size Box dictates: ``upload_workers`` while their
        buffers (plus the one being read) fit in ``UPLOAD_BUFFER_BUDGET``; one at a time for very large parts."""
        return max(1, min(self.upload_workers, UPLOAD_BUFFER_BUDGET // max(1, part_size) - 1))

    def _upload_chunked(self, path: Path, size: int, name: str, operation: str, *, folder_id: str | None = None,
                        file_id: str | None = None) -> tuple[Any, str]:
        """Upload session → parts (each with its SHA-1 digest, checked) → commit with the whole file's SHA-1,
        computed while reading. Memory: the parts in flight, in reused buffers. The session is aborted when anything
        fails."""
        if file_id is not None:
            session = self._call(operation, lambda c: c.chunked_uploads.create_file_upload_session_for_existing_file(
                file_id, size, file_name=name))
        else:
            session = self._call(operation, lambda c: c.chunked_uploads.create_file_upload_session(
                str(folder_id), size, name))
        endpoints = session.session_endpoints
        part_size = int(session.part_size)
        workers = self.parts_in_flight(part_size)
        whole = hashlib.sha1()  # noqa: S324 - Box's content digest
        parts: list[UploadPart] = []
        in_flight: list[tuple[Future[UploadPart], bytearray]] = []
        free: list[bytearray] = []  # part buffers, reused: no allocation per part

        def send_part(data: memoryview, start: int) -> UploadPart:
            digest = hashlib.sha1(data).digest()  # noqa: S324
            end = start + len(data) - 1
            uploaded = self._call(
                f"{operation}: part at byte {start}",
                lambda c: c.chunked_uploads.upload_file_part_by_url(
                    endpoints.upload_part, MemoryStream(data), "sha=" + base64.b64encode(digest).decode(),
                    f"bytes {start}-{end}/{size}"),
            )
            part = uploaded.part
            if part is None or (part.sha_1 and part.sha_1.lower() != digest.hex()) or part.size != len(data):
                raise BoxIntegrityError(f"Box acknowledged the part at byte {start} of {name!r} with another size "
                                        "or SHA-1 than was sent.")
            return UploadPart(part_id=part.part_id, offset=part.offset, size=part.size, sha_1=part.sha_1)

        def collect_oldest() -> None:
            future, buffer = in_flight.pop(0)
            parts.append(future.result())
            free.append(buffer)

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="box-part")
        try:
            # The whole file's SHA-1 is computed here, in order, while reading; each part's own SHA-1 in the
            # thread that sends it.
            with path.open("rb", buffering=0) as stream:
                offset = 0
                while offset < size:
                    if len(in_flight) >= workers:
                        collect_oldest()
                    buffer = free.pop() if free else bytearray(part_size)
                    view = memoryview(buffer)[: min(part_size, size - offset)]
                    filled = 0
                    while filled < len(view):
                        n = stream.readinto(view[filled:])
                        if not n:
                            raise BoxIntegrityError(f"{path} became shorter while uploading it to Box "
                                                    f"({offset + filled} of {size} bytes read).")
                        filled += n
                    whole.update(view)
                    in_flight.append((pool.submit(send_part, view, offset), buffer))
                    offset += len(view)
            while in_flight:
                collect_oldest()
            parts.sort(key=lambda p: p.offset or 0)
            sha1 = whole.hexdigest()
            digest_header = "sha=" + base64.b64encode(whole.digest()).decode()
            for poll in range(COMMIT_POLLS + 1):
                files = self._call(f"{operation}: commit", lambda c: c.chunked_uploads.create_file_upload_session_commit_by_url(
                    endpoints.commit, parts, digest_header))
                if files is not None and files.entries:
                    return files.entries[0], sha1
                time.sleep(min(self.retry_policy.backoff(poll + 1) or 0.2, 5.0))
            raise BoxServerError(f"Box request failed while {operation}: the upload session was not committed "
                                 "(Box kept answering 202).")
        except BaseException:
            for future, _buffer in in_flight:
                future.cancel()
            pool.shutdown(wait=True)
            try:
                self._call(f"aborting the upload session of {name!r}",
                           lambda c: c.chunked_uploads.delete_file_upload_session_by_url(endpoints.abort),
                           retry_transport=False)
            except BoxError as exc:
                self.log.warning("Box: could not abort the upload session of %r: %s", name, exc)
            raise
        finally:
            pool.shutdown(wait=True)

    def download_file(self, file_id: str, target: str | os.PathLike[str], *, version_id: str | None = None,
                      sha1: str | None = None, size: int | None = None) -> DownloadedFile:
        """Stream a file (its current version, or ``version_id`` whose ``sha1`` and ``size`` are then checked) to
        ``target``; size checked against ``Content-Length`` and Box's size, SHA-1 against Box's.

        The download URL comes from the SDK (the API answers with a redirect to a self-authorizing URL); the bytes
        are then streamed with the hook's own session. A body cut short is downloaded again, whole.
        """
        info = self.get_file_info(file_id)
        if version_id is not None and version_id != info.version_id:
            info = replace(info, version_id=version_id, sha1=sha1, size=size)
        operation = f"downloading file {file_id} ({info.name!r}" + (f", version {version_id})" if version_id else ")")
        policy = self.retry_policy
        self.get_conn()
        http = self._http
        assert http is not None

        def attempt() -> DownloadedFile:
            url = self._call(operation, lambda c: c.downloads.get_download_file_url(
                str(file_id), version=version_id))
            try:
                with http.get(url, stream=True, timeout=policy.timeout,
                              headers={"Accept-Encoding": "identity"}) as response:
                    if response.status_code >= 400:
                        raise download_error(operation, response, policy)
                    result = response_to_file(response, target, expected_size=info.size)
            except IncompleteTransferError as exc:
                raise BoxIntegrityError(f"Box request failed while {operation}: the body was cut short ({exc})") from None
            except requests.Timeout:
                raise BoxTransportError(f"Box request failed while {operation}: no answer in time") from None
            except requests.RequestException as exc:
                raise BoxTransportError(f"Box request failed while {operation}: the download broke off "
                                        f"({type(exc).__name__})") from None
            if info.sha1 and result.sha1 != info.sha1.lower():
                Path(result.path).unlink(missing_ok=True)
                raise BoxIntegrityError(f"Box request failed while {operation}: the SHA-1 of the bytes received "
                                        f"({result.sha1}) differs from Box's ({info.sha1})")
            return result

        attempts = {"n": 0}

        def counted() -> DownloadedFile:
            attempts["n"] += 1
            return attempt()

        try:
            result = self._retrying(operation)(counted)
        except BoxError as exc:
            message = str(exc).rstrip(".")
            if attempts["n"] > 1 and _retryable(exc):
                message += f", after {attempts['n']} attempts"
            raise exc.reworded(scrub(message, self.conn_settings.secrets) + ".") from None
        self.log.info("Box: downloaded file %s (%d bytes) to %s", file_id, result.size, result.path)
        return result

    # ---- connection test ------------------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and read the service account: (True, who) or (False, why not). Never raises."""
        try:
            c = self.conn_settings
            self._client = None
            me = self._call("reading the service account (users/me)", lambda client: client.users.get_user_me())
            return True, (f"Connected to Box at {c.base_url} as {getattr(me, 'name', None) or me.id} "
                          f"({getattr(me, 'login', '') or 'no login'}; {c.auth_mode} authentication, {c.subject}).")
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            secrets: tuple[str | None, ...] = ()
            try:
                secrets = self.conn_settings.secrets
            except Exception:  # noqa: BLE001, S110
                pass
            return False, scrub(one_line(str(exc), 500), secrets)
