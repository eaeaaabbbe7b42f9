"""Jitter buffer for one incoming RTP stream, pulled once per 20 ms media tick.

Why it is built this way:
- Frames are placed by RTP *timestamp*, not by sequence number: RFC 4733 event packets share the
  sequence space with voice, so counting sequence numbers would misplace the voice that follows
  a digit. Sequence numbers are used for what they are for: loss, duplicate and reorder counts
  (RFC 3550 appendix A.1, "expected minus received").
- The engine's tick pulls (``pop``); arrivals push. The buffer never needs a clock of its own:
  depth is measured in media time between the play point and the newest frame.
- Fixed small target depth (40 ms by default); each packet that arrives after its play time
  adds one frame of depth (up to ``max_ms``) by holding playout one tick; ten seconds without a
  late packet give one frame back. Excess depth (a burst after a network stall) is trimmed one
  frame at a time so a call's delay does not stay high.
- 16-bit sequence and 32-bit timestamp wrap are handled by extending both to unbounded integers
  relative to the newest value seen.
"""

from __future__ import annotations

from dataclasses import dataclass

from .frames import FRAME_MS, FRAME_SAMPLES, SAMPLE_RATE_HZ

SEQ_MODULO = 1 << 16
TIMESTAMP_MODULO = 1 << 32
SAMPLES_PER_MS = SAMPLE_RATE_HZ // 1000

DEFAULT_TARGET_MS = 40
DEFAULT_MAX_MS = 200
MAX_DROPOUT_SEQ = 3000  # RFC 3550 A.1: a bigger jump ahead is a restarted sender
DUPLICATE_WINDOW_SEQ = 1024  # sequence numbers remembered for duplicate detection
LATE_WINDOW_MS = 1000  # later than this behind the play point: a timestamp jump, not lateness
JUMP_AHEAD_MS = 2000  # further ahead than this: the sender's timestamps jumped, restart playout
IDLE_RESTART_FRAMES = 10  # 200 ms with nothing buffered: talkspurt over, prefetch again next time
TRIM_AFTER_FRAMES = 25  # depth above target + 2 frames for 0.5 s: drop one frame
DECAY_AFTER_FRAMES = 500  # 10 s without a late packet: target shrinks one frame
GROWTH_SPACING_FRAMES = 5  # one stall makes many packets late: grow once per 100 ms at most


def extend(value: int, reference: int, modulo: int) -> int:
    """The unbounded integer closest to ``reference`` whose residue is ``value`` (wrap-safe)."""
    delta = (value - reference) % modulo
    if delta >= modulo // 2:
        delta -= modulo
    return reference + delta


@dataclass
class JitterStats:
    """Counters a technician (and the tests) read; ``lost`` follows RFC 3550."""

    received: int = 0  # distinct packets (voice and events) accepted by sequence number
    duplicate: int = 0
    reordered: int = 0  # arrived after a higher sequence number, still in time
    late: int = 0  # voice arrived after its play time: dropped
    trimmed: int = 0  # frames dropped to bring an overgrown depth back to target
    concealed: int = 0  # ticks played without a frame (loss, pauses, underrun)
    expected: int = 0  # sequence numbers spanned since the last stream restart
    received_since_restart: int = 0
    lost_before_restart: int = 0

    @property
    def lost(self) -> int:
        return self.lost_before_restart + max(0, self.expected - self.received_since_restart)


