"""What the steps work with, as one object (:class:`Ports`): the DAM and Box, the tracking database and the
config. The DAM and Box are typed by exactly the managers and methods the steps call, as the provider's clients
(``OtmmClient``, ``BoxApi``: what ``OtmmHook`` and ``BoxHook`` hand out as ``client``) define them. The clients
satisfy these structurally (mypy checks it where ``runtime.Services`` builds the ports); tests may pass any fake
that does.

The provider's model dataclasses are imported for type checking only: the domain does not import the hooks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence

    from ferrero_provider.box.models import (
        BoxFile,
        BoxFileVersion,
        BoxItem,
        CampaignFolders,
        EventsPage,
        UploadedFile,
        WebhookCheck,
    )
    from ferrero_provider.common.streams import DownloadedFile
    from ferrero_provider.otmm.client.transport import JsonObject
    from ferrero_provider.otmm.client.versions import CheckIn
    from ferrero_provider.otmm.models import Campaign, DamFolder, MasterAsset
    from include.ferrero.config_model import Config
    from include.ferrero.db.tracking import TrackingDb


class HasAsDict(Protocol):
    """A hook's result dataclass: its fields as a plain dict (for XCom and the tracking DB)."""

    def as_dict(self) -> Mapping[str, object]: ...


class DamFolders(Protocol):
    """Campaign folders, their masters and their status (``OtmmClient.folders``)."""

    def search_campaigns(self, status: str) -> list[Campaign]: ...

    def get_campaign(self, campaign_id: str) -> Campaign: ...

    def list_master_assets(self, campaign_id: str) -> list[MasterAsset]: ...

    def find_final_assets_folder(self, campaign_id: str) -> DamFolder: ...

    def set_campaign_status(self, campaign_id: str, status: str) -> bool: ...


class DamAssets(Protocol):
    """Assets: read, download, create (``OtmmClient.assets``)."""

    def get_asset(self, asset_id: str) -> MasterAsset: ...

    def download_original(self, asset_id: str, target: str | os.PathLike[str], *,
                          expected_size: int | None = None) -> DownloadedFile: ...

    def create_asset(self, folder_id: str, path: str | os.PathLike[str], asset_representation: JsonObject | str,
                     *, file_name: str | None = None, mime_type: str | None = None) -> str: ...


class DamVersions(Protocol):
    """New versions of an asset (``OtmmClient.versions``)."""

    def check_in_new_version(self, asset_id: str, path: str | os.PathLike[str], *, file_name: str | None = None,
                             mime_type: str | None = None, metadata: list[JsonObject] | None = None) -> CheckIn: ...


class DamLookupDomains(Protocol):
    """Lookup domains (``OtmmClient.lookup_domains``)."""

    def get_lookup_domain(self, domain_id: str) -> dict[str, str]: ...


class Dam(Protocol):
    """The DAM (OTMM) as the steps use it: the provider's ``OtmmClient`` (``OtmmHook(...).client``)."""

    @property
    def folders(self) -> DamFolders: ...

    @property
    def assets(self) -> DamAssets: ...

    @property
    def versions(self) -> DamVersions: ...

    @property
    def lookup_domains(self) -> DamLookupDomains: ...


class BoxFolders(Protocol):
    """Box folders (``BoxApi.folders``)."""

    def ensure_campaign_folders(self, number: str, name: str, *,
                                parent_folder_id: str | None = None) -> CampaignFolders: ...

    def list_folder_items(self, folder_id: str) -> list[BoxItem]: ...


class BoxFiles(Protocol):
    """Box files and their versions (``BoxApi.files``)."""

    def get_file_info(self, file_id: str) -> BoxFile: ...

    def file_versions(self, file_id: str) -> list[BoxFileVersion]: ...


class BoxUploads(Protocol):
    """Uploads (``BoxApi.uploads``)."""

    def upload_file(self, folder_id: str, path: str | os.PathLike[str], *,
                    file_name: str | None = None) -> UploadedFile: ...


class BoxDownloads(Protocol):
    """Downloads (``BoxApi.downloads``)."""

    def download_file(self, file_id: str, target: str | os.PathLike[str], *, version_id: str | None = None,
                      sha1: str | None = None, size: int | None = None) -> DownloadedFile: ...


class BoxStorage(Protocol):
    """Box as the steps use it: the provider's ``BoxApi`` (``BoxHook(...).client``)."""

    @property
    def folders(self) -> BoxFolders: ...

    @property
    def files(self) -> BoxFiles: ...

    @property
    def uploads(self) -> BoxUploads: ...

    @property
    def downloads(self) -> BoxDownloads: ...


class BoxWatchApi(Protocol):
    """The webhook and the event stream (``BoxApi.watch``)."""

    def ensure_webhook(self, folder_id: str, address: str, triggers: Sequence[str]) -> WebhookCheck: ...

    def stream_position_now(self) -> str: ...

    def events_since(self, position: str) -> EventsPage: ...


class BoxWatch(BoxStorage, Protocol):
    """Box as the reconciliation uses it: the listings of the sweep, the webhook and the event stream."""

    @property
    def watch(self) -> BoxWatchApi: ...


@dataclass(frozen=True)
class Ports:
    """Everything a step works with, passed as one: the DAM, Box, the tracking database and the project's config.
    In a task, ``runtime.Services.ports`` (the hooks' clients); in a test, the sandbox's clients or fakes."""

    dam: Dam
    box: BoxWatch
    db: TrackingDb
    config: Config
