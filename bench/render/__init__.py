"""Turning leaderboards and checks into text, markdown, CSV and JSON."""
