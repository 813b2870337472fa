"""SMS through Twilio's Programmable Messaging: inbound and status webhooks, sends through the Messages API."""
