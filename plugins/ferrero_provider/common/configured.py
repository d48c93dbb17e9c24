"""What both hooks do with the project's configuration: load it once, lazily (never at import), and build the
retry policy from its ``retry`` section with the values given to the hook's constructor taking precedence."""

from __future__ import annotations

from typing import Any

from ferrero_provider.common.retry import RetryPolicy


class ConfiguredHookMixin:
    """Mix into a hook; call :meth:`_init_configuration` from ``__init__``."""

    _config: dict[str, Any] | None
    _retry: RetryPolicy | None
    _retry_overrides: dict[str, Any]

    def _init_configuration(self, config: dict[str, Any] | None, retry: RetryPolicy | None,
                            **retry_overrides: Any) -> None:
        self._config = config
        self._retry = retry
        self._retry_overrides = retry_overrides

    def _load_config(self) -> dict[str, Any]:
        if self._config is None:
            from include.ferrero.config import load_config

            self._config = load_config()
        return self._config

    def _configured_retry_policy(self) -> RetryPolicy:
        """A whole policy given to the constructor, else the config's; single constructor values override it."""
        base = self._retry or RetryPolicy.from_config(self._load_config())
        return base.with_overrides(**self._retry_overrides)
