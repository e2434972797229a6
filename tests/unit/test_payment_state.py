"""The payment state machine and the ledger's money rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pos_app.domain.money import Money, MoneyError
from pos_app.domain.payment import (
    FINAL_STATES,
    TRANSITIONS,
    IllegalTransition,
    PaymentLedger,
    PaymentRuleError,
    PaymentState,
    allowed_transitions,
    can_transition,
    is_final,
    require_transition,
)

S = PaymentState
ALL = frozenset(PaymentState)


def usd(minor: int) -> Money:
    return Money(minor, "USD")


# The agreed table, written out independently so an edit to the module cannot go unnoticed.
EXPECTED = {
    S.CREATED: {
        S.PENDING, S.REQUIRES_ACTION, S.AUTHORIZED, S.CAPTURED,
        S.DECLINED, S.FAILED, S.EXPIRED, S.IN_DOUBT,
    },
    S.PENDING: {
        S.REQUIRES_ACTION, S.AUTHORIZED, S.CAPTURED,
        S.DECLINED, S.FAILED, S.EXPIRED, S.VOIDED, S.IN_DOUBT,
    },
    S.REQUIRES_ACTION: {
        S.PENDING, S.AUTHORIZED, S.CAPTURED, S.DECLINED, S.FAILED, S.EXPIRED, S.IN_DOUBT,
    },
    S.AUTHORIZED: {S.CAPTURED, S.PARTIALLY_CAPTURED, S.VOIDED, S.EXPIRED, S.IN_DOUBT},
    S.PARTIALLY_CAPTURED: {S.CAPTURED, S.PARTIALLY_REFUNDED, S.REFUNDED, S.IN_DOUBT},
    S.CAPTURED: {S.PARTIALLY_REFUNDED, S.REFUNDED, S.IN_DOUBT},
    S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED, S.REFUNDED, S.IN_DOUBT},
    S.IN_DOUBT: set(ALL - {S.CREATED, S.IN_DOUBT}),
    S.REFUNDED: set(),
    S.VOIDED: set(),
    S.DECLINED: set(),
    S.FAILED: set(),
    S.EXPIRED: set(),
}  # fmt: skip

ALL_PAIRS = [(src, dst) for src in PaymentState for dst in PaymentState]
ILLEGAL = [(src, dst) for src, dst in ALL_PAIRS if dst not in EXPECTED[src]]

# A ledger in each state whose amounts fit that state (USD, 10.00 authorized).
SAMPLE = {
    S.CREATED: PaymentLedger("USD"),
    S.PENDING: PaymentLedger("USD", S.PENDING),
    S.REQUIRES_ACTION: PaymentLedger("USD", S.REQUIRES_ACTION),
    S.AUTHORIZED: PaymentLedger("USD", S.AUTHORIZED, authorized=1000),
    S.PARTIALLY_CAPTURED: PaymentLedger("USD", S.PARTIALLY_CAPTURED, 1000, 400),
    S.CAPTURED: PaymentLedger("USD", S.CAPTURED, 1000, 1000),
    S.PARTIALLY_REFUNDED: PaymentLedger("USD", S.PARTIALLY_REFUNDED, 1000, 1000, 300),
    S.REFUNDED: PaymentLedger("USD", S.REFUNDED, 1000, 1000, 1000),
    S.VOIDED: PaymentLedger("USD", S.VOIDED, authorized=1000),
    S.DECLINED: PaymentLedger("USD", S.DECLINED),
    S.FAILED: PaymentLedger("USD", S.FAILED),
    S.EXPIRED: PaymentLedger("USD", S.EXPIRED),
    S.IN_DOUBT: PaymentLedger("USD", S.IN_DOUBT),
}


# --- the table ------------------------------------------------------------------------------


def test_table_is_exactly_the_agreed_one() -> None:
    assert set(TRANSITIONS) == ALL
    for state in PaymentState:
        assert set(allowed_transitions(state)) == EXPECTED[state], state


def test_table_shape() -> None:
    assert {S.REFUNDED, S.VOIDED, S.DECLINED, S.FAILED, S.EXPIRED} == FINAL_STATES
    for state in PaymentState:
        assert is_final(state) == (state in FINAL_STATES)
        assert (not allowed_transitions(state)) == is_final(state)
        assert S.CREATED not in allowed_transitions(state)  # nothing goes back to the start
        if not is_final(state) and state is not S.IN_DOUBT:
            assert S.IN_DOUBT in allowed_transitions(state)  # any request can lose its answer
    self_loops = {s for s in PaymentState if s in allowed_transitions(s)}
    assert self_loops == {S.PARTIALLY_REFUNDED}


def test_table_cannot_be_edited_at_runtime() -> None:
    with pytest.raises(TypeError):
        TRANSITIONS[S.REFUNDED] = frozenset({S.CAPTURED})  # type: ignore[index]


def test_states_accept_their_string_values() -> None:
    assert can_transition("created", "pending")
    assert is_final("refunded")
    assert S("in_doubt") is S.IN_DOUBT
    with pytest.raises(ValueError, match="'paid' is not a valid PaymentState"):
        can_transition("created", "paid")


@pytest.mark.parametrize(("src", "dst"), ILLEGAL)
def test_every_transition_outside_the_table_raises(src: PaymentState, dst: PaymentState) -> None:
    assert not can_transition(src, dst)
    with pytest.raises(IllegalTransition) as caught:
        require_transition(src, dst)
    assert (caught.value.src, caught.value.dst) == (src, dst)
    assert caught.value.code == "illegal_transition"
    with pytest.raises(PaymentRuleError) as ledger_error:
        SAMPLE[src].move_to(dst)
    expected = "final_state" if is_final(src) else "illegal_transition"
    assert ledger_error.value.code == expected


@pytest.mark.parametrize(("src", "dst"), [(s, d) for s, d in ALL_PAIRS if d in EXPECTED[s]])
def test_every_transition_in_the_table_is_allowed(src: PaymentState, dst: PaymentState) -> None:
    assert can_transition(src, dst)
    require_transition(src, dst)  # does not raise


def test_illegal_transition_message_is_a_sentence() -> None:
    with pytest.raises(IllegalTransition, match=r"^This payment is captured, so it cannot become"):
        require_transition(S.CAPTURED, S.VOIDED)


# --- the ledger: normal flows ---------------------------------------------------------------


def test_sale_then_refunds() -> None:
    sale = PaymentLedger("usd").charge(usd(1799))
    assert (sale.currency, sale.state, sale.authorized, sale.captured) == (
        "USD",
        S.CAPTURED,
        1799,
        1799,
    )
    assert sale.refundable == usd(1799)
    assert sale.capturable == usd(0)
    part = sale.refund(usd(500))
    assert (part.state, part.refunded, part.refundable) == (S.PARTIALLY_REFUNDED, 500, usd(1299))
    again = part.refund(usd(299))
    assert (again.state, again.refunded) == (S.PARTIALLY_REFUNDED, 799)
    done = again.refund(usd(1000))
    assert (done.state, done.refunded, done.refundable) == (S.REFUNDED, 1799, usd(0))
    assert sale.state is S.CAPTURED  # the old ledger is untouched


def test_authorize_then_partial_and_final_capture() -> None:
    auth = PaymentLedger("USD").authorize(usd(1000))
    assert (auth.state, auth.capturable, auth.refundable) == (S.AUTHORIZED, usd(1000), usd(0))
    part = auth.capture(usd(400), final=False)
    assert (part.state, part.captured, part.capturable) == (S.PARTIALLY_CAPTURED, 400, usd(600))
    assert part.refundable == usd(400)
    final = part.capture(usd(100))  # final capture of less than the rest releases the rest
    assert (final.state, final.captured, final.capturable) == (S.CAPTURED, 500, usd(0))


def test_full_capture_is_final_even_when_not_flagged() -> None:
    done = PaymentLedger("USD").authorize(usd(1000)).capture(usd(1000), final=False)
    assert done.state is S.CAPTURED


def test_partial_capture_allows_only_one_more_and_it_must_be_final() -> None:
    part = PaymentLedger("USD").authorize(usd(1000)).capture(usd(400), final=False)
    with pytest.raises(IllegalTransition, match="must be final"):
        part.capture(usd(100), final=False)
    with pytest.raises(PaymentRuleError) as caught:
        part.capture(usd(100)).capture(usd(100))
    assert caught.value.code == "illegal_transition"


def test_refund_after_partial_capture() -> None:
    part = PaymentLedger("USD").authorize(usd(1000)).capture(usd(400), final=False)
    assert part.refund(usd(400)).state is S.REFUNDED
    assert part.refund(usd(100)).state is S.PARTIALLY_REFUNDED


# --- the ledger: guards ----------------------------------------------------------------------


def _code(call: object) -> str:
    with pytest.raises(PaymentRuleError) as caught:
        call()  # type: ignore[operator]
    message = str(caught.value)
    assert message[0].isupper()
    assert message.endswith(".")
    return caught.value.code


def test_over_capture_and_over_refund() -> None:
    auth = PaymentLedger("USD").authorize(usd(1000))
    assert _code(lambda: auth.capture(usd(1001))) == "over_capture"
    part = auth.capture(usd(600), final=False)
    assert _code(lambda: part.capture(usd(401))) == "over_capture"
    sale = PaymentLedger("USD").charge(usd(1000))
    assert _code(lambda: sale.refund(usd(1001))) == "over_refund"
    assert _code(lambda: sale.refund(usd(600)).refund(usd(401))) == "over_refund"
    with pytest.raises(PaymentRuleError, match=r"At most 10\.00 USD can be refunded\."):
        sale.refund(usd(1001))
    with pytest.raises(PaymentRuleError, match=r"^Nothing more can be captured"):
        PaymentLedger("USD").capture(usd(1))


def test_amounts_must_be_positive_and_in_the_payment_currency() -> None:
    ledger = PaymentLedger("USD")
    for operation in (ledger.authorize, ledger.charge):
        assert _code(lambda op=operation: op(usd(0))) == "not_positive"
        assert _code(lambda op=operation: op(usd(-1))) == "not_positive"
        assert _code(lambda op=operation: op(Money(100, "EUR"))) == "currency_mismatch"
    sale = ledger.charge(usd(100))
    assert _code(lambda: sale.refund(usd(0))) == "not_positive"
    assert _code(lambda: sale.refund(Money(1, "EUR"))) == "currency_mismatch"
    with pytest.raises(TypeError):
        sale.refund(1)  # type: ignore[arg-type]


@pytest.mark.parametrize("state", sorted(FINAL_STATES))
def test_nothing_happens_to_a_final_payment(state: PaymentState) -> None:
    now = datetime(2026, 11, 22, 12, tzinfo=UTC)
    ledger = SAMPLE[state]
    calls = [
        lambda: ledger.authorize(usd(1)),
        lambda: ledger.capture(usd(1)),
        lambda: ledger.charge(usd(1)),
        lambda: ledger.refund(usd(1)),
        lambda: ledger.void(now=now, window_ends_at=None),
        lambda: ledger.move_to(S.IN_DOUBT),
        lambda: ledger.move_to(S.CAPTURED),
    ]
    for call in calls:
        assert _code(call) == "final_state"


def test_operations_in_the_wrong_state() -> None:
    auth = PaymentLedger("USD").authorize(usd(1000))
    assert _code(lambda: auth.authorize(usd(1000))) == "illegal_transition"
    assert _code(lambda: auth.charge(usd(1000))) == "illegal_transition"
    assert _code(lambda: auth.refund(usd(1))) == "illegal_transition"
    assert _code(lambda: PaymentLedger("USD").capture(usd(1))) == "over_capture"
    assert _code(lambda: PaymentLedger("USD").refund(usd(1))) == "illegal_transition"


def test_void_rules() -> None:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    auth = PaymentLedger("USD").authorize(usd(1000))
    assert auth.void(now=now, window_ends_at=None).state is S.VOIDED
    assert auth.void(now=now, window_ends_at=now + timedelta(seconds=1)).state is S.VOIDED
    assert SAMPLE[S.PENDING].void(now=now, window_ends_at=None).state is S.VOIDED
    for closed in (now, now - timedelta(microseconds=1)):
        assert _code(lambda end=closed: auth.void(now=now, window_ends_at=end)) == (
            "void_window_closed"
        )
    # Windows given in another zone are compared as instants.
    later_elsewhere = datetime(2026, 11, 22, 13, 30, tzinfo=timezone(timedelta(hours=2)))
    assert _code(lambda: auth.void(now=now, window_ends_at=later_elsewhere)) == (
        "void_window_closed"
    )
    for captured in (auth.capture(usd(1)), auth.capture(usd(1), final=False)):
        assert _code(lambda led=captured: led.void(now=now, window_ends_at=None)) == (
            "void_after_capture"
        )
    assert _code(lambda: PaymentLedger("USD").void(now=now, window_ends_at=None)) == (
        "illegal_transition"
    )
    with pytest.raises(ValueError, match="timezone-aware"):
        auth.void(now=now.replace(tzinfo=None), window_ends_at=now + timedelta(hours=1))


# --- in doubt and provider-reported moves -----------------------------------------------------


def test_in_doubt_resolves_by_recording_what_the_provider_says() -> None:
    lost_sale = PaymentLedger("USD").move_to(S.IN_DOUBT)
    assert lost_sale.charge(usd(1799)).state is S.CAPTURED
    assert lost_sale.move_to(S.DECLINED).state is S.DECLINED
    # Without an amount, "captured" cannot be recorded: the caller must say how much.
    assert _code(lambda: lost_sale.move_to(S.CAPTURED)) == "illegal_transition"

    lost_refund = SAMPLE[S.CAPTURED].move_to(S.IN_DOUBT)
    assert lost_refund.move_to(S.CAPTURED).state is S.CAPTURED  # the refund never happened
    assert lost_refund.refund(usd(1000)).state is S.REFUNDED  # or it did
    assert _code(lambda: lost_refund.move_to(S.FAILED)) == "illegal_transition"

    lost_capture = SAMPLE[S.AUTHORIZED].move_to(S.IN_DOUBT)
    assert lost_capture.capture(usd(1000)).state is S.CAPTURED
    assert lost_capture.move_to(S.AUTHORIZED).state is S.AUTHORIZED
    assert _code(lambda: lost_capture.move_to(S.IN_DOUBT)) == "illegal_transition"


def test_move_to_keeps_amounts() -> None:
    expired = SAMPLE[S.AUTHORIZED].move_to(S.EXPIRED)
    assert (expired.state, expired.authorized, expired.captured) == (S.EXPIRED, 1000, 0)
    assert expired.capturable == usd(0)


def test_constructor_enforces_the_invariant() -> None:
    bad: list[tuple[dict[str, int], str]] = [
        (dict(authorized=100, captured=101), "over_capture"),
        (dict(authorized=100, captured=100, refunded=101), "over_refund"),
        (dict(refunded=-1), "not_positive"),
        (dict(captured=-1), "not_positive"),
        (dict(authorized=-1), "not_positive"),
    ]
    for amounts, code in bad:
        with pytest.raises(PaymentRuleError) as caught:
            PaymentLedger("USD", S.IN_DOUBT, **amounts)
        assert caught.value.code == code
    with pytest.raises(MoneyError):
        PaymentLedger("XYZ")
    with pytest.raises(TypeError):
        PaymentLedger("USD", S.AUTHORIZED, authorized=True)
    with pytest.raises(ValueError, match="'paid' is not a valid PaymentState"):
        PaymentLedger("USD", "paid")  # type: ignore[arg-type]
    assert PaymentLedger("USD", "authorized", 5).state is S.AUTHORIZED  # type: ignore[arg-type]


# --- random operation sequences ---------------------------------------------------------------

amounts = st.integers(min_value=-5, max_value=1_500)
BASE = datetime(2026, 11, 22, tzinfo=UTC)


class LedgerMachine(RuleBasedStateMachine):
    """Throws random operations at a ledger; rules may fail, invariants never may."""

    def __init__(self) -> None:
        super().__init__()
        self.ledger = PaymentLedger("USD")
        self.reached_final: PaymentState | None = None

    def _apply(self, operation: str, call: object) -> PaymentLedger | None:
        before = self.ledger
        try:
            after: PaymentLedger = call()  # type: ignore[operator]
        except PaymentRuleError as exc:
            if is_final(before.state):
                assert exc.code == "final_state"  # noqa: PT017 - a property test, not a raises
            return None
        assert not is_final(before.state), f"{operation} changed a final payment"
        assert can_transition(before.state, after.state), (operation, before, after)
        self.ledger = after
        return after

    @rule(minor=amounts)
    def authorize(self, minor: int) -> None:
        before = self.ledger
        after = self._apply("authorize", lambda: before.authorize(usd(minor)))
        if after:
            assert (after.authorized, after.captured) == (minor, before.captured)

    @rule(minor=amounts, final=st.booleans())
    def capture(self, minor: int, final: bool) -> None:
        before = self.ledger
        after = self._apply("capture", lambda: before.capture(usd(minor), final=final))
        if after:
            assert minor <= before.capturable.minor
            assert after.captured == before.captured + minor
            assert after.authorized == before.authorized

    @rule(minor=amounts)
    def charge(self, minor: int) -> None:
        before = self.ledger
        after = self._apply("charge", lambda: before.charge(usd(minor)))
        if after:
            assert after.authorized == after.captured == minor

    @rule(minor=amounts)
    def refund(self, minor: int) -> None:
        before = self.ledger
        after = self._apply("refund", lambda: before.refund(usd(minor)))
        if after:
            assert minor <= before.refundable.minor
            assert after.refunded == before.refunded + minor
            assert after.captured == before.captured

    @precondition(lambda self: self.ledger.refundable.is_positive)
    @rule()
    def refund_the_rest(self) -> None:
        before = self.ledger
        after = self._apply("refund", lambda: before.refund(before.refundable))
        assert after is not None
        assert after.state is S.REFUNDED

    @precondition(lambda self: self.ledger.capturable.is_positive)
    @rule()
    def capture_the_rest(self) -> None:
        before = self.ledger
        after = self._apply("capture", lambda: before.capture(before.capturable, final=False))
        assert after is not None
        assert after.state is S.CAPTURED

    @rule(now=st.integers(0, 100), window=st.none() | st.integers(0, 100))
    def void(self, now: int, window: int | None) -> None:
        before = self.ledger
        end = None if window is None else BASE + timedelta(minutes=window)
        moment = BASE + timedelta(minutes=now)
        after = self._apply("void", lambda: before.void(now=moment, window_ends_at=end))
        if after:
            assert before.captured == 0
            assert window is None or now < window

    @rule(state=st.sampled_from(PaymentState))
    def move_to(self, state: PaymentState) -> None:
        before = self.ledger
        after = self._apply("move_to", lambda: before.move_to(state))
        if after:
            amounts_of = (after.authorized, after.captured, after.refunded)
            assert after.state is state
            assert amounts_of == (before.authorized, before.captured, before.refunded)

    @rule(minor=st.integers(1, 100))
    def wrong_currency(self, minor: int) -> None:
        with pytest.raises(PaymentRuleError) as caught:
            self.ledger.refund(Money(minor, "EUR"))
        assert caught.value.code in {"final_state", "currency_mismatch"}

    @precondition(lambda self: self.ledger.state is not S.IN_DOUBT)
    @rule()
    def lose_the_answer(self) -> None:
        self._apply("in_doubt", lambda: self.ledger.move_to(S.IN_DOUBT))

    @invariant()
    def amounts_are_ordered(self) -> None:
        led = self.ledger
        assert 0 <= led.refunded <= led.captured <= led.authorized
        assert 0 <= led.refundable.minor <= led.captured - led.refunded
        assert 0 <= led.capturable.minor <= led.authorized - led.captured

    @invariant()
    def final_states_are_final(self) -> None:
        if self.reached_final is not None:
            assert self.ledger.state is self.reached_final
        elif is_final(self.ledger.state):
            self.reached_final = self.ledger.state


TestLedgerMachine = LedgerMachine.TestCase
TestLedgerMachine.settings = settings(
    database=None, deadline=None, max_examples=300, stateful_step_count=30
)
