"""Exports: specs, their data, the authoring routes, bundles on disk and their cache."""
