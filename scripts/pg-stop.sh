#!/bin/sh
# pg-stop.sh DIR: stops the cluster pg-start.sh started in DIR and removes DIR.
dir=$1
[ -f "$dir/env" ] && { . "$dir/env"; sh -c "$MUSTER_TEST_PG_STOP" >/dev/null 2>&1; }
rm -rf "$dir"
