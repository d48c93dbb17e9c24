"""Box API calls per reconciliation of A2 -> A3 with Box: before (the hourly sweep of main: every campaign's
Derivatives folder listed, then one ``GET /files/{id}`` per file), the folder-listing fallback (listings that
carry each file's version) and the event stream (``GET /events`` from the kept position), as derivatives
accumulate.

    .venv/bin/python bench/box_reconcile_bench.py [--campaigns 100] [--sizes 100,500,1500] [--new 20]
                                                  [--before-campaigns 5]

Starts a sandbox (its own folder under ``.local/``) and an embedded PostgreSQL for the tracking database, makes
``--campaigns`` campaign folders (``Masters``, ``Derivatives``) under a root folder, and grows every
``Derivatives`` folder to each of ``--sizes`` files (written straight into the sandbox's store: their upload is
not what is measured). Before each measurement ``--new`` derivatives are uploaded through the API (they are the
stream's events of one five-minute cycle). Every Box call the product's client makes (``BoxApi``, the Box hook's
client, through its one call path) is counted; token requests are not. Run ids are treated as existing, so
nothing is started and each row measures only the finding. The sweep of main costs one call per file: with
``--before-campaigns`` below ``--campaigns`` it is run on that many campaigns and scaled (said in the row).
The floor: a reconciliation of the event stream when nothing happened.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]


class Counted:
    """The product's Box client with every call counted (by what it was doing)."""

    def __init__(self, api: Any) -> None:
        self.api, self.calls = api, Counter()
        translated = api.calls.translated

        def counted(operation: str, fn: Any) -> Any:
            self.calls[operation.split(" ")[0]] += 1
            return translated(operation, fn)

        api.calls.translated = counted

    def __getattr__(self, name: str) -> Any:
        return getattr(self.api, name)


class MainSweepBox(Counted):
    """main's sweep: its listings asked for no version, so it read each file (``get_file_info``)."""

    def __init__(self, api: Any) -> None:
        from dataclasses import replace

        super().__init__(api)
        listing = api.folders.list_folder_items
        api.folders.list_folder_items = lambda folder_id: [replace(i, version_id=None) for i in listing(folder_id)]


