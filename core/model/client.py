"""The one model client: ``openai.AsyncOpenAI`` over an injectable ``httpx.AsyncClient``.

Everything that talks to a model goes through ``ModelClient``; it is the only place in wardround
that builds an ``AsyncOpenAI``. It owns the policies a ward cannot do without: timeouts (connect,
first token, total), bounded retries with jittered exponential backoff on connect errors, 429
(honouring ``Retry-After``) and 5xx, a concurrency limit, token accounting, and observers that
see every call (the audit store and the transcript recorder hang off those).

Structured output and tool loops live in ``structured.py`` and ``tools.py`` and call ``chat``.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import httpx
import openai
from openai.types.chat import ChatCompletion

from core.errors import ModelError, ModelTimeout, ModelUnavailable, StreamInterrupted
from core.logging import get_logger
from core.model.errors_map import Failure, classify
from core.model.replies import completion_from_chunks
from core.model.reply_checks import (
    FAILED_CALL,
    UnusableReply,
    check_completion,
    chunk_choices,
    reply_chars,
)
from core.model.types import ModelCall, ModelCapabilities, ModelConfig, record_usage

log = get_logger(__name__)

Observer = Callable[[ModelCall], Awaitable[object] | None]
ToolObserver = Callable[[Any, float], Awaitable[object] | None]
"""Sees each tool call a model asked for (``core.model.tools.ToolCallRecord``, duration in ms)."""
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")


class ModelClient:
    """Chat completions with wardround's timeouts, retries, limits, accounting and observers."""

    def __init__(
        self,
        config: ModelConfig,
        *,
        http_client: httpx.AsyncClient | None = None,
        capabilities: ModelCapabilities | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config
        self._owns_http = http_client is None
        self._http = http_client or httpx.AsyncClient()
        self._openai = openai.AsyncOpenAI(
            base_url=config.base_url,
            api_key=config.api_key,
            # openai>=2.5x types its transport as httpx2 but accepts a legacy httpx client,
            # which is what FastAPI, LangChain and httpx's ASGI transport speak.
            http_client=cast("Any", self._http),
            max_retries=0,  # retries are ours: one policy, visible in audit, typed at the end
            timeout=cast(
                "Any",
                httpx.Timeout(
                    connect=config.connect_timeout_s,
                    read=config.first_token_timeout_s,
                    write=config.connect_timeout_s,
                    pool=config.total_timeout_s,
                ),
            ),
        )
        self._capabilities = capabilities
        self._probe_lock = asyncio.Lock()
        self._limit = asyncio.Semaphore(config.max_concurrency)
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not a secret
        self.observers: list[Observer] = []
        self.tool_observers: list[ToolObserver] = []
        """Called by ``core.model.tools.run_tools`` for every tool call it runs (audit)."""

    # --- lifecycle ------------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self._openai.close()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # --- capabilities ---------------------------------------------------------------------------

    async def capabilities(self) -> ModelCapabilities:
        """The endpoint's capabilities, probed once on first use unless given at construction."""
        if self._capabilities is None:
            async with self._probe_lock:
                if self._capabilities is None:
                    from core.model.probe import probe_capabilities

                    self._capabilities = await probe_capabilities(self)
        return self._capabilities

    # --- plain calls ----------------------------------------------------------------------------

    def request_body(self, messages: Sequence[dict[str, Any]], **params: Any) -> dict[str, Any]:
        """The exact JSON body sent to ``/chat/completions`` (what transcripts match on)."""
        body: dict[str, Any] = {"model": self.config.model, "messages": list(messages)}
        body.update({k: v for k, v in params.items() if v is not None})
        return body

    async def chat(
        self, messages: Sequence[dict[str, Any]], *, retry: bool = True, **params: Any
    ) -> ChatCompletion:
        """One non-streaming completion; ``params`` are chat-completions fields.

        ``retry=False`` makes one attempt only (the capability probe expects some refusals).
        """
        body = self.request_body(messages, **params)
        call = ModelCall(request=body, started_at=time.time())
        retries = self.config.max_retries if retry else 0
        try:
            completion = await self._with_retries(call, lambda: self._create(body), retries)
        except ModelError as err:
            await self._finish(call, error=err)
            raise
        usage = completion.usage
        if usage is not None:
            record_usage(usage.prompt_tokens, usage.completion_tokens)
            call.usage = {
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
            }
        call.response = completion.model_dump(mode="json", exclude_none=True)
        await self._finish(call)
        return completion

    async def _create(self, body: dict[str, Any]) -> ChatCompletion:
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        async with self._limit, asyncio.timeout(self.config.total_timeout_s):
            result = await self._openai.chat.completions.create(
                model=body["model"], messages=body["messages"], **params
            )
        return check_completion(result, max_chars=self.config.max_reply_chars)

    # --- streaming ------------------------------------------------------------------------------

    async def stream(self, messages: Sequence[dict[str, Any]], **params: Any) -> AsyncIterator[str]:
        """Yield the reply's text as it arrives.

        The first chunk must arrive within ``first_token_timeout_s`` and the whole reply within
        ``total_timeout_s``; a stream that ends without a ``finish_reason`` raises
        ``StreamInterrupted``. Connection failures before the first chunk are retried.
        """
        body = self.request_body(
            messages, stream=True, stream_options={"include_usage": True}, **params
        )
        call = ModelCall(request=body, started_at=time.time())
        deadline = time.monotonic() + self.config.total_timeout_s
        try:
            async with self._limit:
                stream = await self._with_retries(
                    call, lambda: self._open_stream(body, deadline), self.config.max_retries
                )
                async for text in self._read_stream(stream, call, deadline):
                    yield text
        except ModelError as err:
            await self._finish(call, error=err)
            raise
        # observers (audit, transcripts) see the whole reply, as for a non-streamed call
        call.response = completion_from_chunks(call.chunks)
        await self._finish(call)

    async def _open_stream(self, body: dict[str, Any], deadline: float) -> Any:
        params = {k: v for k, v in body.items() if k not in ("model", "messages")}
        # the response headers count toward the first token: a server that sits on the request
        # is as stalled as one that sits on the first chunk
        wait = min(self.config.first_token_timeout_s, deadline - time.monotonic())
        async with asyncio.timeout(max(wait, 0.001)):
            return await self._openai.chat.completions.create(
                model=body["model"], messages=body["messages"], **params
            )

    async def _read_stream(
        self, stream: Any, call: ModelCall, deadline: float
    ) -> AsyncIterator[str]:
        iterator = stream.__aiter__()
        finished = False
        size = 0
        while got := await self._next_chunk(stream, iterator, deadline, not call.chunks):
            chunk, choices = got
            size += sum(reply_chars(choice.delta) for choice in choices)
            if size > self.config.max_reply_chars:
                await stream.close()
                raise classify(
                    UnusableReply(f"sent more than {self.config.max_reply_chars} characters"),
                    base_url=self.config.base_url,
                ).error
            call.chunks.append(chunk.model_dump(mode="json", exclude_none=True))
            if chunk.usage is not None:
                record_usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                call.usage = {
                    "prompt_tokens": chunk.usage.prompt_tokens,
                    "completion_tokens": chunk.usage.completion_tokens,
                }
            for choice in choices:
                finished = finished or choice.finish_reason is not None
                if choice.delta.content:
                    yield choice.delta.content
        if not finished:
            raise StreamInterrupted("the model's stream ended before the reply was finished")
        if not call.usage:
            _estimate_usage(call)

    async def _next_chunk(
        self, stream: Any, iterator: Any, deadline: float, first: bool
    ) -> tuple[Any, list[Any]] | None:
        """The next chunk and its choices, or None at the end; typed errors for every fault."""
        budget = deadline - time.monotonic()
        wait = min(budget, self.config.first_token_timeout_s) if first else budget
        try:
            chunk = await asyncio.wait_for(iterator.__anext__(), timeout=max(wait, 0.001))
            return chunk, chunk_choices(chunk)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            await stream.close()
            what = "first token" if first else "end of the reply"
            raise ModelTimeout(f"the model did not send the {what} in time") from None
        except (openai.APITimeoutError, httpx.TimeoutException) as exc:
            # the socket's read timeout (first_token_timeout_s) between two chunks: a stall
            await stream.close()
            raise ModelTimeout("the model stopped sending in the middle of its reply") from exc
        except (openai.APIConnectionError, httpx.TransportError) as exc:
            raise StreamInterrupted(f"the model's stream broke off: {exc}") from exc
        except FAILED_CALL as exc:
            # a garbage SSE line, an error event, or an event that is not a chunk
            await stream.close()
            raise classify(exc, base_url=self.config.base_url).error from exc

    # --- retry policy ---------------------------------------------------------------------------

    async def _with_retries(
        self, call: ModelCall, attempt: Callable[[], Awaitable[T]], retries: int
    ) -> T:
        cfg = self.config
        for number in range(1, retries + 2):
            call.attempts = number
            try:
                return await attempt()
            except TimeoutError:
                raise ModelTimeout(
                    f"the model at {cfg.base_url} did not answer within {cfg.total_timeout_s:g} s"
                ) from None
            except FAILED_CALL as exc:
                failure = classify(exc, base_url=cfg.base_url)
                call.status = failure.status
                if not failure.retryable or number > retries:
                    raise self._final(failure, number) from exc
                delay = self._backoff(number, failure)
                log.warning(
                    "model.retry",
                    attempt=number,
                    status=failure.status,
                    reason=type(failure.error).__name__,
                    delay_s=round(delay, 3),
                )
                await self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _backoff(self, attempt: int, failure: Failure) -> float:
        cfg = self.config
        if failure.retry_after_s is not None:
            if failure.retry_after_s > cfg.retry_after_max_s:
                raise ModelUnavailable(
                    f"the model asked us to wait {failure.retry_after_s:g} s "
                    f"(more than {cfg.retry_after_max_s:g} s): treating it as unavailable"
                )
            return failure.retry_after_s
        ceiling = min(cfg.backoff_max_s, cfg.backoff_base_s * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)  # "equal jitter"

    @staticmethod
    def _final(failure: Failure, attempts: int) -> ModelError:
        err = failure.error
        if failure.retryable and attempts > 1:
            err.args = (f"{err.args[0]} (after {attempts} attempts)",)
        return err

    # --- observers ------------------------------------------------------------------------------

    async def _finish(self, call: ModelCall, *, error: ModelError | None = None) -> None:
        call.duration_ms = (time.time() - call.started_at) * 1000
        if error is not None:
            call.error = f"{type(error).__name__}: {error}"
        log.info(
            "model.call",
            model=call.request.get("model"),
            stream=bool(call.request.get("stream")),
            attempts=call.attempts,
            duration_ms=round(call.duration_ms, 1),
            error=type(error).__name__ if error else None,
            **call.usage,
        )
        for observer in self.observers:
            result = observer(call)
            if result is not None:
                await result


def _estimate_usage(call: ModelCall) -> None:
    """Token counts for a stream that reported none (llama-cpp-python ignores ``stream_options``).

    Completion: one token per content chunk (llama.cpp streams token by token). Prompt: about four
    characters per token. Marked ``estimated`` so audit and reports can tell.
    """
    completion = sum(
        1
        for chunk in call.chunks
        for choice in chunk.get("choices", [])
        if (choice.get("delta") or {}).get("content")
    )
    prompt_chars = len(json.dumps(call.request.get("messages", []), ensure_ascii=False))
    prompt = max(1, prompt_chars // 4)
    record_usage(prompt, completion)
    call.usage = {"prompt_tokens": prompt, "completion_tokens": completion, "estimated": 1}
