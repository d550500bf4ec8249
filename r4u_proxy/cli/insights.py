"""Placeholder: commands of this module are registered on `main` from r4u_proxy.cli."""
