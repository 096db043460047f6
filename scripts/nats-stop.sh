#!/bin/sh
# nats-stop.sh DIR: stops the server nats-start.sh started in DIR and removes DIR.
dir=$1
[ -f "$dir/stop.sh" ] && sh "$dir/stop.sh"
rm -rf "$dir"
