"""``make verify``: check the configured DAM and Box against what the workflow assumes, before go-live.

    python -m tools.verify [--campaign ID] [--paging-folder ID] [--json PATH]   # read-only (the default)
    python -m tools.verify --write --dam-test-folder ID [--dam-status-folder ID] [--box-test-folder ID]

Read-only: each auth mode the DAM connection holds, a campaign search per status, one campaign folder's status
through every read path, masters with paging, the first bytes of a master, the lookup domains; on Box the token,
the service account, the root folder and the webhook list. ``--write`` touches only the folders given: it creates
an asset and checks in a new version of it, changes a test folder's status and reads it back (then restores it),
and uploads, downloads and deletes a Box file. Prints a table (assumption, what the server did, OK or DIFFERS with
the sandbox variant it matches and the setting to use) and writes the same as JSON (default
``.local/verify.json``). Connections come from ``AIRFLOW_CONN_OTMM_DEFAULT`` / ``AIRFLOW_CONN_BOX_DEFAULT``; when
neither is set, the local sandbox's. Exit status 0 when every row is OK or differs in a way the client handles
(it names a sandbox variant), 1 when a row blocks go-live, 2 (with one sentence) when the DAM or Box refuses the
login or cannot be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from ferrero_provider.common.connection_fields import environment_variable
from ferrero_provider.otmm.dam_connection import DEFAULT_CONN_ID as DAM_CONN_ID
from tools.verify_report import Finding, table, write_json

ROOT = Path(__file__).resolve().parents[1]


def _use_local_sandbox() -> str | None:
    """Point the connections at the local sandbox when none is configured; returns a note, or None."""
    if os.environ.get(environment_variable(DAM_CONN_ID)):
        return None
    data_dir = Path(os.environ.get("SANDBOX_DATA_DIR") or ROOT / ".local" / "sandbox")
    if not (data_dir / "endpoints.json").is_file():
        return None
    from sandbox.connections import product_connections

    for key, value in product_connections(data_dir).items():
        os.environ.setdefault(key, value)
    return f"no connection configured: checking the local sandbox in {data_dir}"


def reachable(*, skip_box: bool) -> str | None:
    """One sentence when the DAM (or Box) refuses the login or cannot be reached: nothing else is worth checking."""
    from ferrero_provider.box.hooks import BoxHook
    from ferrero_provider.otmm.hooks import OtmmHook

    for name, hook in (("DAM", OtmmHook), *(() if skip_box else (("Box", BoxHook),))):
        ok, detail = hook().test_connection()
        if not ok:
            return f"make verify: the {name} cannot be used, so nothing was checked: {detail}"
    return None


def run(args: argparse.Namespace) -> list[Finding]:
    from include.ferrero.config import load_settings
    from tools.verify_box import BoxVerifier
    from tools.verify_dam import DamVerifier

    dam = DamVerifier()
    dam.run_read_only(args.campaign, args.paging_folder)
    box = None if args.skip_box else BoxVerifier()
    if box is not None:
        box.run_read_only(args.box_root_folder or str(load_settings().box.root_folder_id))
    if args.write:
        with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
            if args.dam_test_folder:
                dam.run_writes(args.dam_test_folder, args.dam_status_folder, Path(tmp))
            if box is not None and args.box_test_folder:
                box.run_writes(args.box_test_folder, Path(tmp))
    return dam.findings + (box.findings if box is not None else [])


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="make verify", description=__doc__.split("\n\n")[0])
    p.add_argument("--campaign", help="DAM id of the campaign folder to read (default: the first one found)")
    p.add_argument("--paging-folder", help="DAM folder with over 50 children and 2+ subfolders, to check paging")
    p.add_argument("--write", action="store_true", help="also run the write checks in the test folders given")
    p.add_argument("--dam-test-folder", help="DAM folder where a test asset may be created and versioned")
    p.add_argument("--dam-status-folder", help="DAM test folder whose status may be changed (and restored)")
    p.add_argument("--box-test-folder", help="Box folder where a test file may be uploaded and deleted")
    p.add_argument("--box-root-folder", help="Box root folder to read (default: box.root_folder_id)")
    p.add_argument("--skip-box", action="store_true", help="check the DAM only")
    p.add_argument("--json", type=Path, default=ROOT / ".local" / "verify.json", help="where to write the JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.write and not (args.dam_test_folder or args.box_test_folder):
        parser().error("--write needs --dam-test-folder and/or --box-test-folder")
    note = _use_local_sandbox()
    if note:
        print(note)
    refused = reachable(skip_box=args.skip_box)
    if refused:
        print(refused, file=sys.stderr)
        return 2
    findings = run(args)
    print(table(findings))
    write_json(findings, args.json)
    print(f"written: {args.json}")
    return 0 if all(f.ok or f.variant for f in findings) else 1


if __name__ == "__main__":
    sys.exit(main())
