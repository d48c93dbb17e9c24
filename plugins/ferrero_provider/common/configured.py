"""What both hooks do with the configuration values given to them (never loaded by the hook itself: a hook built
with a connection id only uses its defaults): the retry policy, the values given singly taking precedence."""

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
        """The configuration values given to the constructor (none: the hook's defaults)."""
        return self._config or {}

    def _configured_retry_policy(self) -> RetryPolicy:
        """A whole policy given to the constructor, else the config's; single constructor values override it."""
        base = self._retry or RetryPolicy.from_config(self._load_config())
        return base.with_overrides(**self._retry_overrides)
