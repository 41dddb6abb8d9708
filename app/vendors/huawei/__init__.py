"""Huawei Cloud CEC (VENDORS.md §2, §6; seed 001), one module per concern: `wire` (paths and
JSON shapes), `mapping` (wire -> domain, total), `refusals` (retCodes -> domain errors),
`reasons` (reasonCode texts), `session` (AK/SK tokens, authorised POST), `adapter`."""

from app.vendors.huawei.adapter import HuaweiAdapter
from app.vendors.huawei.mapping import HUAWEI_STATES, huawei_call_from_wire
from app.vendors.huawei.wire import (
    CREATE_CALL_PATH,
    CREATE_CALL_V3_PATH,
    QUERY_CALL_STATE_PATH,
    TOKEN_PATH,
)

__all__ = [
    "CREATE_CALL_PATH",
    "CREATE_CALL_V3_PATH",
    "HUAWEI_STATES",
    "QUERY_CALL_STATE_PATH",
    "TOKEN_PATH",
    "HuaweiAdapter",
    "huawei_call_from_wire",
]
