"""Reads of case management, all taking the acting user: cases (queues, the case page), sla, promises, routing."""
