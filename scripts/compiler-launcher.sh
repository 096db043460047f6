#!/bin/sh
# compiler-launcher.sh: the CMake arguments that put ccache in front of the
# compilers when the machine has it (nothing otherwise), for every build
# the scripts configure: a rebuild of what did not change costs nothing.
command -v ccache >/dev/null && echo "-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache"
exit 0
