"""Genesys Web Services 8.5 Voice API (VENDORS.md §5, §6): wire shapes (`wire`), their
mapping to the domain (`mapping`), the HTTP session with its cookies and CSRF token
(`session`), CometD notifications (`push`) and the adapter (`adapter`)."""

from app.vendors.genesys.adapter import GenesysAdapter
from app.vendors.genesys.mapping import GENESYS_STATES, GENESYS_STATUS_ERRORS, call_from_wire

__all__ = ["GENESYS_STATES", "GENESYS_STATUS_ERRORS", "GenesysAdapter", "call_from_wire"]
