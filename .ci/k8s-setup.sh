#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the kubernetes runtime's tests (CI and developers).
#
# Kubernetes 1.20 built from Debian's own `kubernetes` source package (first run 5–11 min on
# 2 cores, cached afterwards in $LEIOSNET_K8S_CACHE), Debian's etcd, and a kubelet running
# pods on the local Docker engine (dockershim). No registry: pods use images from the local
# engine (imagePullPolicy: Never). No cluster DNS. Same approach as ../shared/k8s-local/up.sh
# (and the same build cache, so either script reuses the other's build).
#
# Usage: bash .ci/k8s-setup.sh            idempotent: a running cluster is reused
#        bash .ci/k8s-setup.sh --down     stop what this script started
# Env:   LEIOSNET_K8S_STATE  state dir (default /tmp/leiosnet-k8s)
#        LEIOSNET_K8S_CACHE  build cache (default /var/cache/leiosnet-k8s)
#
# Prints the kubeconfig path as the LAST line of stdout (everything else goes to stderr).
# The kubeconfig is always at $LEIOSNET_K8S_STATE/kubeconfig (default
# /tmp/leiosnet-k8s/kubeconfig); the kubernetes e2e tests look there when $KUBECONFIG is
# unset, and .ci/run exports KUBECONFIG from this script's output. kubectl for humans:
# $LEIOSNET_K8S_CACHE/bin/kubectl --kubeconfig /tmp/leiosnet-k8s/kubeconfig get pods -A
set -euo pipefail
STATE=${LEIOSNET_K8S_STATE:-/tmp/leiosnet-k8s}
CACHE=${LEIOSNET_K8S_CACHE:-/var/cache/leiosnet-k8s}
BIN=$CACHE/bin
HERE=$(cd "$(dirname "$0")" && pwd)
KC=$STATE/kubeconfig
COMPONENTS="kubelet kube-scheduler kube-controller-manager kube-apiserver etcd"
log() { echo "k8s-setup: $*" >&2; }
# Daemons must not inherit this script's file descriptors above 2: run under
# `flock /tmp/leiosnet-heavy.lock bash .ci/k8s-setup.sh`, a daemon holding flock's fd would hold
# the lock for as long as it runs (every other contributor would wait for ever).
closefds() { local fd; for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done; return 0; }

if [ "${1:-}" = "--down" ]; then
  for c in $COMPONENTS; do
    [ -f "$STATE/$c.pid" ] && kill "$(cat "$STATE/$c.pid")" 2>/dev/null || true
    rm -f "$STATE/$c.pid"
  done
  sleep 2
  ids=$(docker ps -aq --filter name=k8s_ 2>/dev/null || true)
  [ -n "$ids" ] && docker rm -f $ids >/dev/null
  awk -v d="$STATE/kubelet" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
  rm -rf "$STATE/etcd" "$STATE/kubelet" "$KC"
  log "stopped"; exit 0
fi

if [ "$(id -u)" != 0 ]; then log "needs root (apt, dockerd, kubelet)"; exit 1; fi
mkdir -p "$STATE" "$CACHE"

# Fast path: a cluster from an earlier call still answers.
if [ -f "$KC" ] && [ -x "$BIN/kubectl" ] && "$BIN/kubectl" --kubeconfig "$KC" get nodes 2>/dev/null | grep -q ' Ready '; then
  alive=1
  for c in $COMPONENTS; do
    { [ -f "$STATE/$c.pid" ] && kill -0 "$(cat "$STATE/$c.pid")" 2>/dev/null; } || alive=0
  done
  if [ $alive = 1 ]; then log "cluster already running"; echo "$KC"; exit 0; fi
fi

