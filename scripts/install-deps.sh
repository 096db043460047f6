#!/bin/sh
# Installs what muster needs to build and test, on Debian 12, if missing.
# Run as root (CI does); a non-root user gets the apt-get line to run.
set -eu
PACKAGES="g++ cmake ninja-build pkg-config libboost-dev libboost-filesystem-dev libboost-program-options-dev
libsqlite3-dev sqlite3 libspdlog-dev nlohmann-json3-dev libtomlplusplus-dev catch2 libpq-dev postgresql-15
libnats-dev libcurl4-openssl-dev libgrpc++-dev libprotobuf-dev protobuf-compiler
protobuf-compiler-grpc nats-server etcd-server etcd-client openssl procps e2fsprogs clang-format git libsystemd-dev
dpkg-dev systemd python3 python3-venv python3-wheel rustc cargo prometheus-cpp-dev prometheus curl libldns-dev bind9-dnsutils clang
libclang-rt-14-dev ccache faketime victoria-metrics nsd chromium chromium-driver
python3-selenium fonts-liberation"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "== dependencies: all installed"
    exit 0
fi
echo "== dependencies: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: not root; run: sudo apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# The tests start throwaway clusters of their own; Debian's default cluster
# (and its server on port 5432) is not wanted.
mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/muster.conf
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
