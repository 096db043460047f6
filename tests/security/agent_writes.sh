#!/bin/sh
# docs/security.md, items 1, 2 and 5, against a real muster-host:
# - a registration naming a plugin file or an unconfigured name loads
#   nothing (a constructor that writes a file proves it) and answers 400
#   with the same message for files that exist and files that do not;
# - writes are refused without a token unless the operator opts in, a token
#   under 16 bytes is refused at start, a foreign Host (DNS rebinding) and a
#   browser's cross-origin write are 403; Consul's API takes no writes
#   even with the token, and its made-up service names stay within
#   max_roles; with regions, made-up roles keep every region within
#   max_roles and made-up regions name nothing;
# - made-up HTTP methods do not add metric series;
# - with a read token, every read of the API needs it (or the write token)
#   and only the dashboard's own files are served without it, none named
#   by a path that leaves /ui/; the page's answers carry the policy.
. "$(dirname "$0")/../e2e/lib.sh"
command -v curl >/dev/null || fail "curl is needed"
SO=${MUSTER_CONSTRUCTOR_SO:?MUSTER_CONSTRUCTOR_SO must name the constructor test library}
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
DB="--backend-option catalog-sqlite.path=$WORK/m.db --heartbeat-interval 500ms"
TOKEN=0123456789abcdef-token
AUTH="Authorization: Bearer $TOKEN"
export MUSTER_MARK="$WORK/mark"
cat >"$WORK/agent.toml" <<EOF
[check.web]
plugin = "health-tcp"
[check.secret-web]
plugin = "health-http"
url = "http://{address}/healthz"
headers = "Authorization: Bearer do-not-leak-me"
allow_addresses = "127.0.0.1, 10.1.0.0/16"
EOF

PORT=$(free_port)
A="http://127.0.0.1:$PORT"
start agent run --config "$WORK/agent.toml" --http "$PORT" --http-token "$TOKEN" $DB
wait_for agent.log "HTTP API on" 10 || fail "the agent did not start"

# 1. Checks a request names: configured sections only, nothing loaded.
put() { curl -s -w '\n%{http_code}' -X PUT -H "$AUTH" -d "$1" "$A/v1/instances"; }
cp "$SO" "$WORK/x.so"
for name in "$WORK/x.so" "$WORK/missing.so" "constructor" "health-tcp" "../x"; do
    out=$(put "{\"role\":\"worker\",\"address\":\"127.0.0.1:9\",\"checks\":[\"$name\"]}")
    [ "$(echo "$out" | tail -1)" = 400 ] || fail "a check named '$name' was not 400: $out"
    echo "$out" | head -1 | sed "s|$name|NAME|" >>"$WORK/answers"
done
[ ! -e "$MUSTER_MARK" ] || fail "a request made the agent load a shared object"
[ "$(sort -u "$WORK/answers" | wc -l)" = 1 ] || fail "the answers differ by what is on disk: $(cat "$WORK/answers")"
pass "a check naming a path, a plugin or nothing configured loads nothing and answers 400, the same for every file"
out=$(put '{"role":"worker","address":"127.0.0.1:9","checks":["web"]}')
[ "$(echo "$out" | tail -1)" = 200 ] || fail "a configured check was refused: $out"
pass "a configured [check.NAME] is taken"
many=$(python3 -c 'print(",".join(["\"web\""] * 5000))')
out=$(put "{\"role\":\"worker\",\"address\":\"127.0.0.1:9\",\"checks\":[$many]}")
[ "$(echo "$out" | tail -1)" = 400 ] || fail "5000 copies of one check were not refused: $out"
pass "a request naming one check thousands of times is refused"
out=$(put '{"role":"worker","address":"10.9.9.9:80","checks":["secret-web"]}')
[ "$(echo "$out" | tail -1)" = 400 ] && echo "$out" | grep -q allow_addresses ||
    fail "a check with a secret was attached to an address its allow_addresses does not list: $out"
