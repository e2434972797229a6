"""Paths, logging, redaction and web assets: what every layer may use.

Imports nothing else of pos_app (the bottom of the layer contract)."""
