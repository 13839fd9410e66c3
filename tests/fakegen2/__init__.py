"""A local Azure Data Lake Storage Gen2 endpoint: the new School Data Sync's upload sessions."""
