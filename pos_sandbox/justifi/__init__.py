"""JustiFi's HTTP dialect under ``/justifi``: OAuth token, checkouts, payment methods, payments,
payment intents and checkout sessions, web component tokens and iframes, hosted checkout pages.

Objects, envelopes, error bodies and status codes follow JustiFi's OpenAPI spec, its published
mocks and its error-code catalogue (see PROVIDERS.md §1). The modules, by job:

* ``api``: the OAuth token, checkouts and payment methods, and the idempotency rules
  (``JustifiApi``, which ``payments``, ``sessions`` and ``components`` extend);
* ``checkouts``, ``payment_methods``, ``balance``: the objects and the operations the API and
  the pages share, so a payment made on a page and one made through the API leave identical
  state; ``events``: the signed webhook events every change publishes;
* ``http``: CORS, authentication (platform and web component tokens), bodies; ``errors``,
  ``pagination``; ``cards``: what only JustiFi shows of a card or bank account;
* ``pages``: the hosted checkout page; ``dialect``: the routes, for the registry.
"""
