"""Real servers on 127.0.0.1 for the fallback tests, each with a bounded start and a clean stop.

- ``LlamaServer``: llama-cpp-python's OpenAI-compatible server with the embedded GGUF, in a
  subprocess with one thread (the test process runs the model too; 1 + 1 threads fit 2 cores).
- ``FaultyProxy``: a small HTTP server in a thread that answers the first requests with given
  HTTP statuses, can wait before answering, and otherwise forwards to an upstream server.
- ``free_port``: a port nothing listens on (for "server down").
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

MODEL_ALIAS = "gemma-270m"
SERVER_MODULES = ("fastapi", "uvicorn", "sse_starlette", "starlette_context", "pydantic_settings")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LlamaServer:
    """``python -m llama_cpp.server`` on a free port; ``url`` is its ``/v1`` base."""

    def __init__(self, model: Path, log: Path, start_timeout: float = 120.0) -> None:
        missing = [m for m in SERVER_MODULES if importlib.util.find_spec(m) is None]
        if missing:
            raise RuntimeError(
                f"llama-cpp-python's server needs {missing}; install the project's server "
                "extra: pip install -e '.[dev,server]' (scripts/bootstrap.sh does for make test)"
            )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(model), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048",
        ]  # fmt: skip
        self._log = log.open("w")
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self._wait_ready(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {self.process.returncode}; "
                    f"see {self._log.name}"
                )
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/models", timeout=2) as response,
            ):
                if response.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"llama_cpp.server not ready after {timeout} s; see {self._log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()


class FaultyProxy:
    """An HTTP server that misbehaves on purpose, then forwards to ``upstream``.

    The first ``len(fail)`` POSTs get those statuses; every POST first waits ``delay`` seconds
    (cut short when the proxy stops). ``requests`` counts POSTs; ``auth_seen`` keeps the last
    Authorization header; with ``echo_auth`` error bodies repeat it (as a careless server might).
    """

    def __init__(
        self,
        upstream: str | None,
        *,
        fail: Sequence[int] = (),
        delay: float = 0.0,
        echo_auth: bool = False,
    ) -> None:
        self.upstream = upstream
        self.fail = list(fail)
        self.delay = delay
        self.echo_auth = echo_auth
        self.requests = 0
        self.auth_seen: str | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length", 0)))
        with self._lock:
            self.requests += 1
            self.auth_seen = handler.headers.get("Authorization")
            status = self.fail.pop(0) if self.fail else None
        if self.delay and self._stopping.wait(self.delay):
            return
        if status is not None or self.upstream is None:
            detail = {"message": f"injected status {status}"}
            if self.echo_auth:
                detail["authorization"] = str(self.auth_seen)
            self._send(handler, status or 503, json.dumps({"error": detail}).encode())
            return
        path = handler.path.removeprefix("/v1")
        request = urllib.request.Request(
            self.upstream + path, data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                self._send(handler, response.status, response.read())
        except urllib.error.HTTPError as exc:
            self._send(handler, exc.code, exc.read())

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        with contextlib.suppress(OSError):  # the client may have given up (deadline)
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)

    def stop(self) -> None:
        self._stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(10)
