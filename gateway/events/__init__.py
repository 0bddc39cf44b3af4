"""Business events and data events: catalog, capture, outbox, delivery."""
