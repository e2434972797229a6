"""Checkout.com's HTTP dialect under ``/checkout-com`` (PROVIDERS.md §2, NAS spec 2023-10-16).

By job: ``api`` (the REST endpoints and their idempotency), ``validation`` (what a request
may carry), ``gateway`` (the objects and rules: tokens, customers, payments and their actions,
hosted pages and links, webhooks), ``views`` (the answers' bodies), ``pages`` (3-D Secure
challenge, Hosted Payments Page, Payment Link page), ``cards`` (the test cards and response
codes), ``errors``, ``ids``, and ``dialect`` (the routes, for the registry).
"""
