"""The Verba emulator's recordings and the searches its HTTP API runs over them
(GetCallID, GetCallURL by extension): statuses, the "next" minute, more than one record.

Sources: the Get Call ID page (seed 002; kanasoftware.jira.com/wiki/spaces/docs/pages/
4387800506/Get+Call+ID) and the Get Call URL page (kanasoftware.jira.com/wiki/spaces/v93/
pages/4388496599/Get+Call+URL), which share the `extension` and `status` parameters.
"""

from __future__ import annotations

import enum
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

NEXT_WINDOW = 60.0  # [doc] "next" is the next call within the upcoming minute
MAX_FINISHED = 1000  # finished recordings kept for "last", so a long simulation stays bounded


class RecordingStatus(enum.StrEnum):
    """A recording's status as the `status` parameter names it."""

    NEXT = "next"  # scheduled, starting at `scheduled_at`
    ONGOING = "ongoing"
    LAST = "last"  # finished at `ended_at`


# [doc] "The following valid values and value combinations apply": these and only these
# (Get Call ID page, `status`). Combinations are tried in the order given.
DOCUMENTED_STATUSES: frozenset[tuple[RecordingStatus, ...]] = frozenset(
    {
        (RecordingStatus.ONGOING,),
        (RecordingStatus.NEXT,),
        (RecordingStatus.LAST,),
        (RecordingStatus.ONGOING, RecordingStatus.NEXT),
        (RecordingStatus.LAST, RecordingStatus.ONGOING),
    }
)


@dataclass
class Recording:
    call_id: str  # Verba's CallID (uuid)
    caller: str
    called: str
    status: RecordingStatus
    platform_call_id: str | None = None
    native_id: str | None = None
    scheduled_at: float | None = None
    started_at: float | None = None
    ended_at: float | None = None

    def has_party(self, extension: str) -> bool:
        return extension in (self.caller, self.called)


class AmbiguousRecording(LookupError):
    """More than one record matches a search ([doc] "it will respond with error")."""


class RecordingStore:
    """Recordings by CallID, with the searches the API runs. `clock` is epoch seconds."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.recordings: dict[str, Recording] = {}

    def add_recording(
        self,
        *,
        caller: str,
        called: str,
        status: RecordingStatus = RecordingStatus.ONGOING,
        call_id: str | None = None,
        platform_call_id: str | None = None,
        native_id: str | None = None,
        starts_in: float = 30.0,
    ) -> Recording:
        """Add a recording; a `next` one is scheduled `starts_in` seconds from now."""
        recording = Recording(
            call_id=call_id or str(uuid.uuid4()),
            caller=caller,
            called=called,
            status=status,
            platform_call_id=platform_call_id,
            native_id=native_id,
        )
        self.recordings[recording.call_id] = recording
        return self.set_status(recording.call_id, status, starts_in=starts_in)

    def set_status(
        self, call_id: str, status: RecordingStatus, *, starts_in: float = 30.0
    ) -> Recording:
        """Move a recording to `status`, stamping the matching time from `clock`."""
        recording = self.recordings[call_id]
        now = self.clock()
        recording.status = status
        if status is RecordingStatus.NEXT:
            recording.scheduled_at = now + starts_in
            recording.started_at = recording.ended_at = None
        elif status is RecordingStatus.ONGOING:
            recording.started_at = now
            recording.ended_at = None
        else:
            if recording.started_at is None:
                recording.started_at = now
            recording.ended_at = now
            self._forget_oldest_finished()
        return recording

    def end_recording(self, call_id: str) -> Recording:
        return self.set_status(call_id, RecordingStatus.LAST)

    def get_recording(self, call_id: str) -> Recording | None:
        return self.recordings.get(call_id)

    def find_recording(
        self,
        *,
        extension: str | None = None,
        statuses: Sequence[RecordingStatus] = (),
        platform_call_id: str | None = None,
        native_id: str | None = None,
    ) -> Recording | None:
        """The search: statuses tried in order, None when nothing matches.

        Raises `AmbiguousRecording` when more than one record matches: a status that finds
        several records is an error, not a reason to try the next status.
        """
        candidates = [
            r
            for r in self.recordings.values()
            if (extension is None or r.has_party(extension))
            and (platform_call_id is None or r.platform_call_id == platform_call_id)
            and (native_id is None or r.native_id == native_id)
        ]
        if not statuses:
            return _single(candidates)
        for status in statuses:
            found = self._find_by_status(candidates, status)
            if found is not None:
                return found
        return None

    def _find_by_status(
        self, candidates: list[Recording], status: RecordingStatus
    ) -> Recording | None:
        if status is RecordingStatus.ONGOING:
            return _single([r for r in candidates if r.status is status])
        if status is RecordingStatus.NEXT:
            horizon = self.clock() + NEXT_WINDOW
            return _first(
                [
                    (r.scheduled_at, r)
                    for r in candidates
                    if r.status is status and r.scheduled_at is not None
                    if r.scheduled_at <= horizon
                ],
                latest=False,
            )
        return _first(
            [(r.ended_at, r) for r in candidates if r.status is status and r.ended_at is not None],
            latest=True,
        )

    def _forget_oldest_finished(self) -> None:
        finished = [r for r in self.recordings.values() if r.status is RecordingStatus.LAST]
        finished.sort(key=lambda r: r.ended_at or 0.0)
        for recording in finished[: max(0, len(finished) - MAX_FINISHED)]:
            del self.recordings[recording.call_id]


def parse_statuses(text: str) -> tuple[RecordingStatus, ...] | None:
    """The `status` parameter as documented, or None when it is not one of the documented
    values or combinations. Blanks after a comma are allowed ([doc] "ongoing, next")."""
    if not text.strip():
        return ()
    try:
        statuses = tuple(RecordingStatus(part.strip()) for part in text.split(","))
    except ValueError:
        return None
    return statuses if statuses in DOCUMENTED_STATUSES else None


def _single(matches: list[Recording]) -> Recording | None:
    if len(matches) > 1:
        raise AmbiguousRecording
    return matches[0] if matches else None


def _first(timed: list[tuple[float, Recording]], *, latest: bool) -> Recording | None:
    """The soonest (or latest) record; a tie is more than one record."""
    if not timed:
        return None
    best = (max if latest else min)(at for at, _ in timed)
    return _single([r for at, r in timed if at == best])
