"""Checkout.com adapter (NAS "default" accounts, and ABC/"Previous" keys via raw auth)."""
