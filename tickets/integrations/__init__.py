"""Help-desk integrations: outbound webhooks (one signer, one HTTP poster), API keys and idempotency."""
