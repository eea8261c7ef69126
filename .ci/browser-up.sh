#!/usr/bin/env bash
# Debian's chromium (and its driver) for the browser test of the exploration page:
# tests/test_viz.py drives /usr/bin/chromium through Playwright (Playwright's own
# browser download cannot work here: only package registries are reachable).
# Idempotent: does nothing when chromium is there. Installing needs root, as in CI;
# without root it only warns, and the test then skips (or fails when CI is set).
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "browser-up: /usr/bin/chromium missing; as root: apt-get install chromium chromium-driver" >&2
  exit 0
fi
echo "browser-up: installing Debian's chromium and chromium-driver"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium chromium-driver >/dev/null
/usr/bin/chromium --version
