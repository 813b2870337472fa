"""Django's PostgreSQL backend with one change: aware datetimes are sent in UTC (see base.py)."""
