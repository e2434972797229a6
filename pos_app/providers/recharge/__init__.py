"""ReCharge (Recharge Payments) Checkouts API adapter: hosted checkout, charging a checkout
with a processor token, and lookup. ``adapter.py`` is the I/O half; ``mapping.py`` (checkouts)
and ``charges.py`` (charges and payments) are the pure payload halves."""
