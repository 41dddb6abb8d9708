"""Vendor adapters: one module per vendor, plumbing in `http`, wiring in `registry`."""
