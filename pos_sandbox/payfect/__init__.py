"""Payfect's HTTP dialect under ``/payfect``: crypto checkouts (PROVIDERS.md §4).

Payfect documents two calls, ``POST /api/v1/checkouts/`` and ``GET /api/v1/checkouts/{id}/``;
its Python SDK calls the same resource as ``/api/checkouts/`` — both are served. Requests are
snake_case, responses camelCase with exactly the keys of the saved examples
(provider-specs/payfect/*.json), amounts are decimal strings. By job: ``api`` (auth and the
two calls), ``validation`` (the create request, in DRF's messages), ``checkouts`` (the
checkout's life and its signed callbacks, shared with the page), ``pages`` (the customer page
and the Payfect controls), ``errors``, ``dialect``. Decisions where the docs are silent
(``[sandbox]``):

* The backend is Django REST Framework [inferred], so errors follow DRF: 400 validation errors
  are ``{"field": ["message"]}`` (nested per invoice item), everything else ``{"detail": "…"}``.
  A missing ``Authorization`` is 401, a wrong key 403. Create answers **201**.
* Only ``usdt`` on ``tron`` (TRC20) is settled; other currencies are refused as invalid choices.
* A checkout expires 24 hours after creation (sandbox clock); the change is applied, and its
  callback recorded, the first time the checkout is looked at after that moment.
* Amounts are exact (``20.5`` → ``"20.50"``). The docs' echo quirk (``20.5`` shown as
  ``"20.00"``) is an opt-in fault: ``POST /_sandbox/payfect/faults {"truncate_amounts": true}``
  makes new checkouts drop the fraction of each unit amount.
* Callbacks (body per callback.md, snake_case) are recorded for ``checkout.completed``
  (``status: "succeeded"``) and ``checkout.expired`` (``status: "expired"``, no payment
  method), signed ``X-Payfect-Signature = Fernet(secret).encrypt(body)`` at sandbox time.
"""