out=$(put '{"role":"worker","address":"10.1.2.3:80","checks":["secret-web"]}')
[ "$(echo "$out" | tail -1)" = 200 ] || fail "a check with a secret was refused for an allowed address: $out"
pass "a check with a secret goes only to the addresses its operator allows"
grep -q "do-not-leak-me" "$WORK"/*.log && fail "a check's secret header is in a log"

# 2. Host and Origin.
[ "$(code -H 'Host: evil.example' "$A/v1/roles/worker")" = 403 ] || fail "a foreign Host was not refused"
[ "$(code -H "Host: localhost:$PORT" "$A/v1/roles/worker")" = 200 ] || fail "Host localhost was refused"
[ "$(code -H "Host: 127.0.0.1:$PORT" "$A/v1/roles/worker")" = 200 ] || fail "the listening address was refused"
[ "$(code -X PUT -H "$AUTH" -H 'Origin: http://evil.example' -d '{"role":"worker","address":"10.0.0.1:80"}' \
    "$A/v1/instances")" = 403 ] || fail "a cross-origin write was not refused"
[ "$(code -X PUT -H "$AUTH" -H 'Sec-Fetch-Site: cross-site' -d '{"role":"worker","address":"10.0.0.1:80"}' \
    "$A/v1/instances")" = 403 ] || fail "a cross-site fetch was not refused"
pass "a foreign Host (DNS rebinding) and cross-origin writes are 403"

# 5. Made-up methods count as 'other'.
python3 - "$PORT" <<'EOF'
import socket, sys
for i in range(300):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"M%dX /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % i)
    s.recv(4096)
    s.close()
EOF
series=$(curl -s "$A/metrics" | grep -c '^muster_http_requests_total{')
[ "$series" -lt 20 ] || fail "made-up methods added metric series: $series"
curl -s "$A/metrics" | grep -q 'method="other"' || fail "made-up methods are not counted as other"
pass "300 made-up methods leave $series request series"
kill "$PID_agent"

# 2. Writes need a token by default; anonymous writes are an explicit opt-in.
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
start open run --http "$PORT" $DB
wait_for open.log "HTTP API on" 10 || fail "the agent without a token did not start"
grep -q "writes are refused" "$WORK/open.log" || fail "the start line does not say writes are refused"
[ "$(code -X PUT -d '{"role":"worker","address":"10.0.0.1:80"}' "$A/v1/instances")" = 403 ] ||
    fail "a write without a configured token was not refused"
[ "$(code "$A/v1/roles/worker")" = 200 ] || fail "reads need no token"
kill "$PID_open"
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
start anon run --http "$PORT" --http-allow-anonymous-writes true $DB
wait_for anon.log "HTTP API on" 10 || fail "the anonymous agent did not start"
grep -q "warn.*http_allow_anonymous_writes" "$WORK/anon.log" || fail "anonymous writes were not warned about"
[ "$(code -X PUT -d '{"role":"worker","address":"10.0.0.1:80"}' "$A/v1/instances")" = 200 ] ||
    fail "the operator's opt-in did not allow anonymous writes"
kill "$PID_anon"
pass "writes are refused without a token unless the operator opts in (with a warning)"
# 2b. Consul's API (docs/agent.md) is read-only whatever the token, and
# its made-up service names are bounded like muster's own roles.
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
start consul run --http "$PORT" --http-token "$TOKEN" --http-allow-anonymous-writes false --max-roles 40 $DB
wait_for consul.log "HTTP API on" 10 || fail "the agent for Consul's API did not start"
for path in /v1/agent/service/register /v1/catalog/register /v1/health/service/worker; do
    [ "$(code -X PUT -H "$AUTH" -d '{"Name":"consul-made","Port":80}' "$A$path")" = 405 ] ||
        fail "a Consul write to $path was not refused with 405"
done
"$HOST" list --role consul-made $DB | grep -q "^0 instance" || fail "a Consul write registered something"
for i in $(seq 1 200); do
    c=$(code "$A/v1/health/service/made-up-$i")
    [ "$c" = 200 ] || [ "$c" = 503 ] || fail "made-up Consul service $i answered $c"
done
caches=$(curl -s "$A/v1/status" | python3 -c "import json,sys; print(len(json.load(sys.stdin)['caches']))")
[ "$caches" -le 41 ] || fail "200 made-up Consul services left $caches role caches (max_roles 40, and every role's)"
[ "$(code "$A/healthz")" = 200 ] || fail "the agent stopped answering after the made-up Consul services"
kill "$PID_consul"
pass "Consul's API refuses writes even with the token (405); 200 made-up services keep $caches caches (max 40)"
# 2c. With regions (docs/regions.md), made-up roles reach the other
# regions too (none is eligible locally): each region's caches stay within
# max_roles, a made-up region is 404 and no DNS name, and nothing a
# request names is written anywhere.
printf '[discovery]\nregion = "eu"\n[region.us]\nchain = "catalog-sqlite"\n[region.us.backend.catalog-sqlite]\npath = "%s/us.db"\n' \
    "$WORK" >"$WORK/regions.toml"
PORT=$(free_port)
DPORT=$(free_port)
A="http://127.0.0.1:$PORT"
start regions run --config "$WORK/regions.toml" --http "$PORT" --dns "$DPORT" --http-token "$TOKEN" --max-roles 40 $DB
wait_for regions.log "HTTP API on" 10 || fail "the agent with regions did not start"
for i in $(seq 1 200); do
    c=$(code "$A/v1/roles/made-up-$i")
    [ "$c" = 200 ] || [ "$c" = 503 ] || fail "made-up role $i with regions answered $c"
done
[ "$(code "$A/v1/roles/worker?region=made-up")" = 404 ] || fail "a made-up region is not 404"
command -v dig >/dev/null && { dig @127.0.0.1 -p "$DPORT" +time=2 +tries=1 worker.service.made-up.muster A |
    grep -q NXDOMAIN || fail "a made-up region's DNS name is not NXDOMAIN"; }
curl -s "$A/v1/status" | python3 -c "
import json, sys
for r in json.load(sys.stdin)['regions']:
    assert r['cached_roles'] <= 41, r
" || fail "200 made-up roles overran a region's max_roles: $(curl -s "$A/v1/status")"
[ "$(sqlite3 "$WORK/us.db" "select count(*) from instances")" = 0 ] || fail "a request wrote to the other region"
[ "$(code "$A/healthz")" = 200 ] || fail "the agent with regions stopped answering"
kill "$PID_regions"
pass "with regions, 200 made-up roles keep every region within max_roles; made-up regions name nothing"
expect 3 "use at least 16" run --http 0 --http-token short-token $DB
grep -q "short-token" "$WORK/expect.err" && fail "the refused token was printed"
pass "a token under 16 bytes is refused at start, unprinted"
expect 3 "http_read_token is 10 bytes" run --http 0 --http-read-token short-read $DB
grep -q "short-read" "$WORK/expect.err" && fail "the refused read token was printed"
printf 'read-token-from-a-file-0123\n' >"$WORK/read.token"
chmod 644 "$WORK/read.token"
expect 3 "chmod 600" run --http 0 --http-read-token-file "$WORK/read.token" $DB
pass "a read token under 16 bytes, or in a file others may read, is refused at start, unprinted"

# The read token and the dashboard (docs/dashboard.md).
READ=read-token-0123456789abcdef
RPORT=$(free_port)
R="http://127.0.0.1:$RPORT"
start reader run --http "$RPORT" --http-token "$TOKEN" --http-read-token "$READ" $DB
wait_for reader.log "HTTP API on" 10 || fail "the agent with a read token did not start"
for path in /v1/status /v1/roles/worker /v1/watch /metrics /v1/catalog/services /v1/health/service/worker; do
    [ "$(code "$R$path")" = 401 ] || fail "$path without the read token was not 401"
    [ "$(code -H 'Authorization: Bearer wrong-token-0123456789' "$R$path")" = 403 ] || fail "$path with a wrong token was not 403"
done
[ "$(code -H "Authorization: Bearer $READ" "$R/v1/status")" = 200 ] || fail "the read token did not read"
[ "$(code -H "X-Consul-Token: $READ" "$R/v1/catalog/services")" = 200 ] || fail "Consul's X-Consul-Token did not read"
[ "$(code -H "$AUTH" "$R/v1/status")" = 200 ] || fail "the write token did not read"
[ "$(code -X PUT -H "Authorization: Bearer $READ" -d '{"role":"worker","address":"10.0.0.1:80"}' "$R/v1/instances")" = 403 ] ||
    fail "the read token wrote"
[ "$(code "$R/healthz")" = 200 ] || fail "/healthz needed a token"
for path in /ui/ /ui/app.js /ui/config.json; do
    [ "$(code "$R$path")" = 200 ] || fail "$path needed a token"
    curl -s -D - -o /dev/null "$R$path" | grep -qi "^content-security-policy: default-src 'none'" ||
        fail "$path has no Content-Security-Policy"
done
for path in /ui/../v1/status /ui/x/../../etc/passwd /ui/%2e%2e/v1/status /ui/app.js/x /ui/ui_files.cpp; do
    c=$(code --path-as-is "$R$path")
    [ "$c" = 404 ] || [ "$c" = 400 ] || [ "$c" = 401 ] || fail "$path answered $c"
done
curl -s "$R/ui/config.json" | grep -q "$READ" && fail "config.json shows the read token"
grep -q "$READ" "$WORK"/*.log && fail "the read token is in a log"
pass "with a read token: every read needs it (or the write token; Consul's header too), it never writes; /ui/'s own files alone are open, with the policy, and no path leaves /ui/"
