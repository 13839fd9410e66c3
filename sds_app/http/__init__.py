"""Graph-style HTTP plumbing: error envelope, request ids, JSON bodies, OData paging."""
