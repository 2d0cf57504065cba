#!/usr/bin/env bash
# Build tools/helm-render: a Helm-compatible template renderer (Go text/template + Masterminds
# sprig + gopkg.in/yaml.v3, the engine Helm itself uses; values.schema.json checked with
# xeipuuv/gojsonschema, the validator Helm uses) for testing charts/leiosnet on machines
# without a `helm` binary. Offline: Go and the libraries come from Debian packages and build in
# GOPATH mode (no module proxy). Idempotent; prints the binary path as the LAST line of stdout.
#
# Usage: bash .ci/helm-setup.sh
# Env:   LEIOSNET_HELM_RENDER  output binary (default tools/helm-render/bin/helm-render)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${LEIOSNET_HELM_RENDER:-$PWD/tools/helm-render/bin/helm-render}
log() { echo "helm-setup: $*" >&2; }

PKGS="golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev golang-github-xeipuuv-gojsonschema-dev"
need=()
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || need+=("$p"); done
if ((${#need[@]})); then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
      log "missing ${need[*]} and not root (no passwordless sudo): install them by hand"; exit 1
    fi
  fi
  log "installing ${need[*]}"
  # another script may hold the dpkg lock (e.g. .ci/k8s-setup.sh installing golang-go): wait for it
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

GO=$(command -v go || echo /usr/lib/go/bin/go)
SRC=tools/helm-render
# Rebuild only when a source is newer than the binary.
if [ -x "$OUT" ] && [ -z "$(find "$SRC" \( -name '*.go' -o -name go.mod \) -newer "$OUT" -print -quit)" ]; then
  log "$OUT is up to date"
else
  log "building $OUT with $($GO version)"
  mkdir -p "$(dirname "$OUT")"
  # GOPATH mode over Debian's /usr/share/gocode: no go.mod, no network. The source is copied into
  # a GOPATH of its own, so "github.com/Masterminds/sprig/v3" resolves by Go's minimal module
  # compatibility (which applies to code inside a GOPATH) to Debian's .../Masterminds/sprig.
  GP=$(mktemp -d /tmp/leiosnet-helm-gopath.XXXXXX)
  trap 'rm -rf "$GP"' EXIT
  mkdir -p "$GP/src/leiosnet.io/tools"
  cp -r "$PWD/$SRC" "$GP/src/leiosnet.io/tools/helm-render"; rm -rf "$GP/src/leiosnet.io/tools/helm-render/bin"
  (cd "$GP/src/leiosnet.io/tools/helm-render" && GO111MODULE=off GOPATH="$GP:/usr/share/gocode" \
    GOCACHE=${GOCACHE:-/tmp/leiosnet-gocache} GOPROXY=off GOFLAGS= "$GO" build -o "$OUT" leiosnet.io/tools/helm-render) >&2 ||
    { log "build failed"; exit 1; }
fi
echo "$OUT"
