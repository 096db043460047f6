"""A blocking query's view of a registration: waits on GET /v1/roles/ROLE
with ?index= until the role changes, then prints how long after the write
it shows (the instance at ADDRESS's last_seen: the store's time of that
write, the server's for nats-kv) the answer arrived, in ms. Used by
bench/agent.sh.

    python3 blocking_probe.py PORT ROLE ADDRESS
"""
import datetime
import http.client
import json
import sys
import time

port, role, address = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
conn.request("GET", f"/v1/roles/{role}")
first = conn.getresponse()
first.read()
index = first.getheader("X-Muster-Index")
while True:
    conn.request("GET", f"/v1/roles/{role}?index={index}&wait=30s")
    answer = conn.getresponse()
    body = answer.read()
    answered = time.time()
    index = answer.getheader("X-Muster-Index")
    found = [i for i in json.loads(body)["instances"] if i["address"] == address]
    if found:
        written = datetime.datetime.strptime(found[0]["last_seen"], "%Y-%m-%dT%H:%M:%S.%fZ")
        written = written.replace(tzinfo=datetime.timezone.utc).timestamp()
        print(f"{(answered - written) * 1000:.1f}")
        break
