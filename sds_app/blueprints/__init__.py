"""Functions blueprints: one per area of the API."""
