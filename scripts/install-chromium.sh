#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (test/browser.ts drives it with playwright-core).
# Does nothing when /usr/bin/chromium is already there. Needs root (apt-get); .ci/run calls it.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Chromium is missing (/usr/bin/chromium) and this script needs root to install it." >&2
  echo "Run as root:  apt-get update && apt-get install -y chromium   (or: sudo scripts/install-chromium.sh)" >&2
  exit 1
fi
echo "Installing Chromium (apt-get install -y chromium) for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium
/usr/bin/chromium --version
