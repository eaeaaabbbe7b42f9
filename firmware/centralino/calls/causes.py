"""Why a call ended, as ITU-T Q.850 cause values (what ISDN, SIP and CDR tools all understand)."""

from __future__ import annotations

from enum import IntEnum


class Cause(IntEnum):
    UNALLOCATED_NUMBER = 1
    NORMAL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONSE = 18
    NO_ANSWER = 19
    CALL_REJECTED = 21
    NO_CIRCUIT_AVAILABLE = 34
    TEMPORARY_FAILURE = 41
    ORIGINATOR_CANCEL = 127  # Q.850 "interworking, unspecified"; SIP maps caller cancel here too

    @property
    def label(self) -> str:
        return self.name.lower()


# The CDR disposition each cause leads to when the call was never answered.
UNANSWERED_DISPOSITION = {
    Cause.USER_BUSY: "busy",
    Cause.NO_ANSWER: "no_answer",
    Cause.NO_USER_RESPONSE: "no_answer",
    Cause.ORIGINATOR_CANCEL: "no_answer",
    Cause.NORMAL_CLEARING: "no_answer",
}


def disposition_for(cause: Cause, answered: bool, transferred: bool) -> str:
    if answered:
        return "transferred" if transferred else "answered"
    return UNANSWERED_DISPOSITION.get(cause, "failed")
