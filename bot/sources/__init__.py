"""Fetching: the polite HTTP client, the address guard, polling with backoff, and document ingestion."""
