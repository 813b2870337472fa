"""Channels: one adapter per channel that turns what arrives into interactions and sends what goes out."""
