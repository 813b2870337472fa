"""Web chat: an embeddable widget for the business's website, its visitor API and the chat channel's adapter."""