class JitterBuffer:
    """Reorders voice frames by timestamp and hands one per tick to the media clock."""

    def __init__(self, target_ms: int = DEFAULT_TARGET_MS, max_ms: int = DEFAULT_MAX_MS,
                 frame_samples: int = FRAME_SAMPLES):
        if not FRAME_MS <= target_ms <= max_ms:
            raise ValueError(f"jitter buffer target {target_ms} ms must be within {FRAME_MS}..{max_ms} ms")
        self.frame_samples = frame_samples
        self.base_target = target_ms * SAMPLES_PER_MS
        self.max_depth = max_ms * SAMPLES_PER_MS
        self.target = self.base_target
        self.stats = JitterStats()
        self._seq_max: int | None = None
        self._seq_base = 0
        self._seen: set[int] = set()
        self._frames: dict[int, object] = {}
        self._ts_max: int | None = None
        self._play: int | None = None  # extended timestamp of the next frame to play
        self._last_played: int | None = None
        self._stretch = 0
        self._idle = 0
        self._over = 0
        self._since_late = GROWTH_SPACING_FRAMES

    # ---- arrivals -------------------------------------------------------------------------

    def note_sequence(self, seq: int) -> str:
        """Account a sequence number; returns "new", "reordered" or "duplicate"."""
        s = self.stats
        if self._seq_max is None:
            self._seq_max = self._seq_base = seq
            self._seen = {seq}
            s.received += 1
            s.received_since_restart += 1
            s.expected = 1
            return "new"
        ext = extend(seq, self._seq_max, SEQ_MODULO)
        if ext in self._seen or ext <= self._seq_max - DUPLICATE_WINDOW_SEQ:
            s.duplicate += 1
            return "duplicate"
        if ext - self._seq_max > MAX_DROPOUT_SEQ:
            s.lost_before_restart = s.lost
            s.received_since_restart = 0
            self._seq_base = ext
            self._seen.clear()
        self._seen.add(ext)
        s.received += 1
        s.received_since_restart += 1
        status = "new"
        if ext < self._seq_max:
            s.reordered += 1
            status = "reordered"
        else:
            self._seq_max = ext
        s.expected = self._seq_max - self._seq_base + 1
        if len(self._seen) > 2 * DUPLICATE_WINDOW_SEQ:
            floor = self._seq_max - DUPLICATE_WINDOW_SEQ
            self._seen = {x for x in self._seen if x > floor}
        return status

    def push(self, seq: int, timestamp: int, frame) -> str:
        """One voice packet's decoded frame; returns "new", "reordered", "duplicate" or "late"."""
        status = self.note_sequence(seq)
        if status == "duplicate":
            return status
        return self.push_frame(timestamp, frame) or status

    def push_frame(self, timestamp: int, frame) -> str | None:
        """Place a frame without sequence accounting (the 2nd.. frame of a 40/60 ms packet);
        returns "late" when it came after its play time, else None."""
        ts = timestamp if self._ts_max is None else extend(timestamp, self._ts_max, TIMESTAMP_MODULO)
        if self._play is not None:
            behind = self._play - ts
            if behind > 0:
                if behind <= LATE_WINDOW_MS * SAMPLES_PER_MS:
                    self._on_late()
                    return "late"
                self.restart()
            elif -behind > JUMP_AHEAD_MS * SAMPLES_PER_MS:
                self.restart()
        elif self._last_played is not None and ts <= self._last_played and \
                self._last_played - ts <= LATE_WINDOW_MS * SAMPLES_PER_MS:
            self.stats.late += 1
            return "late"
        if self._ts_max is None or ts > self._ts_max:
            self._ts_max = ts
        self._frames[ts] = frame
        if len(self._frames) > 2 * self.max_depth // self.frame_samples + 4:  # nobody is pulling
            del self._frames[min(self._frames)]
        return None

    def _on_late(self) -> None:
        self.stats.late += 1
        grow = self._since_late >= GROWTH_SPACING_FRAMES
        self._since_late = 0
        if grow and self.target + self.frame_samples <= self.max_depth:
            self.target += self.frame_samples
            self._stretch += 1

    # ---- playout --------------------------------------------------------------------------

    @property
    def depth_ms(self) -> float:
        """Media time buffered ahead of the play point."""
        if self._play is None or self._ts_max is None or not self._frames:
            return 0.0
        return max(0, self._ts_max + self.frame_samples - self._play) / SAMPLES_PER_MS

    @property
    def target_ms(self) -> float:
        return self.target / SAMPLES_PER_MS

    @property
    def playing(self) -> bool:
        return self._play is not None

    def pop(self):
        """The frame for this tick, or None (not started yet, lost, paused or stretching)."""
        if self._play is None and not self._start():
            return None
        self._since_late += 1
        if self._since_late >= DECAY_AFTER_FRAMES and self.target > self.base_target:
            self.target -= self.frame_samples
            self._since_late = 0
        if self._stretch:
            self._stretch -= 1
            self.stats.concealed += 1
            return None
        frame = self._frames.pop(self._play, None)
        self._last_played = self._play
        self._play += self.frame_samples
        if frame is None:
            self.stats.concealed += 1
            self._idle = self._idle + 1 if not self._frames else 0
            if self._idle >= IDLE_RESTART_FRAMES:
                self._play = None
                self._idle = 0
            return None
        self._idle = 0
        self._trim()
        return frame

    def _start(self) -> bool:
        if not self._frames:
            return False
        newest_end = max(self._frames) + self.frame_samples
        oldest = min(self._frames)
        if newest_end - oldest < self.target:
            return False
        self._play = max(oldest, newest_end - self.target)
        for ts in [t for t in self._frames if t < self._play]:
            del self._frames[ts]
            self.stats.trimmed += 1
        return True

    def _trim(self) -> None:
        depth = self._ts_max + self.frame_samples - self._play
        if depth > self.target + 2 * self.frame_samples:
            self._over += 1
        else:
            self._over = 0
        if self._over >= TRIM_AFTER_FRAMES or depth > self.max_depth + 2 * self.frame_samples:
            self._over = 0
            self._frames.pop(self._play, None)
            self._play += self.frame_samples
            self.stats.trimmed += 1

    def restart(self) -> None:
        """Drop buffered audio and prefetch again (new stream, timestamp jump)."""
        self._frames.clear()
        self._ts_max = None
        self._play = None
        self._last_played = None
        self._stretch = 0
        self._idle = 0
        self._over = 0

    def reset(self) -> None:
        """A new stream (SSRC change): restart playout and sequence accounting, keep totals."""
        self.restart()
        s = self.stats
        s.lost_before_restart = s.lost
        s.received_since_restart = 0
        s.expected = 0
        self._seq_max = None
        self._seen.clear()
