#!/bin/sh
# expect_failure.sh CONFORMANCE PLUGIN RULE [SUITE ARGS...]: passes when the
# suite exits 1 and reports RULE as failed: the broken plugin is caught on
# the rule it breaks (a break may fail further rules that depend on the same
# behaviour).
conformance=$1 plugin=$2 rule=$3
shift 3
out=$("$conformance" --plugin "$plugin" "$@" 2>&1)
code=$?
echo "$out"
if [ "$code" -ne 1 ]; then echo "expected exit 1, got $code"; exit 1; fi
if ! echo "$out" | grep -q "^\[FAIL\] $rule "; then echo "expected rule $rule to fail"; exit 1; fi
echo "caught on rule $rule as expected"
