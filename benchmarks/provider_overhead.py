"""What each provider adapter costs on top of the HTTP requests it sends.

For JustiFi, Checkout.com, ReCharge and Payfect: one sale's create-checkout + get-checkout
round trip through the adapter, beside the SAME requests (method, path, query, headers, body)
sent with a bare httpx.AsyncClient. The bare side's requests come from a template recorded
from the adapter itself; before measuring, the template must reproduce a fresh adapter round
byte for byte, so both sides provably send the same thing. JustiFi's OAuth token is fetched in
the warm-up; the bare side uses a pre-fetched token too.

The sandbox runs in a child process, so its CPU time never competes with the client's GIL;
its cost dominates both sides alike. Runs alternate adapter/bare (ABAB…) so machine noise hits
both equally. Before each run, untimed, the sandbox clock moves on a few seconds so ReCharge's
leaky bucket never fills. Prints JSON: {provider: {adapter_median_ms, bare_median_ms, ratio,
runs}}. ``--profile NAME`` also prints a cProfile of that adapter's timed runs to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import multiprocessing
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pos_app.bootstrap.sandbox import sandbox_credentials
from pos_app.config.registry import build_provider
from pos_app.config.settings import sandbox_profile
from pos_app.domain.ids import new_idempotency_key, new_reference
from pos_app.domain.money import Money
from pos_app.providers.http import ProviderHttpClient
from pos_app.providers.types import CheckoutRequest
from pos_sandbox.control import SandboxControl
from pos_sandbox.server import SandboxServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from multiprocessing.connection import Connection

SUCCESS_URL = "https://pos-app.invalid/checkout/success"
# httpx derives these from the URL and the body.
DERIVED_HEADERS = frozenset({"host", "content-length"})
# Sandbox seconds to move on before each run: more than ReCharge's bucket fills in one run.
CLOCK_STEP_S = 5
# A response value shorter than this is never taken for an id (amounts, "USD", "open").
MIN_ID_LENGTH = 6


@dataclass(frozen=True)
class Case:
    name: str
    currency: str
    make: Callable[[str], Any]  # sandbox base URL -> adapter with its default HTTP client


def cases() -> list[Case]:
    """Each provider's default sandbox profile, built the way the app builds it."""

    def make(provider: str) -> Callable[[str], Any]:
        def build(base: str) -> Any:
            return build_provider(
                sandbox_profile(provider),
                secret=None,
                sandbox_url=base,
                sandbox_credentials=sandbox_credentials(),
            )

        return build

    return [
        Case(key, sandbox_profile(key).currency, make(key))
        for key in ("justifi", "checkout_com", "recharge", "payfect")
    ]


def checkout_request(case: Case) -> CheckoutRequest:
    return CheckoutRequest(
        reference=new_reference(),
        amount=Money(1799, case.currency),
        description="Benchmark sale",
        idempotency_key=new_idempotency_key(),
        success_url=SUCCESS_URL,
    )


# -- the sandbox, in its own process ------------------------------------------------


def _serve(state_dir: str, conn: Connection) -> None:
    with SandboxServer(Path(state_dir)) as server:
        conn.send((server.base_url, server.control_token))
        with contextlib.suppress(EOFError):
            conn.recv()  # a message, or the parent closing its end, stops the server


