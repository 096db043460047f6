#!/bin/sh
# test-package.sh [DIR]: builds the Debian package from DIR (default
# build/, configured for /usr) and checks it: its files, its declared
# dependencies, its systemd unit; as root, installs it with apt as a user
# would, uses the installed muster-host and libmuster, and removes it again.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
deb=$(sh scripts/package.sh "$dir" | tail -1)
echo "== checking $deb"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/muster-host ./usr/lib/x86_64-linux-gnu/libmuster.so.1 ./usr/include/muster/client.h ./usr/include/muster/client_layout.h \
    ./usr/include/muster/backend.h ./usr/lib/x86_64-linux-gnu/pkgconfig/muster.pc \
    ./usr/lib/x86_64-linux-gnu/pkgconfig/muster-sdk.pc ./usr/lib/x86_64-linux-gnu/cmake/muster/musterConfig.cmake \
    ./usr/lib/muster/plugins/catalog-sqlite.so ./usr/lib/muster/plugins/nats-kv.so ./usr/lib/muster/plugins/etcd.so \
    ./usr/lib/systemd/system/muster-host@.service; do
    echo "$files" | grep -qx "$f" || { echo "the package lacks $f"; exit 1; }
done
depends=$(dpkg-deb -f "$deb" Depends)
for d in libpq5 libnats libsqlite3-0 libspdlog libsystemd0 libcurl4; do
    echo "$depends" | grep -q "$d" || { echo "the package does not declare $d: $depends"; exit 1; }
done
# verify_unit FILE: systemd-analyze's complaints about the unit, but not
# that its program is missing while the package is not installed (FILTER).
verify_unit() {
    command -v systemd-analyze >/dev/null || return 0
    out=$(systemd-analyze verify "$1" 2>&1 | grep -v "${2:-^$}" || true)
    [ -z "$out" ] || { echo "systemd-analyze verify: $out"; exit 1; }
}
unit=$(mktemp -d)
dpkg-deb -x "$deb" "$unit"
verify_unit "$unit/usr/lib/systemd/system/muster-host@.service" "is not executable: No such file"
rm -rf "$unit"
if [ "$(id -u)" -ne 0 ]; then
    echo "== not root: the package is built and checked, not installed"
    exit 0
fi
echo "== apt install $deb"
apt-get install -y -qq "$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")" >/dev/null
trap 'apt-get remove -y -qq muster >/dev/null' EXIT
/usr/bin/muster-host plugins | grep -q "^catalog-sqlite " || { echo "the installed muster-host does not find its plugins"; exit 1; }
verify_unit /usr/lib/systemd/system/muster-host@.service
work=$(mktemp -d)
cc -std=c11 -Wall -Werror bindings/c/example.c $(pkg-config --cflags --libs muster) -o "$work/example"
"$work/example" "$work/m.db" >/dev/null || { echo "the C example fails against the installed package"; exit 1; }
rm -rf "$work"
echo "== the package installs, and its muster-host and libmuster work"
