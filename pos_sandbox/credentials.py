"""Every test credential the sandbox publishes, in one place.

They are not secrets: the banner of ``pos-app sandbox`` prints them, and the app's sandbox
profiles use them. Each dialect accepts only its own. Nothing here imports anything: the app
reads this module without loading the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass

# JustiFi: OAuth client credentials, the platform and the store's sub-account.
JUSTIFI_CLIENT_ID = "test_pos_sandbox"
JUSTIFI_CLIENT_SECRET = "sandbox-secret-not-a-real-key"  # noqa: S105 - a published test value
JUSTIFI_SUB_ACCOUNT = "acc_SandboxStore0001"
JUSTIFI_PLATFORM_ACCOUNT = "acc_SandboxPlatform01"
# Checkout.com: the keys and processing channel of a sandbox NAS account.
CHECKOUT_COM_SECRET_KEY = "sk_sbox_m73dzbpy7cf3gfd46xr4yj5xo4e"  # noqa: S105 - published
CHECKOUT_COM_PUBLIC_KEY = "pk_sbox_a2qmkdqwkzb5lsjx4t7o3nrsfye"
CHECKOUT_COM_PROCESSING_CHANNEL = "pc_w3tnqz5v7sdmu2nxzq4rkhb6ya"
# ReCharge: a store's API access token.
RECHARGE_ACCESS_TOKEN = "sandbox-recharge-access-token"  # noqa: S105 - a published test value
# Payfect: a merchant's API key.
PAYFECT_API_KEY = "SandboxP.sandbox-payfect-api-key-not-real"

# The secrets webhooks are signed with unless the control API sets others (public: test only).
WEBHOOK_SECRETS: dict[str, str] = {
    "justifi": "sandbox-justifi-webhook-secret",
    "checkout_com": "sandbox-checkout-com-webhook-key",
    "recharge": "sandbox-recharge-client-secret",
    # Payfect signs with Fernet: a url-safe base64 key of 32 bytes.
    "payfect": "c2FuZGJveC1wYXlmZWN0LWZlcm5ldC1rZXktMzJieXQ=",
}


@dataclass(frozen=True)
class Credential:
    provider: str
    name: str
    value: str


PUBLISHED: tuple[Credential, ...] = (
    Credential("JustiFi", "client id", JUSTIFI_CLIENT_ID),
    Credential("JustiFi", "client secret", JUSTIFI_CLIENT_SECRET),
    Credential("JustiFi", "sub-account", JUSTIFI_SUB_ACCOUNT),
    Credential("Checkout.com", "secret key", CHECKOUT_COM_SECRET_KEY),
    Credential("Checkout.com", "public key", CHECKOUT_COM_PUBLIC_KEY),
    Credential("Checkout.com", "processing channel", CHECKOUT_COM_PROCESSING_CHANNEL),
    Credential("ReCharge", "access token", RECHARGE_ACCESS_TOKEN),
    Credential("Payfect", "API key", PAYFECT_API_KEY),
)
