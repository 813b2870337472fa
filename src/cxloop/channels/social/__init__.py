"""Social networks through a bridge: a generic signed webhook in, the same webhook format out."""
