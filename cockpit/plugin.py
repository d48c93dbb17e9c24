"""Airflow plugin: the operator's Campaigns view in the UI's navigation, and the connection Test fix."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from cockpit.cockpit_app import URL_PREFIX, app
from cockpit.connection_test_fix import ConnectionTestPortFix


class CockpitPlugin(AirflowPlugin):
    name = "campaigns_cockpit"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Campaigns cockpit"}]
    # Shown inside the UI (an iframe at /plugin/campaigns) under Browse.
    external_views = [{"name": "Campaigns", "href": f"{URL_PREFIX}/campaigns", "url_route": "campaigns",
                       "destination": "nav", "category": "browse"}]
    fastapi_root_middlewares = [{"middleware": ConnectionTestPortFix, "args": [], "kwargs": {},
                                 "name": "Connection Test: port 0 means no port"}]
