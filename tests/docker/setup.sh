#!/usr/bin/env bash
# Starts a private Docker engine for the Docker backend tests and builds the
# test images from busybox (no registry is reachable): v1, v2, v3 where v3's
# health check fails. Prints the DOCKER_HOST to use on its last line.
#
#   eval "$(tests/docker/setup.sh)"     # exports DOCKER_HOST
#   tests/docker/setup.sh stop
set -euo pipefail
root="${RBTUI_DOCKER_ROOT:-/tmp/rbtui-dockerd}"
sock="$root/docker.sock"
if [ "${1:-}" = "stop" ]; then
  [ -f "$root/pid" ] && kill "$(cat "$root/pid")" 2>/dev/null || true
  exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd not installed (apt-get install docker.io)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "/bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$root"
export DOCKER_HOST="unix://$sock"
if ! docker version >/dev/null 2>&1; then
  dockerd --storage-driver=vfs --iptables=false --ip6tables=false \
    --data-root "$root/data" --exec-root "$root/exec" --pidfile "$root/pid" \
    -H "$DOCKER_HOST" >"$root/dockerd.log" 2>&1 &
  for _ in $(seq 1 60); do docker version >/dev/null 2>&1 && break; sleep 0.5; done
  docker version >/dev/null 2>&1 || { echo "dockerd did not start; see $root/dockerd.log:" >&2; tail -20 "$root/dockerd.log" >&2; exit 1; }
fi
docker info --format '{{.Swarm.LocalNodeState}}' | grep -qx active || docker swarm init >/dev/null
ctx="$root/build"
for v in 1 2 3; do
  rm -rf "$ctx" && mkdir -p "$ctx/www"
  cp /bin/busybox "$ctx/busybox"
  echo "v$v" > "$ctx/www/version"
  # v3 ships without /health: its health check fails.
  [ "$v" = 3 ] || echo "ok v$v" > "$ctx/www/health"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM scratch
COPY busybox /bin/busybox
COPY www /www
LABEL org.opencontainers.image.version=v$v
HEALTHCHECK --interval=1s --timeout=2s --start-period=1s --retries=2 CMD ["/bin/busybox","wget","-q","-O","/dev/null","http://127.0.0.1:8080/health"]
CMD ["/bin/busybox","httpd","-f","-p","8080","-h","/www"]
DOCKERFILE
  docker build -q -t "rbtui-test/web:v$v" "$ctx" >/dev/null
done
# A mutable tag, as the runbooks warn about.
docker tag rbtui-test/web:v2 rbtui-test/web:latest
echo "export DOCKER_HOST=$DOCKER_HOST"
