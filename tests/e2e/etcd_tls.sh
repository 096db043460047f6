#!/bin/sh
# etcd over TLS with client certificates, from a throwaway CA made here
# (docs/plugins/etcd.md): run, watch and list work with tls_ca, tls_cert
# and tls_key; without the CA the server's certificate is refused, and
# without a client certificate the server refuses us. Needs etcd and
# openssl (77 without).
command -v etcd >/dev/null && command -v openssl >/dev/null || exit 77
. "$(dirname "$0")/lib.sh"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=muster test CA" -keyout ca.key -out ca.pem >/dev/null 2>&1 ||
    fail "openssl could not make a CA"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >san.ext
for who in server client; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$who" -keyout $who.key -out $who.csr >/dev/null 2>&1
    openssl x509 -req -in $who.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.ext -out $who.pem \
        >/dev/null 2>&1 || fail "openssl could not sign the $who certificate"
done
port=$(free_port 2)
etcd --name tls --data-dir "$WORK/data" \
    --listen-client-urls "https://127.0.0.1:$port" --advertise-client-urls "https://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "tls=http://127.0.0.1:$((port + 1))" \
    --cert-file server.pem --key-file server.key --trusted-ca-file ca.pem --client-cert-auth >etcd.out 2>&1 &
PIDS="$PIDS $!"
ready=""
for t in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints "https://127.0.0.1:$port" --cacert ca.pem --cert client.pem --key client.key \
        endpoint health >/dev/null 2>&1 && { ready=1; break; }
    sleep 0.1
done
[ -n "$ready" ] || fail "the TLS etcd did not start"
cat >tls.toml <<TOML
[discovery]
chain = "etcd"
heartbeat_interval = "300ms"
ttl = "2s"
[backend.etcd]
endpoints = "https://127.0.0.1:$port"
tls_ca = "$WORK/ca.pem"
tls_cert = "$WORK/client.pem"
tls_key = "$WORK/client.key"
TOML
start watcher watch --config tls.toml --role router --json
start host run --config tls.toml --role router --address 127.0.0.1:9100
wait_for host.log "running 1 service" 15 || fail "run over TLS did not start"
wait_for watcher.log '"added"' 15 || fail "the watch over TLS did not see the router"
"$HOST" list --config tls.toml | grep -q router || fail "list over TLS misses the router"
pass "register, watch and list over TLS with client certificates"
# A read deadline wide enough for a refused handshake on a loaded machine
# (under ASan beside a build it outlasted 250 ms, and the error said only
# "no answer within 250 ms").
expect 5 "no backend" list --chain etcd --backend-option "etcd.endpoints=https://127.0.0.1:$port" \
    --backend-option etcd.tls_cert="$WORK/client.pem" --backend-option etcd.tls_key="$WORK/client.key" --read-timeout 5s
grep -q "certificate" "$WORK/expect.err" || fail "the refusal does not say why: $(cat "$WORK/expect.err")"
pass "without the CA the server's certificate is refused, and the message says so"
expect 5 "no backend" list --chain etcd --backend-option "etcd.endpoints=https://127.0.0.1:$port" \
    --backend-option etcd.tls_ca="$WORK/ca.pem" --read-timeout 5s
pass "without a client certificate the server refuses the client"
