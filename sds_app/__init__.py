"""The Azure shell around sds_core: HTTP routes, triggers and storage adapters."""
