"""Customer-facing pages (no staff login): the preference centre, reached through a signed link."""
