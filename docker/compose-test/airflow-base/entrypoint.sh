#!/usr/bin/env bash
# What the official image's /entrypoint does for the commands docker-compose.yaml gives it: an arbitrary uid
# gets a passwd entry; `bash` and `python` run as they are; anything else is an `airflow` subcommand, started
# once the metadata database answers (CONNECTION_CHECK_MAX_COUNT tries, 0 = no check).
set -euo pipefail
if ! whoami >/dev/null 2>&1 && [[ -w /etc/passwd ]]; then
  echo "${USER_NAME:-default}:x:$(id -u):0:${USER_NAME:-default} user:${AIRFLOW_HOME}:/sbin/nologin" >> /etc/passwd
fi
case "${1:-}" in
  "") exec bash ;;
  bash|python|python3) exec "$@" ;;
esac
tries=${CONNECTION_CHECK_MAX_COUNT:-20}
for ((i = 1; i <= tries; i++)); do
  if airflow db check >/dev/null 2>&1; then break; fi
  if ((i == tries)); then echo "entrypoint: the metadata database did not answer after $tries tries" >&2; exit 1; fi
  sleep "${CONNECTION_CHECK_SLEEP_TIME:-3}"
done
exec airflow "$@"
