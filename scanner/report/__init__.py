"""Presenting records: JSON Lines, JSON documents and human tables."""
