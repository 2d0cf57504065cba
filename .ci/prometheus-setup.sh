#!/usr/bin/env bash
# Make a Prometheus server binary available for `leiosnet run --prometheus`, `leiosnet observe`
# and test/e2e/prometheus.test.ts. Idempotent: installs Debian's `prometheus` package only if no
# binary is found ($LEIOSNET_PROMETHEUS, else `prometheus` on PATH). Does not start a server
# (leiosnet starts one per run, on a free loopback port, storage in the run dir). Exit 0 = found.
set -uo pipefail
say() { echo "prometheus-setup: $*"; }

found() {
  if [ -n "${LEIOSNET_PROMETHEUS:-}" ]; then [ -x "$LEIOSNET_PROMETHEUS" ]; return; fi
  command -v prometheus >/dev/null 2>&1
}

if found; then
  say "present: $(${LEIOSNET_PROMETHEUS:-prometheus} --version 2>&1 | head -1)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    say "prometheus is missing and we are not root (no passwordless sudo): install it by hand (apt-get install prometheus)"
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  say "prometheus is missing and apt-get is not available: install a Prometheus 2.x and set LEIOSNET_PROMETHEUS"
  exit 1
fi

say "prometheus missing: apt-get install prometheus"
$SUDO apt-get update -qq >/dev/null || { say "apt-get update failed"; exit 1; }
# the package's postinst may try to start a service; there is no init system in CI containers,
# and leiosnet never uses a system-wide server
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null || { say "apt-get install prometheus failed"; exit 1; }
# a packaged service that did start would hold :9090 for nothing: stop it if it runs
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then $SUDO systemctl stop prometheus || true; fi
if found; then
  say "installed: $(prometheus --version 2>&1 | head -1)"
  exit 0
fi
say "installed the package but no prometheus binary on PATH"
exit 1
