"""What the VoipNow adapter tests share: an adapter on the emulator, the request log."""

from __future__ import annotations

import time

from app.calls import Vendor
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.voipnow import VoipNowEmulator
from app.emulators.voipnow_store import DEMO_CALL_ID, PhoneCall, PhoneCallStore, PhoneCallView
from app.vendors.voipnow import VoipNowAdapter
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory

DEMO = f"12/0003*210/{DEMO_CALL_ID}"
SECRET = DEMO_CREDENTIALS["voipnow"]["client_secret"]


def make_adapter(
    vendor_http: VendorHttpFactory,
    *,
    timeout: float = 2.0,
    client_secret: str = SECRET,
    clock: ManualClock | None = None,
    api_path: str = "/uapi",
    page_size: int = 5000,
) -> VoipNowAdapter:
    http = vendor_http(Vendor.VOIPNOW, timeout=timeout)
    return VoipNowAdapter(
        http,
        client_id=DEMO_CREDENTIALS["voipnow"]["client_id"],
        client_secret=client_secret,
        api_path=api_path,
        page_size=page_size,
        clock=clock if clock is not None else time.monotonic,
    )


def requests_of(server: EmulatorServer, method: str, path_contains: str) -> list[str]:
    return [
        r.path
        for r in server.control.requests
        if r.vendor == "voipnow" and r.method == method and path_contains in r.path
    ]


def token_requests(server: EmulatorServer) -> int:
    return server.control.count("voipnow", path_contains="/oauth/token.php")


def add_call(store: PhoneCallStore, phone_call_id: str, extension: str = "0003*210") -> str:
    store.add_call(
        PhoneCall(phone_call_id, "12", extension, [PhoneCallView("00", extension, status="5")])
    )
    return f"12/{extension}/{phone_call_id}"


def assert_no_secrets(error: BaseException, emulator: VoipNowEmulator) -> None:
    for secret in (SECRET, *emulator.tokens):
        assert secret not in str(error)
