"""Storage adapters: the only modules that talk to Azure Storage."""
