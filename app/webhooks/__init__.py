"""Webhooks: subscriptions and their signed, retried delivery."""
