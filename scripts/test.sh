#!/bin/sh
# The one test command (README, CI): installs what the tests need where it
# is missing, then runs lint, typecheck and every test.
set -eu
cd "$(dirname "$0")/.."

missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
[ -x /usr/bin/turnserver ] || missing="$missing coturn"
[ -x /usr/bin/redis-server ] || missing="$missing redis-server"
[ -x /usr/sbin/nginx ] || missing="$missing nginx-light"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v unshare >/dev/null 2>&1 || missing="$missing util-linux"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
if [ -n "$missing" ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "installing:$missing"
  $sudo apt-get update
  # shellcheck disable=SC2086 # word splitting of the package list is wanted
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $missing
fi

npm ci --no-audit --no-fund
npm test
