#!/bin/sh
# nats-kv over TLS with a throwaway CA made here: works with tls_ca, is
# refused (exit 5) without it. Needs nats-server and openssl (77 without).
command -v nats-server >/dev/null && command -v openssl >/dev/null || exit 77
. "$(dirname "$0")/lib.sh"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=muster test CA" -keyout ca.key -out ca.pem >/dev/null 2>&1 \
    || fail "openssl could not make a CA"
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr >/dev/null 2>&1
printf 'subjectAltName=IP:127.0.0.1\n' >san.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext -out server.pem >/dev/null 2>&1 \
    || fail "openssl could not sign the server certificate"
port=$(free_port)
cat >tls.conf <<CONF
listen: 127.0.0.1:$port
jetstream { store_dir: "$WORK/store" }
tls { cert_file: "$WORK/server.pem", key_file: "$WORK/server.key", ca_file: "$WORK/ca.pem" }
CONF
nats-server -c tls.conf >server.log 2>&1 &
PIDS="$PIDS $!"
wait_for server.log "Server is ready" 10 || fail "the TLS nats-server did not start"
cat >tls.toml <<TOML
[discovery]
chain = "nats-kv"
[backend.nats-kv]
url = "tls://127.0.0.1:$port"
tls_ca = "$WORK/ca.pem"
TOML
start host run --config tls.toml --role router --address 127.0.0.1:9100
wait_for host.log "running 1 service" 15 || fail "run over TLS did not start"
"$HOST" list --config tls.toml | grep -q router || fail "list over TLS misses the router"
pass "register and list over TLS with the test CA"
# A read deadline wide enough for a refused handshake on a loaded machine.
expect 5 "no backend of the chain is available" list --chain nats-kv --backend-option "nats-kv.url=tls://127.0.0.1:$port" \
    --read-timeout 5s
pass "without the CA the server's certificate is refused"
