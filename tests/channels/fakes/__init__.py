"""Fake providers on loopback that speak the real wire formats (Twilio's Messages API, Meta's Cloud API)."""
