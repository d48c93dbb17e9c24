"""Lookup domains, cached in memory and in a file shared by task processes."""

from __future__ import annotations

import json
import os
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ferrero_provider.otmm.client.transport import DamTransport

# Lookup domains by (API base URL, domain id): (fetched at, {code: display value}); shared by a process.
_DOMAIN_CACHE: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}
_DOMAIN_LOCK = threading.Lock()


class LookupDomainsManager:
    """Lookup domains."""

    def __init__(self, transport: DamTransport) -> None:
        self.transport = transport

    def get_lookup_domain(self, domain_id: str) -> dict[str, str]:
        """The active values of a lookup domain, code -> display value (expired values left out).

        Cached for ``validate_domain_values.cache_ttl_hours`` in memory and in the cache file shared by tasks.
        """
        s = self.transport.settings
        key = (self.transport.connection.base_url, domain_id)
        now = time.time()
        with _DOMAIN_LOCK:
            cached = _DOMAIN_CACHE.get(key) or self._read_domain_file(key)
            if cached and now - cached[0] < s.domain_cache_ttl_seconds:
                _DOMAIN_CACHE[key] = cached
                return dict(cached[1])
        data = self.transport.request("GET", f"/lookupdomains/{domain_id}", f"reading lookup domain {domain_id}")
        domain = data.get("lookup_domain_resource", {}).get("lookup_domain") or {}
        values: dict[str, str] = {}
        for entry in domain.get("domainValues") or domain.get("domain_values") or []:
            if entry.get("expired_value"):
                continue
            code = (entry.get("field_value") or {}).get("value")
            if code is not None:
                values[str(code)] = str(entry.get("display_value") or code)
        with _DOMAIN_LOCK:
            _DOMAIN_CACHE[key] = (now, values)
            self._write_domain_file(key, now, values)
        return dict(values)

    def _read_domain_file(self, key: tuple[str, str]) -> tuple[float, dict[str, str]] | None:
        path = self.transport.settings.domain_cache_file
        if path is None or not path.is_file():
            return None
        try:
            entry = json.loads(path.read_text()).get(f"{key[0]} {key[1]}")
            return (float(entry["fetched_at"]), dict(entry["values"])) if entry else None
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _write_domain_file(self, key: tuple[str, str], fetched_at: float, values: dict[str, str]) -> None:
        path = self.transport.settings.domain_cache_file
        if path is None:
            return
        try:
            data = json.loads(path.read_text()) if path.is_file() else {}
        except (OSError, ValueError):
            data = {}
        data[f"{key[0]} {key[1]}"] = {"fetched_at": fetched_at, "values": values}
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
            os.replace(tmp, path)
        except OSError as exc:
            self.transport.log.warning("DAM: could not write the lookup-domain cache %s: %s", path, exc)

