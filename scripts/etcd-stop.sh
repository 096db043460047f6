#!/bin/sh
# etcd-stop.sh DIR: stops the etcd etcd-start.sh started in DIR and removes DIR.
dir=$1
[ -f "$dir/stop.sh" ] && sh "$dir/stop.sh"
rm -rf "$dir"