def _grow(store: Any, folders: list[int], target: int, owner: str) -> None:
    """Every Derivatives folder to ``target`` files, written straight into the sandbox's SQLite store."""
    from sandbox.box.store import now_iso

    stamp = now_iso()
    with store.transaction() as db:
        for folder in folders:
            have = db.execute("SELECT COUNT(*) AS n FROM items WHERE parent_id = ?", (folder,)).fetchone()["n"]
            for n in range(have, target):
                name = f"B{folder % 100000:05d}{n:05d}_Bench_File_image_IT_v01.png"
                cur = db.execute(
                    "INSERT INTO items (type, name, name_key, parent_id, owner_id, created_by, modified_by, created_at,"
                    " modified_at) VALUES ('file', ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, name.casefold(), folder, owner, owner, owner, stamp, stamp))
                version = db.execute(
                    "INSERT INTO versions (file_id, sha1, size, blob, created_by, created_at) VALUES (?, ?, 3, 'none',"
                    " ?, ?)", (cur.lastrowid, "0" * 40, owner, stamp))
                db.execute("UPDATE items SET version_id = ? WHERE id = ?", (version.lastrowid, cur.lastrowid))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--sizes", default="100,500,1500", help="derivatives per campaign, growing")
    parser.add_argument("--new", type=int, default=20, help="uploads between two reconciliations (stream events)")
    parser.add_argument("--before-campaigns", type=int, default=5,
                        help="campaigns main's sweep is run on (one call per file), scaled to --campaigns")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    from box_sdk_gen import CreateFolderParent, UploadFileAttributes, UploadFileAttributesParentField

    from ferrero_provider.box.client import BoxApi, BoxSettings
    from ferrero_provider.box.client.box_connection import DEFAULT_CONN_ID as BOX_CONN_ID
    from ferrero_provider.common.connection_fields import ConnectionFields, environment_variable
    from ferrero_provider.otmm.client import OtmmClient
    from ferrero_provider.otmm.dam_connection import DEFAULT_CONN_ID as DAM_CONN_ID
    from ferrero_provider.otmm.dam_connection import DamConnection
    from include.ferrero.config import clear_cache, load_settings
    from include.ferrero.db.tracking import TrackingDb
    from include.ferrero.steps.a2_to_a3 import sweep_derivatives
    from include.ferrero.steps.box_watch import reconcile_derivatives
    from include.ferrero.steps.ports import Ports
    from sandbox.box.client import ccg_client
    from sandbox.box.store import BoxStore
    from sandbox.connections import product_connections
    from sandbox.testing import start_sandbox
    from tools import localpg

    (ROOT / ".local").mkdir(exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="box-reconcile-bench-", dir=ROOT / ".local"))
    sandbox = start_sandbox(scratch / "sandbox")
    pgdata = scratch / "pgdata"
    try:
        socket = localpg.start(pgdata)
        localpg.ensure_database(localpg.dsn(socket, "postgres"), "tracking")
        db = TrackingDb.from_dsn(localpg.dsn(socket, "tracking"))
        db.migrate()
        settings = sandbox.settings
        service = ccg_client(settings, sandbox.endpoints)
        agency = ccg_client(settings, sandbox.endpoints, user_id=settings.box_agency_user_id)
        root = service.folders.create_folder(f"Ferrero-{uuid.uuid4().hex[:6]}", CreateFolderParent(id="0")).id
        derivatives = []
        for c in range(args.campaigns):
            campaign = service.folders.create_folder(f"CMP-2026-{c:03d} Bench", CreateFolderParent(id=root)).id
            service.folders.create_folder("Masters", CreateFolderParent(id=campaign))
            derivatives.append(service.folders.create_folder("Derivatives", CreateFolderParent(id=campaign)).id)
        os.environ["BOX_ROOT_FOLDER_ID"] = root
        clear_cache()
        config = load_settings()
        connections = product_connections(sandbox.data_dir)
        fields = ConnectionFields.from_value(BOX_CONN_ID, connections[environment_variable(BOX_CONN_ID)])
        dam = OtmmClient(DamConnection.from_connection(  # the steps' DAM: never called by a reconciliation
            ConnectionFields.from_value(DAM_CONN_ID, connections[environment_variable(DAM_CONN_ID)])))

        def client() -> BoxApi:
            return BoxApi.from_fields(fields, settings=BoxSettings(root_folder_id=root))

        def ports(box: Any) -> Ports:
            """What the steps take, with this (counted) Box client."""
            return Ports(dam=dam, box=box, db=db, config=config)

        def done(_run_id: str) -> str:
            return "success"

        store = BoxStore(settings.box_dir)
        stream = Counted(client())
        reconcile_derivatives(ports(stream), done)  # first one: folder listings, keeps the position
        rows = []
        print(f"{args.campaigns} campaigns; {args.new} new uploads between two reconciliations (the stream's events)")
        for size in sizes:
            _grow(store, [int(f) for f in derivatives], size, settings.box_agency_user_id)
            for n in range(args.new):  # a cycle's uploads, through the API: they are the stream's events
                data = f"{size}-{n}-{uuid.uuid4()}".encode()
                agency.uploads.upload_file(UploadFileAttributes(
                    name=f"N{n:05d}_{uuid.uuid4().hex[:6]}_Bench_New_image_IT_v01.png",
                    parent=UploadFileAttributesParentField(id=derivatives[n % len(derivatives)])), io.BytesIO(data))
            files = size * args.campaigns + args.new * (sizes.index(size) + 1)

            stream.calls.clear()
            started = time.monotonic()
            found = reconcile_derivatives(ports(stream), done)
            rows.append((files, "event stream (after)", sum(stream.calls.values()), time.monotonic() - started,
                         f"{found.events} events", dict(stream.calls)))
            stream.calls.clear()
            started = time.monotonic()
            idle = reconcile_derivatives(ports(stream), done)
            rows.append((files, "event stream, nothing new (floor)", sum(stream.calls.values()),
                         time.monotonic() - started, f"{idle.events} events", dict(stream.calls)))

            listing = Counted(client())
            started = time.monotonic()
            sweep_derivatives(ports(listing), done)
            rows.append((files, "folder listings (fallback)", sum(listing.calls.values()),
                         time.monotonic() - started, "", dict(listing.calls)))

            part = min(args.before_campaigns, args.campaigns)
            main_sweep = MainSweepBox(client())
            started = time.monotonic()
            for folder_id in derivatives[:part]:  # as main's sweep read one campaign: its listing, then each file
                parent = service.folders.get_folder_by_id(folder_id).parent.id
                _sweep_one(ports(main_sweep), done, parent)
            scale = args.campaigns / part
            calls = sum(main_sweep.calls.values()) * scale + 1  # + the root folder's listing
            note = f"measured on {part} campaigns, x{scale:g}" if part < args.campaigns else ""
            rows.append((files, "main's hourly sweep (before)", int(calls), (time.monotonic() - started) * scale,
                         note, {k: int(v * scale) for k, v in main_sweep.calls.items()}))
        print(f"\n{'derivatives in Box':>18}  {'reconciliation':<36} {'Box calls':>10} {'seconds':>8}  notes")
        for files, how, calls, seconds, note, by_kind in rows:
            print(f"{files:>18,}  {how:<36} {calls:>10,} {seconds:>8.2f}  {note} {by_kind}")
        db.close()
    finally:
        sandbox.stop()
        localpg.stop(pgdata)
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _sweep_one(ports: Any, run_state: Any, campaign_folder_id: str) -> None:
    """main's sweep of one campaign folder (its ``_campaign_folders`` is given this one folder)."""
    from unittest import mock

    from include.ferrero.steps import a2_to_a3

    with mock.patch.object(a2_to_a3, "_campaign_folders", lambda *_: [campaign_folder_id]):
        a2_to_a3.sweep_derivatives(ports, run_state)


if __name__ == "__main__":
    sys.exit(main())
