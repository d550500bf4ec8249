"""Placeholder until the proxy commands land."""
