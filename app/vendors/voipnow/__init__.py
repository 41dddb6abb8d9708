"""VoipNow UnifiedAPI (VENDORS.md §4, §6; wiki.4psa.com/display/VNUAPI30): wire shapes
(`wire`), total mapping to the domain (`mapping`), the OAuth session that renews its token
on a 401 or 403 (`session`), paged lists (`listing`) and the adapter (`adapter`)."""

from app.vendors.voipnow.adapter import VoipNowAdapter
from app.vendors.voipnow.mapping import VOIPNOW_VIEW_STATES, created_native_id, view_state

__all__ = ["VOIPNOW_VIEW_STATES", "VoipNowAdapter", "created_native_id", "view_state"]
