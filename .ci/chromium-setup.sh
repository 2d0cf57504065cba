#!/usr/bin/env bash
# Make Debian's chromium available at /usr/bin/chromium, for the web page's e2e test
# (test/e2e/serve-page.test.ts, driven by playwright-core). Idempotent: installs only if missing.
# Exit 0 = chromium runs.
set -uo pipefail
BIN=${LEIOSNET_CHROMIUM:-/usr/bin/chromium}
say() { echo "chromium-setup: $*"; }

if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
  say "$("$BIN" --version 2>/dev/null) already installed; nothing to do"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    say "$BIN missing and not root (no passwordless sudo): install chromium by hand"
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "$BIN missing and apt-get is not available: install chromium by hand"
  exit 1
fi
say "chromium missing: apt-get install chromium"
$SUDO apt-get update -qq >/dev/null || { say "apt-get update failed"; exit 1; }
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null \
  || { say "apt-get install chromium failed"; exit 1; }
if "$BIN" --version >/dev/null 2>&1; then
  say "installed $("$BIN" --version 2>/dev/null)"
  exit 0
fi
say "chromium installed but $BIN does not run"
exit 1
