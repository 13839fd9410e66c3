"""A local Industry Data API server for the School Data Sync forwarding tests."""
