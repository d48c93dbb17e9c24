"""Command line for administrators and agencies: check V2 names, preview a derivative's DAM metadata.

    python -m include.ferrero.cli check-name K7M2QX_Nutella_Breakfast-Moments_video_IT_v02.mp4 [more names...]
    python -m include.ferrero.cli preview --name <V2 name> --master-metadata master.json \\
        [--file derivative.mp4] [--domains domains.json] [--strict | --lenient] [--full]

`check-name` prints the parse as JSON (exit 0) or every problem, one per line (exit 1). `preview` prints what
the asset would get in the DAM, or the one-sentence reason it would be refused (exit 1). The master metadata
file is the master's metadata as the DAM returns it (`GET /assets/{id}?load_type=metadata`, or just its
`metadata` part); the domains file maps lookup domain ids to allowed codes, or is a saved `/lookupdomains` answer.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from include.ferrero.config import ConfigError, load_settings
from include.ferrero.naming import parse_filename
from include.ferrero.representation import RepresentationError, build_asset_representation, domains_from_otmm

if TYPE_CHECKING:
    from include.ferrero.config_model import Config
    from include.ferrero.media import MediaMetadata

EXIT_OK, EXIT_PROBLEM = 0, 1


def _read_json(path: str, what: str) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"The {what} file {path!r} does not exist.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"The {what} file {path!r} is not readable JSON ({exc}).") from None


def _check_name(args: argparse.Namespace, config: Config) -> int:
    status = EXIT_OK
    many = len(args.names) > 1
    for name in args.names:
        parsed = parse_filename(name, config.naming)
        if parsed.is_valid:
            print(json.dumps(parsed.to_dict(), indent=2, ensure_ascii=False))
        else:
            status = EXIT_PROBLEM
            for error in parsed.errors:
                print(f"{name}: {error}" if many else error)
    return status


def _preview(args: argparse.Namespace, config: Config) -> int:
    from include.ferrero.media import read_media_metadata  # pymediainfo loads only when needed

    master = _read_json(args.master_metadata, "master metadata")
    domains = domains_from_otmm(_read_json(args.domains, "domains")) if args.domains else None
    media: MediaMetadata = {}
    if args.file:
        if not Path(args.file).is_file():
            raise ValueError(f"The file {args.file!r} does not exist.")
        media = read_media_metadata(args.file)
    parsed = parse_filename(args.name, config.naming)
    result = build_asset_representation(
        master, parsed, media, config.field_mappings, domains, strict=args.strict
    )
    out = result.preview()
    out["media"] = media
    if args.full:
        out["representation"] = result.representation
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m include.ferrero.cli",
        description="Check V2 derivative names and preview the DAM metadata a derivative would get.",
    )
    parser.add_argument("--config-dir", help="configuration folder (default: the project's config/)")
    parser.add_argument("--env", help="environment overlay to use (default: $ENV or staging)")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check-name", help="check file names against the naming convention")
    check.add_argument("names", nargs="+", metavar="NAME", help="a file name as uploaded to Box")
    check.set_defaults(handler=_check_name)

    preview = sub.add_parser("preview", help="show the DAM metadata a derivative would get")
    preview.add_argument("--name", required=True, help="the derivative's file name as uploaded to Box")
    preview.add_argument("--master-metadata", required=True, metavar="JSON_FILE",
                         help="the master's metadata as the DAM returns it")
    preview.add_argument("--file", metavar="PATH", help="the derivative file, to read its media metadata")
    preview.add_argument("--domains", metavar="JSON_FILE",
                         help="lookup domains: {domain id: [codes]} or a saved /lookupdomains answer")
    mode = preview.add_mutually_exclusive_group()
    mode.add_argument("--strict", dest="strict", action="store_true", default=None,
                      help="refuse values outside their lookup domain (default: the config's strict_mode)")
    mode.add_argument("--lenient", dest="strict", action="store_false",
                      help="keep values outside their lookup domain, with a warning")
    preview.add_argument("--full", action="store_true", help="also print the create-asset JSON sent to the DAM")
    preview.set_defaults(handler=_preview)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_settings(args.config_dir, args.env)
        code: int = args.handler(args, config)
        return code
    except (ConfigError, RepresentationError, ValueError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_PROBLEM


if __name__ == "__main__":
    sys.exit(main())
