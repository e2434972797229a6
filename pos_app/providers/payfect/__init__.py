"""Payfect: crypto (USDT on Tron) hosted checkout. ``adapter.py`` is the I/O half,
``mapping.py`` the pure payload half; callbacks are verified in ``providers/webhooks.py``."""