@contextlib.contextmanager
def sandbox_process() -> Iterator[tuple[str, str]]:
    """The sandbox in a child process: its base URL and control token."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    with tempfile.TemporaryDirectory() as state:
        child = context.Process(target=_serve, args=(state, theirs), daemon=True)
        child.start()
        try:
            if not ours.poll(60):
                raise RuntimeError("the sandbox process did not start within 60 s")
            yield ours.recv()
        finally:
            ours.send("stop")
            child.join(30)
            if child.is_alive():
                child.kill()


# -- recording what an adapter sends -------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes
    status: int
    response: bytes


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests through and keeps each request with its response."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append(
            Exchange(
                request.method,
                str(request.url),
                tuple(request.headers.multi_items()),
                request.content,
                response.status_code,
                body,
            )
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.contextmanager
def recording_clients() -> Iterator[Recorder]:
    """Every ProviderHttpClient built inside sends through one recorder (on the transport its
    httpx client would build by default), so what is recorded is exactly what an adapter's
    own client sends: same headers, same idempotency header, whatever the adapter's layout."""
    recorder = Recorder(httpx.AsyncHTTPTransport())
    original = ProviderHttpClient.__init__

    def init(self: ProviderHttpClient, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("transport") is None:
            kwargs["transport"] = recorder
        original(self, *args, **kwargs)

    ProviderHttpClient.__init__ = init  # type: ignore[method-assign]
    try:
        yield recorder
    finally:
        ProviderHttpClient.__init__ = original  # type: ignore[method-assign]


# -- the template: the adapter's requests with the sale's own values as slots ---------


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path, value


def _dig(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


@dataclass(frozen=True)
class RequestTemplate:
    method: str
    base: str  # scheme://host:port
    path: list[str]  # segments
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: Any  # parsed JSON, or None
    status: int
    # old id -> (index of the earlier response it came from, where in that JSON)
    ids: dict[str, tuple[int, tuple[Any, ...]]]


@dataclass
class Template:
    reference: str
    idempotency_key: str
    requests: list[RequestTemplate]

    @classmethod
    def from_round(cls, request: CheckoutRequest, exchanges: list[Exchange]) -> Template:
        found: dict[str, tuple[int, tuple[Any, ...]]] = {}
        requests: list[RequestTemplate] = []
        for index, exchange in enumerate(exchanges):
            url = urlsplit(exchange.url)
            body = _json_or_none(exchange.content)
            if exchange.content and body is None:
                raise RuntimeError(f"{exchange.url}: a request body that is not JSON")
            slots = [*url.path.split("/"), *(v for _, v in parse_qsl(url.query))]
            slots += [leaf for _, leaf in _leaves(body) if isinstance(leaf, str)]
            requests.append(
                RequestTemplate(
                    method=exchange.method,
                    base=f"{url.scheme}://{url.netloc}",
                    path=url.path.split("/"),
                    query=parse_qsl(url.query, keep_blank_values=True),
                    headers=[
                        (k, v) for k, v in exchange.headers if k.lower() not in DERIVED_HEADERS
                    ],
                    body=body,
                    status=exchange.status,
                    ids={slot: found[slot] for slot in slots if slot in found},
                )
            )
            answer = _json_or_none(exchange.response)
            for where, leaf in _leaves(answer):
                if (
                    isinstance(leaf, str)
                    and len(leaf) >= MIN_ID_LENGTH
                    and leaf not in found
                    and request.reference not in leaf
                    and request.idempotency_key not in leaf
                ):
                    found[leaf] = (index, where)
        return cls(request.reference, request.idempotency_key, requests)

    def fill(
        self, index: int, reference: str, key: str, answers: list[Any]
    ) -> tuple[str, str, list[tuple[str, str]], list[tuple[str, str]], Any]:
        """Request ``index`` for another sale: method, url, query, headers, body."""
        tpl = self.requests[index]
        exact = {old: _dig(answers[i], where) for old, (i, where) in tpl.ids.items()}

        def sub(text: str) -> str:
            if text in exact:
                return str(exact[text])
            return text.replace(self.reference, reference).replace(self.idempotency_key, key)

        def sub_body(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: sub_body(v) for k, v in value.items()}
            if isinstance(value, list):
                return [sub_body(v) for v in value]
            return sub(value) if isinstance(value, str) else value

        url = tpl.base + "/".join(sub(segment) for segment in tpl.path)
        query = [(k, sub(v)) for k, v in tpl.query]
        headers = [(k, sub(v)) for k, v in tpl.headers]
        return tpl.method, url, query, headers, sub_body(tpl.body)


async def bare_round(
    client: httpx.AsyncClient, template: Template, reference: str, key: str
) -> list[httpx.Request]:
    """The template's requests for one sale; each answer parsed, as a client must to go on."""
    answers: list[Any] = []
    sent: list[httpx.Request] = []
    for index, tpl in enumerate(template.requests):
        method, url, query, headers, body = template.fill(index, reference, key, answers)
        response = await client.request(
            method, url, params=tuple(query) or None, headers=headers, json=body
        )
        if response.status_code != tpl.status:
            raise RuntimeError(f"bare {method} {url}: {response.status_code} {response.text}")
        answers.append(response.json())
        sent.append(response.request)
    return sent


def check_template(template: Template, request: CheckoutRequest, exchanges: list[Exchange]) -> None:
    """The template, filled for another adapter round, must rebuild that round exactly."""
    if len(exchanges) != len(template.requests):
        raise RuntimeError(
            f"the adapter sent {len(exchanges)} requests, the template has {len(template.requests)}"
        )
    answers = [_json_or_none(exchange.response) for exchange in exchanges]
    with httpx.Client() as builder:
        for index, exchange in enumerate(exchanges):
            method, url, query, headers, body = template.fill(
                index, request.reference, request.idempotency_key, answers
            )
            built = builder.build_request(
                method, url, params=tuple(query) or None, headers=headers, json=body
            )
            if (built.method, str(built.url), built.content) != (
                exchange.method,
                exchange.url,
                exchange.content,
            ) or sorted(built.headers.multi_items()) != sorted(exchange.headers):
                raise RuntimeError(
                    f"template does not rebuild the adapter's request {index}:\n"
                    f"  adapter: {exchange.method} {exchange.url} {exchange.headers} "
                    f"{exchange.content!r}\n"
                    f"  bare:    {built.method} {built.url} {built.headers.multi_items()} "
                    f"{built.content!r}"
                )


# -- measuring -----------------------------------------------------------------------


async def adapter_round(adapter: Any, request: CheckoutRequest) -> None:
    session = await adapter.create_checkout(request)
    await adapter.get_checkout(session.provider_ref)


async def build_template(case: Case, base_url: str) -> Template:
    """Record an adapter: round 1 signs in, round 2 is the steady state (the template),
    round 3 proves the template rebuilds it."""
    with recording_clients() as recorder:
        adapter = case.make(base_url)
    try:
        await adapter_round(adapter, checkout_request(case))
        recorder.exchanges.clear()
        first = checkout_request(case)
        await adapter_round(adapter, first)
        template = Template.from_round(first, list(recorder.exchanges))
        if not template.requests:
            raise RuntimeError(f"{case.name}: recorded nothing (is its HTTP client built later?)")
        recorder.exchanges.clear()
        second = checkout_request(case)
        await adapter_round(adapter, second)
        check_template(template, second, list(recorder.exchanges))
    finally:
        await adapter.aclose()
    return template


async def measure(
    case: Case,
    base_url: str,
    token: str,
    runs: int,
    warmup: int,
    profiler: cProfile.Profile | None,
) -> dict[str, Any]:
    template = await build_template(case, base_url)
    adapter = case.make(base_url)
    adapter_ms: list[float] = []
    bare_ms: list[float] = []
    async with (
        httpx.AsyncClient(timeout=30) as bare,
        httpx.AsyncClient(
            base_url=base_url, timeout=30, headers=SandboxControl(base_url, token).headers
        ) as control,
    ):
        try:
            for index in range(warmup + runs):
                for side in ("adapter", "bare"):
                    advanced = await control.post(
                        "/_sandbox/clock/advance", json={"seconds": CLOCK_STEP_S}
                    )
                    advanced.raise_for_status()
                    request = checkout_request(case)
                    if side == "adapter":
                        if profiler and index >= warmup:
                            profiler.enable()
                        start = time.perf_counter()
                        await adapter_round(adapter, request)
                        elapsed = time.perf_counter() - start
                        if profiler:
                            profiler.disable()
                    else:
                        start = time.perf_counter()
                        await bare_round(bare, template, request.reference, request.idempotency_key)
                        elapsed = time.perf_counter() - start
                    if index >= warmup:
                        (adapter_ms if side == "adapter" else bare_ms).append(elapsed * 1000)
        finally:
            await adapter.aclose()
    adapter_median = statistics.median(adapter_ms)
    bare_median = statistics.median(bare_ms)
    sent = ", ".join(f"{r.method} {'/'.join(r.path)}" for r in template.requests)
    print(f"{case.name}: {len(template.requests)} requests per round ({sent})", file=sys.stderr)
    return {
        "adapter_median_ms": round(adapter_median, 2),
        "bare_median_ms": round(bare_median, 2),
        "ratio": round(adapter_median / bare_median, 3),
        "runs": runs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=150, help="timed runs per side and provider")
    parser.add_argument("--warmup", type=int, default=10, help="untimed runs per side first")
    parser.add_argument(
        "--providers", default=",".join(c.name for c in cases()), help="comma-separated"
    )
    parser.add_argument("--profile", metavar="NAME", help="cProfile this adapter's timed runs")
    args = parser.parse_args()
    chosen = [c for c in cases() if c.name in args.providers.split(",")]
    results: dict[str, Any] = {}
    with sandbox_process() as (base_url, token):
        for case in chosen:
            profiler = cProfile.Profile() if args.profile == case.name else None
            results[case.name] = asyncio.run(
                measure(case, base_url, token, args.runs, args.warmup, profiler)
            )
            if profiler:
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
                print(out.getvalue(), file=sys.stderr)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
