"""Email on the wire: parsing what arrives (RFC 5322/MIME) and building what goes out, with no database access."""
