"""Verba Recording System (VENDORS.md §3, §6): the adapter (`adapter`), GetCallID's
documented search (`search`) and the `<VerbaApi>` XML it answers in (`wire`)."""

from app.vendors.verba.adapter import API_PATH, VerbaAdapter
from app.vendors.verba.search import DOCUMENTED_STATUSES, VERBA_STATES
from app.vendors.verba.wire import VerbaApiReply, parse_reply

__all__ = [
    "API_PATH",
    "DOCUMENTED_STATUSES",
    "VERBA_STATES",
    "VerbaAdapter",
    "VerbaApiReply",
    "parse_reply",
]
