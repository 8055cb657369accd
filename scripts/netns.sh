#!/bin/sh
# Runs a command inside a private network namespace whose only interface is
# loopback, so that WebRTC in Chromium gathers 127.0.0.1 candidates only and
# nothing a browser test does can leave the machine.
set -eu
if ! command -v unshare >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
  echo "netns.sh: needs unshare and ip: apt-get update && apt-get install -y util-linux iproute2" >&2
  exit 1
fi
if [ "$(id -u)" = 0 ]; then
  set -- unshare --net -- sh -c 'ip link set lo up && exec "$@"' netns "$@"
else
  # Unprivileged: a user namespace makes us root inside for `ip link`.
  set -- unshare --net --map-root-user -- sh -c 'ip link set lo up && exec "$@"' netns "$@"
fi
exec "$@"
