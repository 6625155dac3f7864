"""Print the CMAKE_ARGS for building llama-cpp-python on this machine.

Why not a default build: ggml's native build enables AMX when the CPU reports it, and some
virtual machines report AMX without allowing it, which segfaults in
``ggml_backend_amx_mul_mat``. Why not one fixed flag list: a list that turns on AVX-512 would
crash with SIGILL on a CPU without it. So we read the CPU flags and turn on every SIMD level the
CPU has, except AMX, which stays off always.
"""

from __future__ import annotations

import platform
from pathlib import Path

# ggml CMake option -> /proc/cpuinfo flag that must be present.
_X86_OPTIONS = {
    "GGML_AVX": "avx",
    "GGML_AVX2": "avx2",
    "GGML_FMA": "fma",
    "GGML_F16C": "f16c",
    "GGML_BMI2": "bmi2",
    "GGML_AVX512": "avx512f",
    "GGML_AVX512_VBMI": "avx512vbmi",
    "GGML_AVX512_VNNI": "avx512_vnni",
    "GGML_AVX512_BF16": "avx512_bf16",
    "GGML_AVX_VNNI": "avx_vnni",
}
_ALWAYS = ["-DGGML_NATIVE=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]
# The multimodal library (mtmd/llava) is only loaded by llama-cpp-python's vision chat handlers;
# extractly never uses it, and leaving it out shortens the from-source build.
_NO_MULTIMODAL = "-DLLAVA_BUILD=OFF"


def cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def cmake_args() -> str:
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        # Other architectures have no AMX; their native build is safe and fastest.
        return f"-DGGML_NATIVE=ON {_NO_MULTIMODAL}"
    flags = cpu_flags()
    args = [*_ALWAYS, _NO_MULTIMODAL]
    for option, flag in _X86_OPTIONS.items():
        args.append(f"-D{option}={'ON' if flag in flags else 'OFF'}")
    return " ".join(args)


if __name__ == "__main__":
    print(cmake_args())
