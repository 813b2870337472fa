"""WhatsApp through Meta's WhatsApp Cloud API: the Graph webhook in, POST /{phone-number-id}/messages out."""
