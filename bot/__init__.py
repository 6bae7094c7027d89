"""Telegram: command handlers, alert formatting, and the delivery worker."""
