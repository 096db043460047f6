#!/bin/sh
# Fails when a C or C++ file differs from .clang-format's style; prints the
# files. Fix with: clang-format -i FILE... (Debian 12's clang-format 14).
# The frozen ABI 1.0 headers in tests/abi-1.0 are kept byte for byte.
set -eu
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h' '*.cpp' '*.hpp' | grep -v '^tests/abi-1.0/')
bad=""
for f in $files; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad="$bad $f"
done
if [ -n "$bad" ]; then
    echo "check-format: not in the house style (run clang-format -i on them):$bad" >&2
    exit 1
fi
echo "== format: every C and C++ file follows .clang-format"
