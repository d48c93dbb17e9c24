"""The Airflow-free DAM client (``otmm.client.standalone.OtmmClient``) against the sandbox DAM."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ferrero_provider.common.retry import RetryPolicy
from ferrero_provider.otmm.client.settings import ConnSettings, DamSettings
from ferrero_provider.otmm.client.standalone import OtmmClient
from tests.plugins.conftest import NUMBER_FIELD, STATUS_FIELD

if TYPE_CHECKING:
    from sandbox.testing import RunningSandbox
    from tests.plugins.conftest import DamData


def test_the_client_works_without_airflow_settings(sandbox: RunningSandbox, dam: DamData):
    s = sandbox.settings
    conn = ConnSettings(base_url=sandbox.endpoints["otmm_base_url"], auth_mode="session", login=s.otmm_username,
                        password=s.otmm_password, client_id=None, client_secret=None, otds_token_url=None)
    settings = DamSettings(timeout_seconds=30, job_timeout_seconds=30, job_poll_seconds=0.1, page_size=10,
                           status_field=STATUS_FIELD, number_field=NUMBER_FIELD, final_assets_folder_name="Final Assets",
                           domain_cache_ttl_seconds=0, domain_cache_file=None)
    client = OtmmClient(conn, settings, RetryPolicy(initial_delay_seconds=0))
    campaign_id = dam.campaign("Standalone", "A1", "CMP-S-001")

    assert client.get_campaign(campaign_id).number == "CMP-S-001"
    assert client.set_campaign_status(campaign_id, "A2") is True
    assert client.get_campaign(campaign_id).status == "A2"
    assert client.find_final_assets_folder(campaign_id).name == "Final Assets"
    client.close()
