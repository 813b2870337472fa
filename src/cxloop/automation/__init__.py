"""Automation rules: "when <event> and <conditions> then <actions>", tried in order, each run logged."""
