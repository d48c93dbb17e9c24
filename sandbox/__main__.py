"""``python -m sandbox serve|seed|reset|agency|endpoints``."""

from __future__ import annotations

import argparse
import json
import sys

from sandbox.settings import SandboxSettings


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="Local OTMM + Box + sinks sandbox.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run every server until SIGTERM/SIGINT")
    sub.add_parser("seed", help="build the demo DAM and the Box root folder (idempotent)")
    sub.add_parser("reset", help="wipe the data folder except credentials.json")
    sub.add_parser("endpoints", help="print endpoints.json of the running sandbox")
    sub.add_parser("agency", help="upload V2-named derivatives as an agency (see sandbox.box.agency)",
                   add_help=False)
    args, rest = parser.parse_known_args(argv)
    if args.command == "agency":
        from sandbox.box.agency import main as agency_main

        return agency_main(rest) or 0
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    settings = SandboxSettings.from_env()
    if args.command == "serve":
        from sandbox.server import serve

        serve(settings)
    elif args.command == "endpoints":
        if not settings.endpoints_path.exists():
            print("sandbox has not been started (no endpoints.json)", file=sys.stderr)
            return 1
        print(settings.endpoints_path.read_text())
    elif args.command == "seed":
        from sandbox.seed import seed

        print(json.dumps(seed(settings), indent=2))
    elif args.command == "reset":
        from sandbox.seed import reset, running_pid

        pid = running_pid(settings)
        if pid:
            print(f"the sandbox is running (pid {pid}); stop it before reset", file=sys.stderr)
            return 1
        reset(settings)
        print(f"reset {settings.data_dir} (credentials kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
