#!/bin/sh
# Every bad input gets one clear line, its documented exit code, and writes
# nothing to any store (no database file appears).
. "$(dirname "$0")/lib.sh"
printf '[discovery]\nttl = "40s"\nttl = "50s"\n' >dup.toml
printf '[discovery]\nchain "catalog-sqlite"\n' >syntax.toml
printf '[discovery]\nchain = "catalog-sqlite"\n[backend.catalog-sqlite]\nbusy_timeout = "soon"\n' >type.toml
printf '[discovery]\nchain = "catalog-sqlite"\n[backend.catalog-sqlite]\ncolour = "red"\n' >unknown-key.toml
printf '[nonsense]\nx = 1\n' >unknown-section.toml
printf '[service.q]\nrole = "Querier"\naddress = "127.0.0.1:1"\n' >bad-service.toml
touch unreadable.toml; chmod 000 unreadable.toml

expect 2 "unknown command" frobnicate
expect 2 "unrecognised option" run --role q --address 127.0.0.1:1 --bogus
expect 2 "go together" run --role querier
expect 2 "describe a service" run --id 11111111-1111-4111-8111-111111111111
expect 2 "nothing to run" run
expect 2 "must start with a lowercase letter" run --role Querier --address 127.0.0.1:1
expect 2 "has no port" run --role querier --address 127.0.0.1
expect 2 "invalid port" run --role querier --address 127.0.0.1:99999
expect 2 "is not a UUID" run --role querier --address 127.0.0.1:1 --id 42
expect 2 "metadata key" run --role querier --address 127.0.0.1:1 --meta "bad key=v"
expect 2 "is not key=value" run --role querier --address 127.0.0.1:1 --meta novalue
expect 2 "given twice" run --role querier --address 127.0.0.1:1 --meta a=1 --meta a=2
expect 2 "is not a UUID" deregister --id nope
expect 2 "needs --id" deregister
expect 3 "cannot read config file" list --config missing.toml
mkdir adir
expect 3 "is a directory" run --config adir --role querier --address 127.0.0.1:1
[ "$(id -u)" -eq 0 ] || expect 3 "cannot read config file" list --config unreadable.toml
expect 3 "syntax.toml:2:" list --config syntax.toml
expect 3 "dup.toml:3:7: .*redefine existing string 'ttl'" list --config dup.toml
expect 3 "unknown section \[nonsense\]" list --config unknown-section.toml
expect 3 "type.toml:4:.*busy_timeout" list --config type.toml
expect 3 "unknown-key.toml:4:.*unknown option 'colour'" list --config unknown-key.toml
expect 3 "must start with a lowercase letter" run --config bad-service.toml
expect 3 "is not a duration" list --ttl forever
expect 3 "must be shorter than ttl" list --heartbeat-interval 1m --ttl 30s
expect 3 "must be shorter than ttl" list --heartbeat-interval 1s --ttl 1s
expect 3 "plugin directory" list --plugin-dir "$WORK/none"
expect 4 "plugin 'no-such-backend' not found" list --chain no-such-backend
expect 4 "provides no backend" list --chain health-tcp
touch afile
expect 5 "no backend of the chain is available" list --backend-option catalog-sqlite.path="$WORK/afile/x.db"
ls ./*.db >/dev/null 2>&1 && fail "a refused command created a database: $(ls ./*.db)"
pass "no refused command wrote a store"
