#!/usr/bin/env bash
# Make a Docker engine answer on /var/run/docker.sock, for the docker runtime's tests.
# Idempotent: installs Debian's docker.io only if dockerd is missing, starts dockerd only if the
# socket does not answer, then waits up to 60 s. Prints what it did. Exit 0 = engine answers.
# An existing /etc/docker/daemon.json is honoured (dockerd reads it), so a runc wrapper written
# by ../shared/k8s-local/up.sh stays in force; run that script first when both are needed.
set -uo pipefail
SOCK=${DOCKER_SOCK:-/var/run/docker.sock}
LOG=${LEIOSNET_DOCKERD_LOG:-/tmp/leiosnet-dockerd.log}
say() { echo "docker-setup: $*"; }

answers() {
  # Ask the engine directly (no CLI needed): GET /_ping over the unix socket.
  [ -S "$SOCK" ] || return 1
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
  elif command -v docker >/dev/null 2>&1; then
    timeout 5 docker -H "unix://$SOCK" version >/dev/null 2>&1
  else
    return 1
  fi
}

if answers; then
  say "engine already answers on $SOCK; nothing to do"
  exit 0
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    say "no engine on $SOCK and not root (no passwordless sudo): cannot install or start dockerd"
    exit 1
  fi
fi

if ! command -v dockerd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    say "dockerd is missing and apt-get is not available: install a Docker engine by hand"
    exit 1
  fi
  say "dockerd missing: apt-get install docker.io"
  $SUDO apt-get update -qq >/dev/null || { say "apt-get update failed"; exit 1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq docker.io >/dev/null || { say "apt-get install docker.io failed"; exit 1; }
  say "installed $(dockerd --version 2>/dev/null)"
else
  say "dockerd present: $(dockerd --version 2>/dev/null)"
fi

# A stale socket from a dead daemon makes dockerd refuse to start.
if [ -S "$SOCK" ] && ! pgrep -x dockerd >/dev/null 2>&1; then
  say "removing stale socket $SOCK"
  $SUDO rm -f "$SOCK"
fi

if pgrep -x dockerd >/dev/null 2>&1; then
  say "dockerd is running (pid $(pgrep -x dockerd | head -1)) but does not answer yet; waiting"
else
  say "starting dockerd in the background (log: $LOG)"
  # setsid: the daemon outlives this script and the CI step's process group.
  $SUDO setsid nohup dockerd >"$LOG" 2>&1 < /dev/null &
fi

for i in $(seq 120); do
  if answers; then
    say "engine answers on $SOCK after $((i / 2)) s"
    exit 0
  fi
  sleep 0.5
done
say "engine did not answer within 60 s; last lines of $LOG:"
tail -n 20 "$LOG" 2>/dev/null | sed 's/^/  /'
exit 1
