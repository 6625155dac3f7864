"""Fakes for testing code that uses extractly, without a model: ``FunctionBackend``.

Like httpx's ``MockTransport`` or pydantic-ai's ``FunctionModel``: a backend whose answers come
from a Python function, so the fallback chain's policy (re-ask, retry, escalate, keep the unsure
answer, distil) can be exercised in milliseconds::

    from extractly import Chain
    from extractly.testing import FunctionBackend

    flaky = FunctionBackend.returning('{"date": "March 3"}', '{"date": "2024-03-03"}')
    chain = Chain([flaky], reask=True)

The function receives the ``BackendRequest`` (text, schema, feedback of a re-ask, deadline) and
returns the raw text, a full ``BackendAnswer``, or raises (``BackendRequestError`` for a
transport failure). Every request is kept in ``calls``. Not here: decoding (the local and HTTP
backends are tested against the real model and real servers).

``AnswerKeyServer`` is the other end of the wire: a real OpenAI-compatible HTTP server on
127.0.0.1 that answers each request with the known object of the text it is asked about, a
perfect teacher for testing a labelling job (``extractly distill``) and measuring how many
labels a student needs, with the network path exercised as in production::

    with AnswerKeyServer({text: gold for text, gold in rows}) as server:
        teacher = f"openai:{server.url}#answer-key"
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from .backends.base import Backend, BackendAnswer, BackendRequest
from .result import Usage

Handler = Callable[[BackendRequest], "str | BackendAnswer"]


class FunctionBackend(Backend):
    """A backend that answers with ``handler(request)``.

    ``field_confidence`` is attached to string answers (a ``BackendAnswer`` carries its own);
    ``reports_confidence`` follows whether it is given.
    """

    remote: ClassVar[bool] = False

    def __init__(
        self,
        handler: Handler,
        *,
        name: str = "function",
        field_confidence: Mapping[str, float] | None = None,
    ) -> None:
        self.handler = handler
        self.name = name
        self.field_confidence = field_confidence
        self.reports_confidence = field_confidence is not None  # type: ignore[misc]
        self.calls: list[BackendRequest] = []
        self.closed = False
        self._lock = threading.Lock()

    @classmethod
    def returning(
        cls,
        *answers: str | BaseException,
        name: str = "function",
        field_confidence: Mapping[str, float] | None = None,
    ) -> FunctionBackend:
        """A backend that gives ``answers`` in turn (an exception is raised), then repeats the
        last one."""
        if not answers:
            raise ValueError("FunctionBackend.returning needs at least one answer")
        queue = list(answers)

        def handler(request: BackendRequest) -> str:
            answer = queue.pop(0) if len(queue) > 1 else queue[0]
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return cls(handler, name=name, field_confidence=field_confidence)

    def generate(self, request: BackendRequest) -> BackendAnswer:
        with self._lock:
            self.calls.append(request)
        started = time.perf_counter()
        answer = self.handler(request)
        if isinstance(answer, BackendAnswer):
            return answer
        return BackendAnswer(
            raw_text=answer,
            usage=Usage(prompt_tokens=0, cached_prompt_tokens=0, sampled_tokens=0,
                        forced_tokens=0, seconds=time.perf_counter() - started),
            field_confidence=self.field_confidence,
        )  # fmt: skip

    def close(self) -> None:
        self.closed = True


class AnswerKeyServer:
    """An OpenAI-compatible server (``/v1/chat/completions``, ``/v1/completions``,
    ``/v1/models``) on 127.0.0.1 that answers with ``answers[text]`` as JSON.

    The text asked about is the last user message that is a key of ``answers`` (chat), else the
    key that ends last in the prompt (completions, whose prompt also holds worked examples); a
    text it does not know gets ``null``, which fails validation as a wrong answer would.
    ``delay`` seconds pass before each answer; the first ``len(fail)`` requests get those HTTP
    statuses instead. ``asked`` counts answered requests per text (for "no text asked twice"),
    ``requests`` every POST. Use it as a context manager, or call ``stop``.
    """

    def __init__(
        self,
        answers: Mapping[str, Any],
        *,
        delay: float = 0.0,
        fail: Sequence[int] = (),
        model: str = "answer-key",
    ) -> None:
        self.answers = {text.strip(): value for text, value in answers.items()}
        self.delay = delay
        self.fail = list(fail)
        self.model = model
        self.asked: Counter[str] = Counter()
        self.requests = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = {"object": "list", "data": [{"id": server.model, "object": "model"}]}
                server._send(self, 200, data)

            def do_POST(self) -> None:
                server._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    def text_asked(self, payload: Mapping[str, Any]) -> str | None:
        """The known text ``payload`` asks about, or None."""
        if isinstance(payload.get("messages"), list):
            for message in reversed(payload["messages"]):
                if not isinstance(message, dict) or message.get("role") != "user":
                    continue
                content = message.get("content")
                if isinstance(content, str) and content.strip() in self.answers:
                    return content.strip()
            return None
        prompt = str(payload.get("prompt", ""))
        best: tuple[int, int, str] | None = None
        for text in self.answers:
            at = prompt.rfind(text)
            if at >= 0 and (best is None or (at + len(text), len(text)) > best[:2]):
                best = (at + len(text), len(text), text)
        return None if best is None else best[2]

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        try:
            payload = json.loads(handler.rfile.read(int(handler.headers.get("Content-Length", 0))))
        except ValueError:
            self._send(handler, 400, {"error": {"message": "the body is not JSON"}})
            return
        with self._lock:
            self.requests += 1
            status = self.fail.pop(0) if self.fail else None
        if self.delay and self._stopping.wait(self.delay):
            return
        if status is not None:
            self._send(handler, status, {"error": {"message": f"injected status {status}"}})
            return
        text = self.text_asked(payload)
        content = json.dumps(None if text is None else self.answers[text], ensure_ascii=False)
        with self._lock:
            if text is not None:
                self.asked[text] += 1
        chat = "messages" in payload
        choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
        choice |= {"message": {"role": "assistant", "content": content}} if chat else {
            "text": content}
        body = {
            "object": "chat.completion" if chat else "text_completion",
            "model": self.model,
            "choices": [choice],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }
        self._send(handler, 200, body)

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, data: Any) -> None:
        raw = json.dumps(data).encode()
        with contextlib.suppress(OSError):  # the client may have gone (killed, deadline)
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)

    def stop(self) -> None:
        self._stopping.set()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(10)

    def __enter__(self) -> AnswerKeyServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
