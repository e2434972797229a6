"""The checkout web view's navigation rules, decided in pure Python."""

import pytest

from pos_app.gui.webview.policy import (
    FAILURE_RETURN_URL,
    SUCCESS_RETURN_URL,
    NavigationPolicy,
    Origin,
    Verdict,
    resource_allowed,
)

PROVIDER = "http://127.0.0.1:41234/justifi/hosted-checkout/cho_abc"
POLICY = NavigationPolicy.for_urls(PROVIDER)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:41234/justifi/hosted-checkout/cho_abc",
        "http://127.0.0.1:41234/justifi/hosted-checkout/cho_abc/pay",
        "HTTP://127.0.0.1:41234/other/path?x=1",
    ],
)
def test_main_frame_may_stay_on_the_provider_origin(url: str) -> None:
    assert POLICY.decide(url, main_frame=True) is Verdict.ALLOW


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:41235/justifi/hosted-checkout/cho_abc",  # other port
        "https://127.0.0.1:41234/justifi/",  # other scheme
        "http://localhost:41234/justifi/",  # other host name
        "https://evil.example/phish",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "javascript:alert(1)",
        "pos-app://anything",
        "about:blank",
        "chrome://settings",
        "view-source:http://127.0.0.1:41234/",
        "ftp://127.0.0.1:41234/",
        "http://[::1",  # malformed
    ],
)
def test_main_frame_may_not_leave_the_provider(url: str) -> None:
    assert POLICY.decide(url, main_frame=True) is Verdict.BLOCK


def test_return_url_is_intercepted_never_loaded() -> None:
    url = f"{SUCCESS_RETURN_URL}?checkout_id=cho_abc"
    assert POLICY.decide(url, main_frame=True) is Verdict.INTERCEPT
    # A frame must not be able to trigger our return handling.
    assert POLICY.decide(url, main_frame=False) is Verdict.BLOCK


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("https://acs.issuer-bank.example/3ds/challenge", Verdict.ALLOW),  # 3-D Secure frame
        ("http://127.0.0.1:41234/justifi/iframe/v2/cardNumber", Verdict.ALLOW),
        ("about:blank", Verdict.ALLOW),
        ("about:srcdoc", Verdict.ALLOW),
        ("http://plain-http.example/frame", Verdict.BLOCK),
        ("file:///etc/passwd", Verdict.BLOCK),
        ("data:text/html,x", Verdict.BLOCK),
        ("javascript:void(0)", Verdict.BLOCK),
    ],
)
def test_frames_may_load_https_anywhere_but_nothing_else(url: str, verdict: Verdict) -> None:
    assert POLICY.decide(url, main_frame=False) is verdict


def test_origin_defaults_ports_by_scheme() -> None:
    assert Origin.of("https://a.example/x") == Origin("https", "a.example", 443)
    assert Origin.of("http://a.example") == Origin("http", "a.example", 80)
    assert Origin.of("mailto:x@y") is None


def test_a_three_ds_challenge_may_use_its_own_origin_and_frames_but_not_wander() -> None:
    challenge = NavigationPolicy.for_urls("https://acs.bank.example:8443/3ds/sid_abc")
    assert challenge.decide("https://acs.bank.example:8443/3ds/sid_abc/step2", main_frame=True) is (
        Verdict.ALLOW
    )
    assert challenge.decide("https://acs.bank.example/3ds/", main_frame=True) is Verdict.BLOCK
    assert challenge.decide("https://other-acs.example/3ds", main_frame=True) is Verdict.BLOCK
    assert challenge.decide("https://other-acs.example/3ds", main_frame=False) is Verdict.ALLOW
    failure = f"{FAILURE_RETURN_URL}?cko-session-id=sid_abc"
    assert challenge.decide(failure, main_frame=True) is Verdict.INTERCEPT
    assert challenge.decide(failure, main_frame=False) is Verdict.BLOCK


def test_card_input_origins_load_only_in_sub_frames() -> None:
    iframes = Origin("http", "127.0.0.1", 50000)
    policy = NavigationPolicy(POLICY.allowed_origins, frame_origins=frozenset({iframes}))
    card_field = "http://127.0.0.1:50000/justifi/iframe/v2/cardNumber"
    assert policy.decide(card_field, main_frame=False) is Verdict.ALLOW
    assert policy.decide(card_field, main_frame=True) is Verdict.BLOCK
    # Without it, a plain-http frame from another origin stays blocked.
    assert POLICY.decide(card_field, main_frame=False) is Verdict.BLOCK


LIVE_PAGE = frozenset({Origin("https", "components.justifi.ai", 443)})
SANDBOX = Origin("http", "127.0.0.1", 41234)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:41234/_sandbox/justifi/pay",  # the sandbox's control API
        "http://127.0.0.1:8790/webhooks/justifi",  # the till's webhook receiver
        "http://localhost:631/",  # the till's printer service
        "http://[::1]:41234/",
        "http://192.168.1.1/admin",  # the store's router
        "https://10.0.0.7/",
        "http://169.254.169.254/latest/meta-data/",
        "http://printer.local/",
        "http://0.0.0.0:41234/",
    ],
)
def test_a_provider_page_cannot_reach_this_machine_or_the_stores_network(url: str) -> None:
    assert resource_allowed(url, None, LIVE_PAGE) is False
    assert resource_allowed(url, None, frozenset()) is False


def test_a_sandbox_page_reaches_its_own_origin_only() -> None:
    own = frozenset({SANDBOX})
    assert resource_allowed("http://127.0.0.1:41234/justifi/v1/analytics", None, own)
    assert not resource_allowed("http://127.0.0.1:8790/webhooks/justifi", None, own)
    assert resource_allowed("https://components.justifi.ai/x.js", None, own)  # public: as before
