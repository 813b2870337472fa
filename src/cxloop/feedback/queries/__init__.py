"""Reads of feedback, each taking the acting user. Import the submodule you need."""
