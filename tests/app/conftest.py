"""Fixtures of the app tests (defined in fixtures.py so that helpers can import their types)."""

from tests.app.fixtures import app_env, private_azurite, private_env, signer

__all__ = ["app_env", "private_azurite", "private_env", "signer"]
