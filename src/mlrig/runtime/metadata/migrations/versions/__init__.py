"""Revisions of the metadata store schema."""
