"""Outbound distribution: the one way anything is sent to a customer (templates, consent, quiet hours, caps)."""
