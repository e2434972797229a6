"""Webhooks: the outbox every dialect records its signed events in (``outbox``), and their
delivery to the registered endpoints with the control API around it (``delivery``).

Providers import ``outbox`` only; ``delivery`` (which knows every dialect) is the server's.
"""
