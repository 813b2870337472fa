"""Journeys: declarative documents (YAML or JSON, checked against the shipped JSON Schema), their diagrams, and
later their versions, runtime and automation rules."""
