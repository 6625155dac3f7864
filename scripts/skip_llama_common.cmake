# Included by CMake right after llama.cpp's project() call while pip builds llama-cpp-python
# (scripts/bootstrap.sh passes it as CMAKE_PROJECT_llama.cpp_INCLUDE).
#
# llama-cpp-python forces LLAMA_BUILD_COMMON on, which compiles llama.cpp's `common` library
# (argument parsing, chat templates, a Jinja engine, an HTTP client) into libllama-common.so.
# The Python package never loads that library (it loads ggml, llama and, for vision, mtmd), and
# extractly never uses it, so turning it off here only shortens the build.
set(LLAMA_BUILD_COMMON OFF CACHE BOOL "llama: build common utils library" FORCE)
