"""The demo calls every emulator seeds (the vendor pages' example calls), by vendor."""

from __future__ import annotations

from app.calls import Vendor

DEMO_IDS: dict[Vendor, str] = {
    Vendor.ORACLE: "oracle:1TfU02Xfme2GMuzfUh0rkdgvz4",
    Vendor.HUAWEI: "huawei:645735364434067472",
    Vendor.VERBA: "verba:a8343631-9f35-4a3a-83f0-9e81592339fb",
    Vendor.VOIPNOW: "voipnow:12/0003*210/b817d2618fe6f1804333",
    Vendor.GENESYS: "genesys:01RCC3N118B1V0SL8O7GK2LAES000010",
}

# Well-formed ids of calls no emulator knows.
UNKNOWN_IDS: dict[Vendor, str] = {
    Vendor.ORACLE: "oracle:NoSuchSession000000000000",
    Vendor.HUAWEI: "huawei:999999999999999999",
    Vendor.VERBA: "verba:00000000-0000-4000-8000-000000000000",
    Vendor.VOIPNOW: "voipnow:12/0003*210/ffffffffffffffffffff",
    Vendor.GENESYS: "genesys:00000000000000000000000000000000",
}

TYPENAMES: dict[Vendor, str] = {
    Vendor.ORACLE: "OracleCall",
    Vendor.HUAWEI: "HuaweiCall",
    Vendor.VERBA: "VerbaCall",
    Vendor.VOIPNOW: "VoipNowCall",
    Vendor.GENESYS: "GenesysCall",
}
