"""``BoxHook``: the Airflow face of the Box client (:mod:`ferrero_provider.box.client`, no Airflow in it).

Connection (type ``box``, default ``box_default``), parsed by :meth:`BoxConnection.from_connection`: login =
client id, password = client secret, extras ``auth_mode`` (``jwt`` | ``ccg``), ``enterprise_id``, ``user_id``,
``jwt_config_json`` (the Developer Console's config.json, replacing the key fields), ``jwt_key_id``,
``jwt_private_key`` (PEM, encrypted or not), ``jwt_private_key_passphrase``, ``base_url``, ``upload_url``,
``oauth_url`` (how a sandbox is reached), ``verify`` / ``cert`` / ``proxies``. Examples::

    AIRFLOW_CONN_BOX_DEFAULT='{"conn_type": "box", "login": "<client id>", "password": "<client secret>",
        "extra": {"auth_mode": "ccg", "enterprise_id": "123456"}}'
    AIRFLOW_CONN_BOX_DEFAULT='{"conn_type": "box", "extra": {"auth_mode": "jwt",
        "jwt_config_json": "{\\"boxAppSettings\\": {...}, \\"enterprise_id\\": \\"123456\\"}"}}'

The hook reads the connection, holds the client and delegates to it; configuration values (the retry policy,
the ``box`` settings) are given to the constructor, defaults otherwise (the UI's Test button passes none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import BaseHook

from ferrero_provider.box.client import BoxApi, BoxConnection, BoxSettings, box_item_name
from ferrero_provider.common.connection import ConnectionFields
from ferrero_provider.common.messages import failed_test

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence

    from box_sdk_gen import BoxClient

    from ferrero_provider.box.models import (
        BoxFile,
        BoxFileVersion,
        BoxItem,
        BoxWebhook,
        CampaignFolders,
        EventsPage,
        UploadedFile,
        WebhookCheck,
    )
    from ferrero_provider.common.retry import RetryPolicy
    from ferrero_provider.common.streams import DownloadedFile

__all__ = ["BoxHook", "box_item_name"]


class BoxHook(BaseHook):
    """Box folders, uploads (direct or chunked, idempotent by name and SHA-1), downloads, listings, shared links.

    :param box_conn_id: the Airflow connection (type ``box``).
    :param retry: the :class:`RetryPolicy` of every call (default: its defaults; the workflow gives the
        config's ``retry`` section).
    :param chunked_upload_threshold_mb: files above this many MiB are uploaded in chunks (default 50).
    :param upload_workers: parts of a chunked upload sent in parallel at most (memory: one part, 8 MiB on Box,
        each); fewer when Box dictates parts so large that they would not fit in ``UPLOAD_BUFFER_BUDGET``.
    """

    conn_name_attr = "box_conn_id"
    default_conn_name = "box_default"
    conn_type = "box"
    hook_name = "Box"
    #: The Airflow-free client every call is delegated to.
    client: BoxApi

    def __init__(
        self,
        box_conn_id: str = default_conn_name,
        *,
        chunked_upload_threshold_mb: float = 50,
        masters_folder_name: str = "Masters",
        derivatives_folder_name: str = "Derivatives",
        root_folder_id: str = "0",
        upload_workers: int = 3,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Nothing is read yet: the connection when first needed (the UI's Test button gives only its id)."""
        super().__init__()
        self.box_conn_id = box_conn_id
        settings = BoxSettings(chunked_upload_threshold_mb=chunked_upload_threshold_mb,
                               masters_folder_name=masters_folder_name, derivatives_folder_name=derivatives_folder_name,
                               root_folder_id=str(root_folder_id), upload_workers=upload_workers)
        self.client = BoxApi(self._read_connection, retry=retry, settings=settings)
        self.upload_workers = self.client.upload_workers
        self.chunked_threshold_bytes = self.client.chunked_threshold_bytes

    def _read_connection(self) -> BoxConnection:
        return BoxConnection.from_connection(ConnectionFields.from_airflow(self.get_connection(self.box_conn_id)))

    @property
    def conn_settings(self) -> BoxConnection:
        """The connection, checked: fails fast naming the missing or malformed field."""
        return self.client.connection

    def get_conn(self) -> BoxClient:
        """The SDK client (created on first use), pointed at the connection's base URLs."""
        return self.client.sdk()

    @property
    def retry_policy(self) -> RetryPolicy:
        return self.client.policy

    # ---- the workflow's calls, delegated ------------------------------------------------------------------------

    def ensure_folder(self, parent_folder_id: str, name: str) -> str:
        return self.client.ensure_folder(parent_folder_id, name)

    def ensure_campaign_folders(self, number: str, name: str, *, parent_folder_id: str | None = None) -> CampaignFolders:
        return self.client.ensure_campaign_folders(number, name, parent_folder_id=parent_folder_id)

    def list_folder_items(self, folder_id: str) -> list[BoxItem]:
        return self.client.list_folder_items(folder_id)

    def get_folder_shared_link(self, folder_id: str, *, access: str = "open") -> str:
        return self.client.get_folder_shared_link(folder_id, access=access)

    def get_file_info(self, file_id: str) -> BoxFile:
        return self.client.get_file_info(file_id)

    def file_versions(self, file_id: str) -> list[BoxFileVersion]:
        return self.client.file_versions(file_id)

    def upload_file(self, folder_id: str, path: str | os.PathLike[str], *, file_name: str | None = None) -> UploadedFile:
        return self.client.upload_file(folder_id, path, file_name=file_name)

    def parts_in_flight(self, part_size: int) -> int:
        return self.client.parts_in_flight(part_size)

    def download_file(self, file_id: str, target: str | os.PathLike[str], *, version_id: str | None = None,
                      sha1: str | None = None, size: int | None = None) -> DownloadedFile:
        return self.client.download_file(file_id, target, version_id=version_id, sha1=sha1, size=size)

    def list_webhooks(self) -> list[BoxWebhook]:
        return self.client.list_webhooks()

    def ensure_webhook(self, folder_id: str, address: str, triggers: Sequence[str]) -> WebhookCheck:
        return self.client.ensure_webhook(folder_id, address, triggers)

    def stream_position_now(self) -> str:
        return self.client.stream_position_now()

    def events_since(self, position: str) -> EventsPage:
        return self.client.events_since(position)

    # ---- connection test ------------------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Get a token and read the service account: (True, who) or (False, why not). Never raises."""
        try:
            c = self.conn_settings
            self.client.reset()
            me = self.client.whoami()
            return True, (f"Connected to Box at {c.base_url} as {getattr(me, 'name', None) or me.id} "
                          f"({getattr(me, 'login', '') or 'no login'}; {c.auth_mode} authentication, {c.subject}).")
        except Exception as exc:  # noqa: BLE001 - the Test button shows the reason instead of an error page
            return failed_test(exc, lambda: self.conn_settings.secrets)
