"""The Airflow-free DAM client (``otmm.client.OtmmClient``, the one the hook hands out) against the sandbox DAM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrero_provider.common.connection_fields import ConnectionFields
from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.otmm.client import OtmmClient
from ferrero_provider.otmm.client.settings import DamSettings
from ferrero_provider.otmm.dam_connection import DamConnection
from tests.plugins.conftest import NUMBER_FIELD, STATUS_FIELD, otmm_connection

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox
    from tests.plugins.conftest import DamData


def test_the_client_works_without_airflow_settings(sandbox: RunningSandbox, dam: DamData):
    conn = DamConnection.from_connection(ConnectionFields.from_value("otmm_default", otmm_connection(sandbox)))
    settings = DamSettings(timeout_seconds=30, job_timeout_seconds=30, job_poll_seconds=0.1, page_size=10,
                           status_field=STATUS_FIELD, number_field=NUMBER_FIELD, final_assets_folder_name="Final Assets",
                           domain_cache_ttl_seconds=0, domain_cache_file=None)
    client = OtmmClient(conn, settings=settings, retry=RetryPolicy(initial_delay_seconds=0))
    campaign_id = dam.campaign("Standalone", "A1", "CMP-S-001")

    assert client.folders.get_campaign(campaign_id).number == "CMP-S-001"
    assert client.folders.set_campaign_status(campaign_id, "A2") is True
    assert client.folders.get_campaign(campaign_id).status == "A2"
    assert client.folders.find_final_assets_folder(campaign_id).name == "Final Assets"
    client.close()
