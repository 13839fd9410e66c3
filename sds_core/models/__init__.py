"""The API's resource models: profiles, their stored records and the sync run status, as pure pydantic models."""
