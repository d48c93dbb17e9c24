"""The report of ``make verify``: one row per assumption, printed as a table and written as JSON."""

from __future__ import annotations

import json
import textwrap
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class Finding:
    """One assumption, what the server did, and whether it matches the default (OK) or DIFFERS.

    ``variant`` names the sandbox behaviour variant the server matches when it differs; ``setting`` is what to
    set (or do) about it; ``note`` anything else worth knowing."""

    area: str
    assumption: str
    observed: str
    ok: bool
    variant: str = ""
    setting: str = ""
    note: str = ""

    @property
    def verdict(self) -> str:
        return "OK" if self.ok else "DIFFERS"


def variants_of(findings: list[Finding]) -> list[str]:
    """The sandbox variants the findings name, in order, once each."""
    return list(dict.fromkeys(f.variant for f in findings if f.variant))


def table(findings: list[Finding], width: int = 110) -> str:
    """The findings as a plain-text table: assumption | what the server did | OK/DIFFERS (variant, setting)."""
    lines = [f"{'area':<12} {'verdict':<8} assumption / what the server did", "-" * width]
    for f in findings:
        lines.append(f"{f.area:<12} {f.verdict:<8} {f.assumption}")
        for label, text in (("did", f.observed), ("variant", f.variant), ("setting", f.setting), ("note", f.note)):
            if text:
                lines += textwrap.wrap(f"{label}: {text}", width - 22, initial_indent=" " * 22,
                                       subsequent_indent=" " * 24)
    differs = [f for f in findings if not f.ok]
    lines.append("-" * width)
    variants = variants_of(findings)
    lines.append(f"{len(findings) - len(differs)} OK, {len(differs)} DIFFERS"
                 + (f"; matching sandbox: SANDBOX_OTMM_VARIANTS={','.join(variants)}" if variants else ""))
    return "\n".join(lines)


def write_json(findings: list[Finding], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"ok": all(f.ok for f in findings), "variants": variants_of(findings),
            "findings": [{**asdict(f), "verdict": f.verdict} for f in findings]}
    path.write_text(json.dumps(body, indent=2) + "\n")
