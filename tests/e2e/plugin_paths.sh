#!/bin/sh
# A third party's plugin is used from where it lies: a chain link may be a
# path to its .so (its options go by the file's stem), --plugin-dir adds
# directories searched before the built-in one, and `plugins` shows each
# plugin's file.
. "$(dirname "$0")/lib.sh"
BUILTIN=$(cd "$(dirname "$HOST")/../lib/muster/plugins" && pwd)
mkdir vendor
cp "$BUILTIN/catalog-sqlite.so" vendor/vendor-catalog.so

"$HOST" list --chain "$WORK/vendor/vendor-catalog.so, memory" \
    --backend-option vendor-catalog.path="$WORK/v.db" >list.out 2>list.err || fail "list on a path link failed: $(cat list.err)"
grep -q "from catalog-sqlite\|from memory" list.out || fail "list on a path link did not answer: $(cat list.out)"
[ -f v.db ] || fail "the path link did not get its option by the file's stem"
pass "--chain \"/abs/path/plugin.so, memory\" works, options by the file's stem"

expect 3 "not to a plugin file" list --chain "$WORK/vendor/readme.txt"
expect 4 "plugin file .* not found" list --chain "$WORK/vendor/missing.so"

"$HOST" plugins --plugin-dir "$WORK/vendor" >plugins.out || fail "plugins with --plugin-dir failed"
grep -q "plugin directory: $WORK/vendor" plugins.out || fail "plugins does not name the extra directory: $(cat plugins.out)"
grep -q "plugin directory: $BUILTIN" plugins.out || fail "plugins dropped the built-in directory: $(cat plugins.out)"
grep -q "file $WORK/vendor/vendor-catalog.so" plugins.out || fail "plugins does not show the plugin's file: $(cat plugins.out)"
"$HOST" list --plugin-dir "$WORK/vendor" --plugin-dir "$BUILTIN" --chain vendor-catalog \
    --backend-option vendor-catalog.path="$WORK/w.db" >/dev/null 2>list.err || fail "a plugin by name from an extra directory: $(cat list.err)"
"$HOST" plugins --json >plugins.json || fail "plugins --json failed"
python3 - plugins.json <<'PY' || fail "plugins --json does not give each kind's ABI minor: $(cat plugins.json)"
import json, sys
plugins = {p["name"]: p for p in json.load(open(sys.argv[1])) if "name" in p}
kinds = plugins["catalog-sqlite"]["kinds"]
assert kinds[0]["kind"] == "muster.backend/1", kinds
assert kinds[0]["minor_version"] == int(plugins["catalog-sqlite"]["abi"].split(".")[1]), kinds  # built with this SDK
assert plugins["health-tcp"]["kinds"][0]["kind"] == "muster.health/1", plugins["health-tcp"]
PY
pass "--plugin-dir adds directories before the built-in one; plugins shows each file and each kind's ABI minor"
