"""cxloop: a self-hostable closed-loop customer engagement platform."""

__version__ = "0.1.0"
