"""ReCharge's HTTP dialect under ``/recharge``: the Checkouts API (PROVIDERS.md §3).

By job: ``api`` (auth, the rate limit, versions, the endpoints), ``fields`` (what a create or
update may carry), ``checkouts`` (the operations the API and the hosted page share, and their
webhooks), ``views`` (totals, shipping and each version's shapes), ``products`` (the catalog),
``pages`` (the hosted checkout page), ``errors``, and ``dialect`` (the routes, for the registry).

ReCharge publishes no OpenAPI; paths, envelopes and fields follow its guides, the shop-docs
mirror and the third-party ``recharge-api`` client. Where the sources are silent this package
decides, and says so (``[sandbox]``):

* ``X-Recharge-Version`` selects the 2021-01 or 2021-11 shapes; absent → **2021-01** (the real
  default is a store setting). Any other value → 426 ``{"errors": "Invalid API version"}``.
* Errors are ``{"errors": "<message>"}`` or ``{"errors": {"field": ["message"]}}`` (422), and
  ``{"error": "Not found"}`` for unknown objects, as the third-party captures show.
* ``POST /checkouts`` answers 200 under 2021-01 (the 2019 capture) and 201 under 2021-11 (the
  API standards: "201: … created a new resource"); a declined charge answers 402 with
  ``{"errors": "<decline message>"}`` and leaves the checkout open for another attempt.
* Line items either carry a price (custom items: ``title`` + ``price`` / ``unit_price``) or
  name a catalog variant (``variant_id`` / ``external_variant_id``, optionally ``product_id``),
  as ReCharge's own checkout example does: then title, sku, weight and price come from the
  catalog (``products``: ``GET /products``, ``GET /products/{id}``). An unknown
  variant is a 422 on ``line_items[i].variant_id`` (the exact real message is unpublished).
* 2021-11 writes external ids as strings (its API standards), whatever type was sent.
* No idempotency header exists: a client that lost a response looks the checkout up
  (``completed_at`` / ``charge_id``) before charging again.
* Rate limit: a leaky bucket of 40 calls per access token leaking 2 per second on the sandbox
  clock; every answer of an API route carries ``X-Recharge-Limit: n/40``; a full bucket → 429.
* Taxes are not simulated (``total_tax`` is ``"0.00"``); no discount codes exist.
* Webhook bodies use the 2021-01 shapes; topics ``checkout/created``, ``checkout/updated``,
  ``checkout/completed``, ``charge/paid``, ``charge/failed``; signed
  ``X-Recharge-Hmac-Sha256 = hex(sha256(client_secret + body))``.

Test payment tokens for ``POST /checkouts/{token}/charge`` are in ``TEST_PAYMENT_TOKENS``.
"""
