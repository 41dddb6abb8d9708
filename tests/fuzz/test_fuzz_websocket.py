"""Fuzzing the websocket endpoint (issue 11 item 10): broken and hostile frames, in both
protocols. The connection answers with a message or closes with a close frame and a
code of the protocol (44xx, 1000, 1002, 1003, 1007, 1008, 1009) — never a dropped socket
(1006) or an internal error (1011), and every error it sends is coded."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from tests.fuzz import strategies as hostile
from tests.fuzz.harness import TALLY, ServedGateway, check_errors_coded, check_text

ALLOWED_CLOSE = {1000, 1002, 1003, 1007, 1008, 1009, 4400, 4401, 4403, 4408, 4409, 4429, 4499}


@given(
    protocol=st.sampled_from(["graphql-transport-ws", "graphql-ws"]),
    messages=hostile.ws_messages,
)
def test_fuzz_websocket_frames(gateway: ServedGateway, protocol: str, messages: list[str]) -> None:
    TALLY.count("websocket")
    try:
        with connect(
            gateway.ws_url,
            subprotocols=[Subprotocol(protocol)],
            open_timeout=5,
            close_timeout=2,
        ) as socket:
            try:
                for message in messages:
                    socket.send(message)
                while True:
                    reply = socket.recv(timeout=0.3)
                    text = reply if isinstance(reply, str) else reply.decode()
                    check_text(text)
                    document = json.loads(text)
                    payload = document.get("payload")
                    if document.get("type") == "error":
                        errors = payload if isinstance(payload, list) else [payload]
                        check_errors_coded({"errors": errors})
                    elif isinstance(payload, dict):
                        check_errors_coded(payload)
            except TimeoutError:
                return  # still open and quiet: fine
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd is not None else 1006
                if code not in ALLOWED_CLOSE:
                    TALLY.server_errors += 1
                assert code in ALLOWED_CLOSE, (code, messages)
    except InvalidStatus as refused:
        status = refused.response.status_code
        if status >= 500:
            TALLY.server_errors += 1
        assert status < 500
