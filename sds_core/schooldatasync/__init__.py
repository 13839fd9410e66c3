"""Forwarding a run's files to the tenant's new School Data Sync: the pure part (no Azure, no settings)."""
