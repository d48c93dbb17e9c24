"""The Campaigns view: server-rendered pages (Jinja2, autoescaped) mounted on Airflow's api-server.

Pages need Airflow's own login (the UI's ``_token`` cookie or a Bearer token, checked by Airflow's
``get_user``) and the right to read the pipeline DAGs' runs; without a login the browser is sent to Airflow's
login page. Data comes read-only from the tracking database (``cockpit.queries``).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape

from cockpit.queries import CockpitDb

if TYPE_CHECKING:
    from airflow.api_fastapi.auth.managers.models.base_user import BaseUser

URL_PREFIX = "/cockpit"
PIPELINE_DAGS = ("a1_to_a2", "a2_to_a3")
DISPATCH_DAG = "outbox_dispatch"  # sends the outbox; with its params, it re-sends failed messages
TEMPLATES = Path(__file__).resolve().parent / "templates"

env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
env.filters["when"] = lambda v: v.strftime("%Y-%m-%d %H:%M:%S UTC") if v else ""
app = FastAPI(title="Campaigns cockpit", docs_url=None, redoc_url=None, openapi_url=None)


@functools.cache
def cockpit_db() -> CockpitDb:
    """The ``tracking_db`` connection, resolved once per api-server process (restart it after a change)."""
    return CockpitDb.from_airflow()


@functools.cache
def box_web_url() -> str:
    """The Box web app for file and folder links (config ``box.web_url``), read once per api-server process."""
    from include.ferrero.config import load_settings

    return load_settings().box.web_url


async def _airflow_user(request: Request) -> BaseUser:
    from airflow.api_fastapi.core_api.security import get_user

    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    bearer = None
    if scheme.lower() == "bearer" and token:
        from fastapi.security import HTTPAuthorizationCredentials

        bearer = HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)
    return await get_user(request, None, bearer)


async def reader(request: Request) -> BaseUser:
    """The logged-in Airflow user, allowed to read the pipeline DAGs' runs (else 401/403)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    user = await _airflow_user(request)
    manager = get_auth_manager()
    if not all(manager.is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN,
                                         details=DagDetails(id=dag_id), user=user) for dag_id in PIPELINE_DAGS):
        raise HTTPException(403, "You may not read the runs of the campaign pipelines.")
    return user


async def resender(request: Request) -> BaseUser:
    """The logged-in Airflow user, allowed to trigger runs of ``outbox_dispatch`` (a re-send is one), on a form
    sent from this very site (an ``Origin`` of another site is refused: no cross-site request forgery)."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "A re-send must be asked for from the Campaigns view itself.")
    user = await _airflow_user(request)
    if not get_auth_manager().is_authorized_dag(method="POST", access_entity=DagAccessEntity.RUN,
                                                details=DagDetails(id=DISPATCH_DAG), user=user):
        raise HTTPException(403, f"You may not trigger runs of {DISPATCH_DAG}, which re-sends messages.")
    return user


@app.exception_handler(HTTPException)
async def _login_or_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code == 401 and "text/html" in request.headers.get("accept", ""):
        from airflow.api_fastapi.app import get_auth_manager

        login = get_auth_manager().get_url_login()
        return RedirectResponse(f"{login}?next={quote(str(request.url), safe='')}", status_code=303)
    return HTMLResponse(f"<p>{exc.status_code}: {escape(str(exc.detail))}</p>", status_code=exc.status_code)


def airflow_root(request: Request) -> str:
    """Airflow's base path (the mount's root path without this app's prefix)."""
    root = request.scope.get("root_path", "")
    return root[: -len(URL_PREFIX)] if root.endswith(URL_PREFIX) else root


def render_overview(page: dict[str, Any], links: TaskLinks, resend_run: str | None = None) -> str:
    return env.get_template("overview.html").render(root=links.root, links=links, resend_run=resend_run, **page)


def render_campaign(page: dict[str, Any], links: TaskLinks, resend_run: str | None = None,
                    resend_paused: bool = False) -> str:
    return env.get_template("campaign.html").render(root=links.root, links=links, resend_run=resend_run,
                                                    resend_paused=resend_paused, box=box_web_url(), **page)


def render_floor(db: CockpitDb) -> str:
    """A trivial page through the same path (DB round trip + template): the floor for the page timings."""
    return env.from_string("<p>{{ one }}</p>").render(one=db.ping())


class TaskLinks:
    """Links into Airflow's UI for a run and, when known, its failed task instance's log."""

    def __init__(self, root: str, failed_tis: dict[str, list[dict[str, Any]]] | None) -> None:
        self.root, self.failed = root, failed_tis or {}

    def run(self, dag_id: str, run_id: str) -> str:
        return f"{self.root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"

    def log(self, dag_id: str, run_id: str, label: str | None = None) -> str | None:
        """The failed task instance of ``run_id`` (the mapped one named ``label`` when given), else None."""
        for ti in self.failed.get(run_id, []):
            if label is None or ti["rendered_map_index"] == label:
                task = f"{self.run(dag_id, run_id)}/tasks/{quote(ti['task_id'], safe='')}"
                return f"{task}/mapped/{ti['map_index']}" if ti["map_index"] >= 0 else task
        return None


