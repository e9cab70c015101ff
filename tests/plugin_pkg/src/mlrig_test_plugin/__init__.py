"""Flavors for mlrig's tests."""
