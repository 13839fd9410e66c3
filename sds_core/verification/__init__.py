"""The verification engine: the six classic CSV files in, Graph verification messages (with their rows) out."""
