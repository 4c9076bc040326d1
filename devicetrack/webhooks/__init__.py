"""Signed webhooks (Standard Webhooks): subscriptions, the outbox, delivery by the job runner."""
