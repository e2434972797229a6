"""pos_app: a desktop point-of-sale application for card, bank and crypto payments."""

__version__ = "0.1.0"
