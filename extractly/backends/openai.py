"""The OpenAI-compatible HTTP backend: llama.cpp's server, llama-cpp-python's server, vLLM,
Ollama, hosted APIs.

One POST per request with the standard library's ``urllib`` (no client dependency). Structured
output is asked for in the strongest form the server accepts and remembered per backend:

1. ``response_format: {"type": "json_schema", "json_schema": {..., "strict": true}}`` (OpenAI,
   vLLM, llama.cpp's server),
2. ``{"type": "json_object", "schema": ...}`` (llama-cpp-python's server, Anyscale),
3. plain prompting (the schema and examples in the prompt).

A server that rejects a form (HTTP 400/422, or any error whose body names ``response_format``)
is asked again with the next one at once. The answer is never trusted: the chain validates it
like any other. Transport failures become ``BackendRequestError`` with ``retryable`` set for
refused connections, timeouts, 429 and 5xx; this module does not retry (the chain's policy
does). The API key is read from the environment variable named by ``api_key_env`` at request
time and is never logged or put in an error message.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Literal

from ..errors import BackendRequestError
from ..prompt import build_prompt, compact_json
from ..result import Usage
from ..schema import Example, decoded_form
from .base import Backend, BackendAnswer, BackendRequest

Api = Literal["chat", "completions"]
MODES = ("json_schema", "json_object", "none")
"""Structured-output forms, strongest first."""
RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAIBackend(Backend):
    """A model behind an OpenAI-compatible ``/v1`` endpoint.

    ``api="chat"`` sends ``/chat/completions`` (instruction-tuned models, hosted APIs);
    ``api="completions"`` sends the few-shot document prompt to ``/completions`` (base models on
    llama.cpp or vLLM). ``response_format`` pins one form of ``MODES`` instead of ``"auto"``.
    ``timeout`` bounds each request; a chain's per-document deadline can shorten it.
    ``examples`` / ``instructions`` replace the chain's prompt material; ``name`` labels the
    backend in attempts and the distillation log.
    """

    reports_confidence = False
    remote = True

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api: Api = "chat",
        api_key_env: str | None = None,
        timeout: float = 60.0,
        response_format: Literal["auto", "json_schema", "json_object", "none"] = "auto",
        examples: Sequence[Any] | None = None,
        instructions: str | None = None,
        temperature: float = 0.0,
        name: str | None = None,
    ) -> None:
        if api not in ("chat", "completions"):
            raise ValueError(f"api must be 'chat' or 'completions', not {api!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api: Api = api
        self.api_key_env = api_key_env
        self.timeout = timeout
        self.examples = None if examples is None else [Example.coerce(e) for e in examples]
        self.instructions = instructions
        self.temperature = temperature
        self._modes = MODES if response_format == "auto" else (response_format,)
        self._mode = 0
        self._lock = threading.Lock()
        self.name = name or f"openai:{self.base_url}#{model}"

    @property
    def mode(self) -> str:
        """The structured-output form the next request will use."""
        return self._modes[self._mode]

    def generate(self, request: BackendRequest) -> BackendAnswer:
        started = time.perf_counter()
        while True:
            mode = self.mode
            try:
                body = self._post(self._payload(request, mode), request)
                break
            except BackendRequestError as exc:
                if not self._downgrade(exc, mode):
                    raise
        return self._answer(body, time.perf_counter() - started)

    # -- request ----------------------------------------------------------------------------

    def _payload(self, request: BackendRequest, mode: str) -> dict[str, Any]:
        spec = request.spec
        shots = self.examples if self.examples is not None else request.examples
        head = self.instructions if self.instructions is not None else request.instructions
        prompt = build_prompt(spec, instructions=head, examples=shots)
        payload: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": self.temperature,
        }
        if self.api == "completions":
            fb = request.feedback
            pieces = prompt.prefix + (
                prompt.document(request.text)
                if fb is None
                else prompt.reask(request.text, fb.raw_text, fb.error)
            )
            payload["prompt"] = "".join(pieces)
            payload["stop"] = ["\n\n"]
        else:
            payload["messages"] = chat_messages(request, prompt.prefix[:1], shots, mode)
        if mode == "json_schema":
            payload["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": re.sub(r"[^A-Za-z0-9_-]", "_", spec.name)[:64] or "output",
                    "schema": spec.user_schema,
                    "strict": True,
                },
            }
        elif mode == "json_object":
            payload["response_format"] = {"type": "json_object", "schema": spec.user_schema}
        return payload

    def _post(self, payload: dict[str, Any], request: BackendRequest) -> dict[str, Any]:
        url = f"{self.base_url}/{'chat/completions' if self.api == 'chat' else 'completions'}"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        if self.api_key_env and not key:
            raise BackendRequestError(
                f"{self.name}: the environment variable {self.api_key_env} is not set; "
                "export the API key there"
            )
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = self.timeout
        remaining = request.remaining()
        if remaining is not None:
            if remaining <= 0:
                raise BackendRequestError(f"{self.name}: the document's deadline has passed")
            timeout = min(timeout, remaining)
        data = json.dumps(payload).encode("utf-8")
        req = urllib.request.Request(url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = _scrub(exc.read(2000).decode("utf-8", "replace"), key)
            raise BackendRequestError(
                f"{self.name}: HTTP {exc.code}: {' '.join(detail.split())[:400]}",
                status=exc.code,
                retryable=exc.code in RETRYABLE_STATUS,
            ) from None
        except TimeoutError as exc:
            raise BackendRequestError(
                f"{self.name}: no answer within {timeout:.1f} s", retryable=True
            ) from exc
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError | socket.timeout):
                raise BackendRequestError(
                    f"{self.name}: no answer within {timeout:.1f} s", retryable=True
                ) from None
            raise BackendRequestError(
                f"{self.name}: cannot reach {url}: {_scrub(str(reason), key)}", retryable=True
            ) from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise BackendRequestError(
                f"{self.name}: the server answered with something that is not JSON: "
                f"{_scrub(raw[:200].decode('utf-8', 'replace'), key)!r}",
                retryable=True,
            ) from None
        if not isinstance(body, dict):
            raise BackendRequestError(f"{self.name}: unexpected answer {str(body)[:200]!r}")
        return body

    def _downgrade(self, exc: BackendRequestError, mode: str) -> bool:
        """After a rejection of ``mode``, move to the next weaker form; False if none is left
        or the error has nothing to do with the structured-output request."""
        if mode == "none" or exc.status is None:
            return False
        message = str(exc)
        if exc.status not in (400, 422) and "response_format" not in message:
            return False
        with self._lock:
            if self.mode == mode and self._mode + 1 < len(self._modes):
                self._mode += 1
            return self.mode != mode

    # -- answer -----------------------------------------------------------------------------

    def _answer(self, body: dict[str, Any], seconds: float) -> BackendAnswer:
        try:
            choice = body["choices"][0]
            text = choice["message"]["content"] if self.api == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError):
            raise BackendRequestError(
                f"{self.name}: the answer has no choices[0] text: {json.dumps(body)[:300]}"
            ) from None
        usage = body.get("usage") or {}
        finish = choice.get("finish_reason")
        return BackendAnswer(
            raw_text=str(text or ""),
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                cached_prompt_tokens=0,
                sampled_tokens=int(usage.get("completion_tokens") or 0),
                forced_tokens=0,
                seconds=seconds,
            ),
            stop_reason="max_tokens" if finish == "length" else "complete",
        )


def chat_messages(
    request: BackendRequest, head: Sequence[str], shots: Sequence[Example] | None, mode: str
) -> list[dict[str, str]]:
    """System instructions (with the schema when the server will not enforce it), worked
    examples as user/assistant turns, the document, and a re-ask turn if any."""
    spec = request.spec
    system = "".join(head).strip() or f"Extract a {spec.name} object from each text as JSON."
    system += "\nAnswer with one JSON object and nothing else."
    if mode != "json_schema":
        system += f"\nJSON Schema of the answer: {compact_json(spec.user_schema)}"
    messages = [{"role": "system", "content": system}]
    for shot in spec.examples if shots is None else shots:
        messages.append({"role": "user", "content": shot.text})
        output = decoded_form(shot.output, spec.decode_schema)
        messages.append({"role": "assistant", "content": compact_json(output)})
    messages.append({"role": "user", "content": request.text})
    if request.feedback is not None:
        messages.append({"role": "assistant", "content": request.feedback.raw_text})
        messages.append(
            {
                "role": "user",
                "content": "That answer was rejected: "
                f"{' '.join(request.feedback.error.split())[:500]}\n"
                "Reply with the corrected JSON object only.",
            }
        )
    return messages


def parse_spec(spec: str) -> OpenAIBackend:
    """``openai:URL#MODEL[;key=value...]`` -> ``OpenAIBackend``.

    Keys: ``api`` (chat/completions), ``api_key_env`` (name of the variable holding the key),
    ``timeout`` (seconds), ``response_format``. Example:
    ``openai:https://api.openai.com/v1#gpt-4o-mini;api_key_env=OPENAI_API_KEY``.
    """
    rest = spec.removeprefix("openai:")
    url, _, tail = rest.partition("#")
    model, *params = tail.split(";")
    if not url.startswith(("http://", "https://")) or not model:
        raise ValueError(
            f"cannot read backend {spec!r}: expected 'openai:http(s)://host/v1#model-name'"
            "[;api=completions][;api_key_env=VAR][;timeout=30]"
        )
    options: dict[str, Any] = {}
    for param in params:
        key, sep, value = param.partition("=")
        if not sep or key not in ("api", "api_key_env", "timeout", "response_format"):
            raise ValueError(
                f"unknown parameter {param!r} in backend {spec!r}; "
                "known: api, api_key_env, timeout, response_format"
            )
        options[key] = float(value) if key == "timeout" else value
    return OpenAIBackend(url, model, **options)


def _scrub(text: str, key: str | None) -> str:
    """``text`` with the API key removed, in case a server echoes it back."""
    return text.replace(key, "***") if key else text
