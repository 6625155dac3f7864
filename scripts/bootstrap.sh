#!/usr/bin/env bash
# Create .venv and install extractly with a llama-cpp-python build that is safe on this CPU.
#
# llama-cpp-python ships no wheel for this platform, so pip compiles it. Two traps:
#  1. ggml's native build enables AMX when the CPU reports it; some VMs report AMX but do not
#     allow it, and the process segfaults in ggml_backend_amx_mul_mat. extractly/engine/build_flags.py
#     turns on each SIMD level the CPU has and keeps AMX off.
#  2. pip's wheel cache ignores CMAKE_ARGS, so a wheel built with other flags can come back.
#     We build with --no-cache-dir into our own wheel directory keyed by version and flags.
# The build also leaves out llama.cpp's `common` library, which nothing here loads
# (scripts/skip_llama_common.cmake): half the compile time.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
LLAMA_VERSION=0.3.36
# server: the fallback tests start llama-cpp-python's server; ray: the Ray Data test;
# tune: tests/test_tune.py runs a real short fine-tune (torch CPU wheel, pinned in pyproject).
EXTRAS=${EXTRAS:-dev,server,ray,tune}

if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
VPY=.venv/bin/python
"$VPY" -m pip install --quiet --upgrade pip

# Every other requirement installs while llama-cpp-python compiles (mostly download and unpack,
# against the build's compiler): on a fresh 2-core machine 4 m 59 s against 5 m 38 s in turn.
"$VPY" scripts/dependencies.py "$EXTRAS" > .venv/requirements.txt
"$VPY" -m pip install --quiet -r .venv/requirements.txt &
OTHERS=$!
trap 'kill "$OTHERS" 2>/dev/null || true' EXIT  # a failed build stops it too

WHEELS=""
if ! "$VPY" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$LLAMA_VERSION')" 2>/dev/null; then
    CMAKE_ARGS_SAFE=$("$VPY" extractly/engine/build_flags.py)
    SKIP_COMMON=scripts/skip_llama_common.cmake
    KEY=$({ printf '%s %s\n' "$LLAMA_VERSION" "$CMAKE_ARGS_SAFE"; cat "$SKIP_COMMON"; } \
        | sha256sum | cut -c1-16)
    WHEELS="${XDG_CACHE_HOME:-$HOME/.cache}/extractly/wheels/llama-cpp-python-$LLAMA_VERSION-$KEY"
    if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
        echo "building llama-cpp-python $LLAMA_VERSION (several minutes on 2 cores)"
        echo "  CMAKE_ARGS=$CMAKE_ARGS_SAFE"
        mkdir -p "$WHEELS.tmp"
        # The path is the cache's, not this clone's, so the key needs only the file's content.
        cp "$SKIP_COMMON" "$WHEELS.tmp/skip_llama_common.cmake"
        CMAKE_ARGS="$CMAKE_ARGS_SAFE -DCMAKE_PROJECT_llama.cpp_INCLUDE=$WHEELS.tmp/skip_llama_common.cmake" \
            CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) \
            "$VPY" -m pip wheel --no-cache-dir --no-deps --no-binary llama-cpp-python \
            "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS.tmp"
        rm -rf "$WHEELS" && mv "$WHEELS.tmp" "$WHEELS"
    fi
fi

wait "$OTHERS"  # its failure stops the script here (set -e); one pip at a time from here
if [ -n "$WHEELS" ]; then
    "$VPY" -m pip install --quiet --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
fi
"$VPY" -m pip install --quiet -e ".[$EXTRAS]"

# tests/test_html_view.py loads `extractly view`'s page in headless Chromium (a system package).
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    AS_ROOT=""
    if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        AS_ROOT=sudo
    fi
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ -n "$AS_ROOT" ]; }; then
        echo "installing chromium (apt-get) for the HTML view test"
        $AS_ROOT apt-get install -y chromium >/dev/null \
            || { $AS_ROOT apt-get update >/dev/null && $AS_ROOT apt-get install -y chromium >/dev/null; } \
            || echo "note: could not install chromium; tests/test_html_view.py needs it" >&2
    else
        echo "note: tests/test_html_view.py needs Chromium; as root: apt-get install -y chromium" >&2
    fi
fi
touch .venv/.installed
