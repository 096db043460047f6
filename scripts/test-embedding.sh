#!/bin/sh
# test-embedding.sh PREFIX: embeds muster installed in PREFIX (cmake
# --install) as an application would, out of tree: README's C++ example
# built as printed with find_package(muster), the C example with
# pkg-config, the Python binding's tests and the Rust crate's cargo test and
# example, each against the installed libmuster and plugins.
set -eu
cd "$(dirname "$0")/.."
prefix=$(cd "$1" && pwd)
pc=$(dirname "$(find "$prefix" -name muster.pc | head -1)")
libdir=$(PKG_CONFIG_PATH="$pc" pkg-config --variable=libdir muster)
work="$prefix/embedding"
mkdir -p "$work"

echo "== README's embedding example, as printed, against the install"
mkdir -p "$work/readme"
# The block after each "<!-- embedding: FILE" marker is FILE.
awk -v dir="$work/readme" '
    /<!-- embedding: / { file = dir "/" $3; next }
    file && /^```/ { if (open) { close(file); file = ""; open = 0 } else open = 1; next }
    file && open { print > file }
' README.md
cmake -S "$work/readme" -B "$work/readme/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" -DCMAKE_BUILD_RPATH="$libdir" >/dev/null
cmake --build "$work/readme/build"
"$work/readme/build/querier" "$work/readme.db" | grep -q "^registered " || { echo "README's example failed"; exit 1; }

echo "== C example with pkg-config"
cc -std=c11 -Wall -Wextra -Wpedantic -Werror bindings/c/example.c $(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs muster) \
    -Wl,-rpath,"$libdir" -o "$work/c-example"
"$work/c-example" "$work/c.db"

echo "== Python binding, installed with pip into a virtual environment (Debian's python3, offline)"
# Debian's setuptools and wheel build it (--system-site-packages,
# --no-build-isolation: nothing is downloaded), from a copy, since the
# build writes beside the sources. The test runs where no muster.py is,
# so it imports the installed one.
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
cp -r bindings/python "$work/python-src"
"$work/venv/bin/pip" install -q --no-index --no-build-isolation "$work/python-src"
mkdir "$work/python"
cp bindings/python/test_muster.py "$work/python/"
(cd "$work/python" && MUSTER_LIBRARY="$libdir/libmuster.so.1" MUSTER_INCLUDE_DIRS="$prefix/include" \
    "$work/venv/bin/python" -m unittest -v test_muster)

echo "== Rust crate: cargo test and the bootstrap example"
cp -r bindings/rust "$work/rust"
rm -rf "$work/rust/target" "$work/rust/Cargo.lock"
# Debian's cargo when there is one (the toolchain users get from apt), offline:
# the crate has no dependencies.
cargo=cargo
[ -x /usr/bin/cargo ] && cargo=/usr/bin/cargo
(cd "$work/rust" && PATH="/usr/bin:$PATH" CARGO_HOME="$work/cargo-home" MUSTER_LIB_DIR="$libdir" \
    MUSTER_INCLUDE_DIRS="$prefix/include" $cargo test --offline && PATH="/usr/bin:$PATH" CARGO_HOME="$work/cargo-home" MUSTER_LIB_DIR="$libdir" \
    $cargo run --offline --example bootstrap -- "$work/rust.db")
echo "== embedding: all passed"
