"""Pure School Data Sync logic: CSV verification and sync planning. No Azure, no settings."""
