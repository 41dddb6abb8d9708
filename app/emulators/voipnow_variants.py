"""The documented VoipNow deployments the emulator can show (VENDORS.md §4, §6), each a
`Behaviour`: which spelling its PhoneCalls use, how it refuses an expired token, how it
pages lists, where its API lives, what a successful action answers, how long a token lasts.

Sources (wiki.4psa.com/display/VNUAPI30 unless a repository is named):
- seed 003 (OffHold PhoneCalls): `link`, `callerId`, `"status":"5"`; PUT answers 202.
- PhoneCalls Resource: `"links": {"self": …}`, `"callerID"`, `"flow": 4, "status": 3`,
  `ringing`, `nonce`. OnHold PhoneCalls: "the Service returns the PhoneCall that was
  updated" (200). `4psa/app-facebookcallme` js/lib.js reads `JSON.parse(json)[0].links.self`
  from Create Simple and `json.entry[0]…` (an OpenSocial collection) from the list.
- OffHold PhoneCalls "Success" table: 200, or 204 ("no phone calls to be returned").
- `4psa/app-click2conf` request.php, `4psa/app-facebookcallme` plib/lib.php: an expired
  token is answered 403 (`Response::STATUS_FORBIDDEN`), the app renews and resends.
- List PhoneCalls: `count` "page size of a collection", `startIndex`, each max 5000.
- `4psa/app-facebookcallme` plib/lib.php, `4psa/app-click2conf` request.php,
  `4psa/uapi-example-python` 04_park_call.py: the API at `https://host/unifiedapi/phoneCalls/…`
  with the token at `https://host/oauth/token.php`.
- Token lifetime: one hour; another revision of the OAuth page says two hours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Behaviour:
    # "seed": link / callerId / string numbers; "resource": links / callerID / numbers.
    shape: Literal["seed", "resource"] = "seed"
    expired_token_status: int = 401
    # List answers: a bare array (seed) or an OpenSocial collection with totalResults.
    collection: bool = False
    page_size: int = 5000  # the most one page holds, whatever `count` asks
    prefix: str = ""  # before everything, oauth included (a proxy mounting VoipNow)
    api_path: str = "/uapi"  # the API's root under the prefix
    action_status: int = 202  # the answer to a successful PUT action
    token_lifetime: int = 3600


BEHAVIOURS: Mapping[str, tuple[str, Behaviour]] = {
    "seed": (
        "seed 003: link, callerId, string flow/status; PUT 202; 401 on a bad token",
        Behaviour(),
    ),
    "resource": (
        "PhoneCalls Resource page: links.self, callerID, numeric flow/status; lists as "
        "OpenSocial collections (entry); PUT 200 with the PhoneCall",
        Behaviour(shape="resource", collection=True, action_status=200),
    ),
    "expired-403": (
        "an expired or unknown token is answered 403 (4psa/app-click2conf request.php, "
        "4psa/app-facebookcallme plib/lib.php renew and resend on 403)",
        Behaviour(expired_token_status=403),
    ),
    "paged": (
        "lists in pages of at most 2 PhoneCalls, as OpenSocial collections with "
        "totalResults (List PhoneCalls: count, startIndex)",
        Behaviour(collection=True, page_size=2),
    ),
    "action-204": (
        "PUT actions and Delete answer 204 without a body (OffHold PhoneCalls: 200 or 204)",
        Behaviour(action_status=204),
    ),
    "unifiedapi-prefix": (
        "everything (oauth and uapi) under /unifiedapi/ only: a tenant's base URL with a "
        "path prefix",
        Behaviour(prefix="/unifiedapi"),
    ),
    "unifiedapi-path": (
        "the API at /unifiedapi/phoneCalls/…, the token at /oauth/token.php, as 4PSA's "
        "apps call it (app-facebookcallme, app-click2conf, uapi-example-python)",
        Behaviour(api_path="/unifiedapi"),
    ),
    "token-2h": (
        "tokens last two hours (expires_in 7200), as another revision of the docs says",
        Behaviour(token_lifetime=7200),
    ),
}

VARIANTS: Mapping[str, str] = {name: what for name, (what, _) in BEHAVIOURS.items()}


def behaviour_of(variant: str) -> Behaviour:
    return BEHAVIOURS[variant][1]
