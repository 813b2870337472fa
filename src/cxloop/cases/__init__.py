"""Adaptive case management: goals, plans, SLAs, promises, hand-overs, routing and repeat contacts."""