need_pkgs=()
for p in etcd-server golang-go golang-github-modern-go-reflect2-dev rsync jq openssl gcc docker.io socat python3; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if ((${#need_pkgs[@]})); then
  log "installing ${need_pkgs[*]}"
  apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -qq "${need_pkgs[@]}" >/dev/null
fi

# 1. The runc wrapper first, so that any dockerd started from now on uses it: this sandbox
#    refuses negative oom_score_adj, which kubelet asks for; the wrapper clamps it to 0.
if [ ! -x /usr/local/bin/runc-nooomadj ]; then
  cat > /usr/local/bin/runc-nooomadj <<'WRAP'
#!/bin/bash
bundle=""; prev=""
for a in "$@"; do [ "$prev" = "--bundle" ] && bundle="$a"; case "$a" in --bundle=*) bundle="${a#--bundle=}";; esac; prev="$a"; done
if [ -n "$bundle" ] && [ -f "$bundle/config.json" ]; then
  python3 -c 'import json,sys
p=sys.argv[1]; c=json.load(open(p)); pr=c.get("process",{})
if pr.get("oomScoreAdj",0)<0:
    pr["oomScoreAdj"]=0; json.dump(c,open(p,"w"))' "$bundle/config.json"
fi
exec /usr/sbin/runc "$@"
WRAP
  chmod +x /usr/local/bin/runc-nooomadj
fi
if ! grep -qs runc-nooomadj /etc/docker/daemon.json; then
  mkdir -p /etc/docker
  if [ -s /etc/docker/daemon.json ]; then
    python3 - <<'PY'
import json
p = "/etc/docker/daemon.json"; c = json.load(open(p))
c.setdefault("runtimes", {})["runc-nooomadj"] = {"path": "/usr/local/bin/runc-nooomadj"}
c["default-runtime"] = "runc-nooomadj"
json.dump(c, open(p, "w"))
PY
  else
    echo '{"runtimes":{"runc-nooomadj":{"path":"/usr/local/bin/runc-nooomadj"}},"default-runtime":"runc-nooomadj"}' > /etc/docker/daemon.json
  fi
fi

# 2. Docker engine (.ci/docker-setup.sh is idempotent). A dockerd started before the wrapper
#    was configured reloads `runtimes`/`default-runtime` on SIGHUP (no restart, containers kept).
( closefds; exec bash "$HERE/docker-setup.sh" ) >&2
if ! docker info --format '{{.DefaultRuntime}}' 2>/dev/null | grep -q runc-nooomadj; then
  log "reloading dockerd's configuration (SIGHUP) for the runc wrapper"
  for pid in $(pgrep -x dockerd); do kill -HUP "$pid"; done
  for _ in $(seq 20); do docker info --format '{{.DefaultRuntime}}' 2>/dev/null | grep -q runc-nooomadj && break; sleep 0.5; done
  docker info --format '{{.DefaultRuntime}}' | grep -q runc-nooomadj ||
    { log "dockerd does not use the runc wrapper; restart dockerd and run again"; exit 1; }
fi

# 3. Kubernetes binaries, built once from Debian's source package.
if [ ! -x "$BIN/kubelet" ] || [ ! -x "$BIN/kube-apiserver" ] || [ ! -x "$BIN/pause" ] || [ ! -f "$BIN/.reflect2-1.0.2" ]; then
  log "building Kubernetes from Debian's source package (first time only, 5-11 min; log $CACHE/build.log)"
  started=$(date +%s)
  src=$CACHE/src; mkdir -p "$src"
  if ! ls -d "$src"/kubernetes-*/ >/dev/null 2>&1; then
    if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
      sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/zz-leiosnet-debsrc.sources
      apt-get -o DPkg::Lock::Timeout=900 update -qq >/dev/null
    fi
    (cd "$src" && apt-get source -qq kubernetes >/dev/null 2>&1) || { log "apt-get source kubernetes failed"; exit 1; }
  fi
  tree=$(ls -d "$src"/kubernetes-*/ | head -1)
  # The bundled reflect2 1.0.1 breaks under Go >= 1.18 (Debian's Go is 1.19): the API server
  # SIGSEGVs when it serves a custom resource (e.g. a PodMonitor). Debian's 1.0.2 is the fix.
  rsync -a --delete --exclude '*_test.go' /usr/share/gocode/src/github.com/modern-go/reflect2/ "$tree/vendor/github.com/modern-go/reflect2/"
  # The version says so (build metadata), so the runtime knows this server takes custom resources
  # (crashesOnCustomResources in orchestrator/runtime/kubernetes.ts).
  printf '%s\n' "KUBE_GIT_COMMIT=faecb196815e248d3ecfb03c680a4507229c2a56" "KUBE_GIT_TREE_STATE=archive" \
    "KUBE_GIT_VERSION=v1.20.2+reflect2.1.0.2" "KUBE_GIT_MAJOR=1" "KUBE_GIT_MINOR=20" > "$CACHE/version.env"
  (cd "$tree" && mkdir -p .go/src/k8s.io && ln -sfn ../../.. .go/src/k8s.io/kubernetes &&
    GOPATH=$PWD/.go CGO_ENABLED=0 HOME=$CACHE/home GOPROXY=off KUBE_GIT_VERSION_FILE=$CACHE/version.env \
    nice make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet cmd/kubectl" >"$CACHE/build.log" 2>&1) \
    || { log "build failed, see $CACHE/build.log"; tail -n 20 "$CACHE/build.log" >&2; exit 1; }
  mkdir -p "$BIN"
  for b in kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl; do cp "$tree/_output/local/go/bin/$b" "$BIN/"; done
  gcc -Os -static -o "$BIN/pause" "$tree/build/pause/linux/pause.c"
  touch "$BIN/.reflect2-1.0.2"
  log "built in $(( $(date +%s) - started )) s"
fi
docker image inspect k8s.gcr.io/pause:3.2 >/dev/null 2>&1 ||
  tar -C "$BIN" -c pause | docker import -c 'ENTRYPOINT ["/pause"]' - k8s.gcr.io/pause:3.2 >/dev/null

# 4. Control plane and kubelet (stale pieces from a previous bring-up are stopped first).
for c in $COMPONENTS; do
  [ -f "$STATE/$c.pid" ] && kill "$(cat "$STATE/$c.pid")" 2>/dev/null || true
  rm -f "$STATE/$c.pid"
done
cd "$STATE"
[ -f apiserver.key ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.crt -days 365 \
  -subj "/CN=kube-apiserver" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
[ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null; openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }
[ -f token ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > token
echo "$(cat token),admin,admin,system:masters" > tokens.csv
cat > "$KC.tmp" <<KCFG
apiVersion: v1
kind: Config
clusters: [{name: leiosnet-local, cluster: {server: "https://127.0.0.1:6443", certificate-authority: "$STATE/apiserver.crt"}}]
users: [{name: admin, user: {token: "$(cat token)"}}]
contexts: [{name: leiosnet-local, context: {cluster: leiosnet-local, user: admin}}]
current-context: leiosnet-local
KCFG
mv "$KC.tmp" "$KC"
# setsid: the cluster outlives this script and the CI step's process group.
start() { local name=$1; shift; ( closefds; exec setsid nohup "$@" >"$STATE/$name.log" 2>&1 < /dev/null ) & echo $! > "$STATE/$name.pid"; }
start etcd etcd --data-dir "$STATE/etcd" --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380
sleep 2
start kube-apiserver "$BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 --bind-address=127.0.0.1 \
  --secure-port=6443 --tls-cert-file=apiserver.crt --tls-private-key-file=apiserver.key --token-auth-file=tokens.csv \
  --service-account-issuer=https://kubernetes.default.svc --service-account-key-file=sa.pub \
  --service-account-signing-key-file=sa.key --service-cluster-ip-range=10.96.0.0/16 --authorization-mode=Node,RBAC \
  --kubelet-preferred-address-types=InternalIP,Hostname
for _ in $(seq 120); do "$BIN/kubectl" --kubeconfig "$KC" get --raw /readyz >/dev/null 2>&1 && break; sleep 0.5; done
start kube-controller-manager "$BIN/kube-controller-manager" --kubeconfig="$KC" --service-account-private-key-file=sa.key \
  --root-ca-file=apiserver.crt --use-service-account-credentials=false --leader-elect=false
start kube-scheduler "$BIN/kube-scheduler" --kubeconfig="$KC" --leader-elect=false
start kubelet "$BIN/kubelet" --kubeconfig="$KC" --container-runtime=docker --fail-swap-on=false --cgroup-driver=cgroupfs \
  --cgroups-per-qos=false --enforce-node-allocatable="" --pod-infra-container-image=k8s.gcr.io/pause:3.2 \
  --hostname-override=leiosnet-node --root-dir="$STATE/kubelet" --register-node=true
for _ in $(seq 120); do "$BIN/kubectl" --kubeconfig "$KC" get nodes 2>/dev/null | grep -q ' Ready ' && break; sleep 0.5; done
"$BIN/kubectl" --kubeconfig "$KC" get nodes | grep -q ' Ready ' || { log "node did not become Ready; logs in $STATE"; exit 1; }
log "ready (kubectl: $BIN/kubectl --kubeconfig $KC)"
echo "$KC"