def failed_task_instances(run_ids: set[str]) -> dict[str, list[dict[str, Any]]]:
    """Failed task instances of the pipeline DAGs' runs ``run_ids``, from Airflow's metadata DB (one query)."""
    if not run_ids:
        return {}
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    found: dict[str, list[dict[str, Any]]] = {}
    # rendered_map_index is a hybrid property (a column in a query) that mypy sees as a plain method
    query = select(TaskInstance.run_id, TaskInstance.task_id, TaskInstance.map_index,  # type: ignore[call-overload]
                   TaskInstance.rendered_map_index).where(
        TaskInstance.dag_id.in_(PIPELINE_DAGS), TaskInstance.run_id.in_(run_ids), TaskInstance.state == "failed")
    with create_session() as session:
        for run_id, task_id, map_index, label in session.execute(query):
            found.setdefault(run_id, []).append(
                {"task_id": task_id, "map_index": map_index, "rendered_map_index": label})
    return found


@app.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(request: Request, user: BaseUser = Depends(reader)) -> HTMLResponse:  # noqa: B008
    page = cockpit_db().overview()
    runs = {f["dag_run_id"] for f in page["unattributed_failures"] if f["dag_run_id"]}
    return HTMLResponse(render_overview(page, TaskLinks(airflow_root(request), failed_task_instances(runs)),
                                        request.query_params.get("resend_run")))


@app.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(campaign_id: str, request: Request, user: BaseUser = Depends(reader)) -> HTMLResponse:  # noqa: B008
    db = cockpit_db()
    page = db.campaign(campaign_id)
    if page is None:
        raise HTTPException(404, f"No campaign {campaign_id} in the tracking database.")
    runs = {m["transfer_run"] for m in page["failed_masters"]} | {f["dag_run_id"] for f in page["failures"]}
    links = TaskLinks(airflow_root(request), failed_task_instances({r for r in runs if r}))
    resend_run = request.query_params.get("resend_run")
    return HTMLResponse(render_campaign(page, links, resend_run, bool(resend_run) and dispatch_paused()))


def dispatch_paused() -> bool:
    from airflow.models.dag import DagModel

    model = DagModel.get_current(DISPATCH_DAG)
    return model is None or bool(model.is_paused)


def trigger_resend(user: BaseUser, label: str, conf: dict[str, Any]) -> str:
    """Start an ``outbox_dispatch`` run that re-sends ``conf``'s failed messages; its run id."""
    from datetime import datetime, timezone

    from airflow.api.common.trigger_dag import trigger_dag
    from airflow.utils.types import DagRunTriggeredByType

    run_id = f"resend__{label}__{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}"
    trigger_dag(DISPATCH_DAG, triggered_by=DagRunTriggeredByType.UI, triggering_user_name=user.get_name(),
                run_id=run_id, conf=conf, note=f"Re-send asked for by {user.get_name()} in the Campaigns view")
    return run_id


@app.post("/campaigns/{campaign_id}/resend")
async def resend_campaign_messages(campaign_id: str, request: Request,
                                   user: BaseUser = Depends(resender)) -> RedirectResponse:  # noqa: B008
    """Re-send one failed message of the campaign (form field ``message_key``) or all of them (none given)."""
    from starlette.concurrency import run_in_threadpool

    keys = [str(k) for k in (await request.form()).getlist("message_key")]
    page = await run_in_threadpool(cockpit_db().campaign, campaign_id)
    if page is None:
        raise HTTPException(404, f"No campaign {campaign_id} in the tracking database.")
    failed = {o["message_key"] for o in page["outbox"] if o["status"] == "failed"}
    if keys and not set(keys) <= failed:
        raise HTTPException(409, "Only a failed message of this campaign can be re-sent; reload the page to see "
                                 "its state now.")
    if not failed:
        raise HTTPException(409, f"Campaign {campaign_id} has no failed message to re-send.")
    label = page["campaign"]["campaign_number"] or campaign_id
    conf: dict[str, Any] = {"message_keys": keys} if keys else {"campaign": campaign_id}
    run_id = await run_in_threadpool(trigger_resend, user, label, conf)
    target = f"{airflow_root(request)}{URL_PREFIX}/campaigns/{quote(campaign_id, safe='')}"
    return RedirectResponse(f"{target}?{urlencode({'resend_run': run_id})}#outbox", status_code=303)


@app.post("/messages/resend")
async def resend_messages(request: Request, user: BaseUser = Depends(resender)) -> RedirectResponse:  # noqa: B008
    """Re-send failed messages of no known campaign (form field ``message_key``, repeatable)."""
    from starlette.concurrency import run_in_threadpool

    keys = [str(k) for k in (await request.form()).getlist("message_key")]
    if not keys:
        raise HTTPException(400, "Name the message to re-send (form field message_key).")
    run_id = await run_in_threadpool(trigger_resend, user, "messages", {"message_keys": keys})
    return RedirectResponse(f"{airflow_root(request)}{URL_PREFIX}/campaigns?{urlencode({'resend_run': run_id})}",
                            status_code=303)
