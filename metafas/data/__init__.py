"""Prepared-data store, batches and loaders."""
