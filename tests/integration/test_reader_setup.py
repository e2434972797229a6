"""Which reader a profile gets (pos_app/bootstrap/reader_setup.py), and its tokenizers against
the sandbox: they talk to each provider the way its own card fields do."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from pos_app.bootstrap.reader_setup import build_reader
from pos_app.bootstrap.sandbox import sandbox_credentials
from pos_app.config.registry import build_provider
from pos_app.config.settings import ProviderProfile, sandbox_profile
from pos_app.domain.money import Money
from pos_app.domain.vocabulary import PaymentMethod
from pos_app.journal.store import JournalStore
from pos_app.providers.card_fields import TokenizeError
from pos_app.providers.registry import PROVIDERS
from pos_app.providers.types import PaymentSource, SourceKind
from pos_app.services.payments import PaymentService
from pos_app.services.reader import (
    APPROVED_CARD,
    Gesture,
    ReaderError,
    ReaderState,
    ReaderStatus,
    SimulatedReader,
    UnavailableReader,
)
from pos_app.services.sale import Sale
from pos_sandbox.checkout_com.api import SANDBOX_PUBLIC_KEY
from tests.conformance.harness import add_fault, count_objects

if TYPE_CHECKING:
    from pathlib import Path

    from pos_app.providers.spec import Tokenizer
    from pos_sandbox.server import SandboxServer

NOT_RUNNING = "http://127.0.0.1:9"  # building a reader sends nothing


def tokenized(tokenize: Tokenizer, card: str) -> PaymentSource:
    async def go() -> PaymentSource:
        return await tokenize(card)

    return asyncio.run(go())


def reader_for(profile: ProviderProfile, sandbox_url: str | None = NOT_RUNNING) -> object:
    provider = build_provider(
        profile,
        secret=None if profile.is_sandbox else "live-secret-from-the-keyring",
        sandbox_url=NOT_RUNNING,
        sandbox_credentials=sandbox_credentials(),
    )
    return build_reader(
        profile, provider, sandbox_url=sandbox_url, credentials=sandbox_credentials()
    )


@pytest.mark.parametrize("key", ["justifi", "checkout_com", "recharge"])
def test_a_built_in_sandbox_profile_that_takes_direct_charges_gets_the_simulated_reader(
    key: str,
) -> None:
    reader = reader_for(sandbox_profile(key))
    assert isinstance(reader, SimulatedReader)
    assert reader.readers() == ["Sandbox reader"]
    assert reader.pays_open_checkout is (key == "recharge")  # ReCharge charges a checkout


@pytest.mark.parametrize(
    ("profile", "sandbox_url", "provider_name"),
    [
        (sandbox_profile("payfect"), NOT_RUNNING, "Payfect"),  # no direct charges
        (
            ProviderProfile("Live", "justifi", "live", client_id="live_id", sub_account="acc_1"),
            NOT_RUNNING,
            "JustiFi",
        ),
        (
            ProviderProfile(
                "Live", "checkout_com", "live", processing_channel_id="pc_livechannel000000000"
            ),
            NOT_RUNNING,
            "Checkout.com",
        ),
        # A standalone sandbox elsewhere: its test cards are not ours to tokenize.
        (
            ProviderProfile("Lab", "justifi", api_base_url="http://lab.example:8000/justifi"),
            NOT_RUNNING,
            "JustiFi",
        ),
        (sandbox_profile("checkout_com"), None, "Checkout.com"),  # simulator not running
    ],
    ids=["payfect", "live-justifi", "live-checkout-com", "standalone-sandbox", "no-simulator"],
)
def test_every_other_profile_gets_a_reader_that_says_card_present_is_not_available(
    profile: ProviderProfile, sandbox_url: str | None, provider_name: str
) -> None:
    reader = reader_for(profile, sandbox_url)
    assert isinstance(reader, UnavailableReader)
    assert reader.readers() == []
    with pytest.raises(ReaderError) as caught:
        asyncio.run(reader.read_card(Money(100, "USD")))
    assert caught.value.message == (
        f"Card reader payments are not yet available for {provider_name}."
    )


def card_fields(provider: str, api: str, **values: str) -> Tokenizer:
    """The provider's sandbox card fields, as the reader's set-up gets them."""
    reader = PROVIDERS[provider].sandbox_reader
    assert reader is not None
    return reader.tokenizer(api, values)


def test_justifi_cards_are_tokenized_with_a_web_component_token(sandbox: SandboxServer) -> None:
    tokenize = card_fields(
        "justifi", f"{sandbox.base_url}/justifi", **sandbox_credentials().of("justifi")
    )
    source = tokenized(tokenize, APPROVED_CARD)
    assert source.kind is SourceKind.TOKEN
    assert source.value.startswith("pm_")
    assert count_objects(sandbox, "web_component_token") == 1
    assert count_objects(sandbox, "payment_method") == 1


def test_checkout_com_cards_are_tokenized_with_the_public_key(sandbox: SandboxServer) -> None:
    api = f"{sandbox.base_url}/checkout-com"
    tokenize = card_fields("checkout_com", api, public_key=SANDBOX_PUBLIC_KEY)
    source = tokenized(tokenize, APPROVED_CARD)
    assert source.kind is SourceKind.TOKEN
    assert source.value.startswith("tok_")
    wrong_key = card_fields("checkout_com", api, public_key="pk_sbox_wrong")
    with pytest.raises(TokenizeError, match="401"):
        tokenized(wrong_key, APPROVED_CARD)


def test_recharge_takes_the_processor_s_test_token_and_nothing_for_unknown_cards() -> None:
    tokenize = card_fields("recharge", "http://127.0.0.1:9")
    assert tokenized(tokenize, APPROVED_CARD).value == "tok_visa"
    with pytest.raises(TokenizeError):
        tokenized(tokenize, "4111111111111111")


def test_a_card_the_sandbox_cannot_tokenize_ends_the_read_with_nothing_charged(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    add_fault(sandbox, kind="reset_before", path="/checkout-com/tokens", times=1)
    profile = sandbox_profile("checkout_com")
    journal = JournalStore.open(tmp_path / "journal.sqlite3")

    async def go() -> ReaderError:
        provider = build_provider(
            profile,
            secret=None,
            sandbox_url=sandbox.base_url,
            sandbox_credentials=sandbox_credentials(),
        )
        reader = build_reader(
            profile, provider, sandbox_url=sandbox.base_url, credentials=sandbox_credentials()
        )
        assert isinstance(reader, SimulatedReader)

        def tap(status: ReaderStatus) -> None:
            if status.state is ReaderState.WAITING_FOR_CARD:
                asyncio.get_running_loop().call_soon(reader.gesture, Gesture.TAP)

        reader.on_status(tap)
        service = PaymentService(journal, {profile.name: provider})
        try:
            sale = Sale(Money(500, "USD"), "Tea")
            with pytest.raises(ReaderError) as caught:
                await service.take(profile.name, sale, PaymentMethod.CARD_READER, reader=reader)
            return caught.value
        finally:
            await provider.aclose()

    error = asyncio.run(go())
    assert error.code == "read_failed"
    assert (
        error.message == "The card could not be read: The sandbox could not be reached (ReadError)"
    )
    assert journal.count_payments() == 0
    assert count_objects(sandbox, "cko_payment") == 0
    journal.close()
