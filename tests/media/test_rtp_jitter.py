"""Jitter buffer: order by timestamp, loss and duplicate accounting, wrap, adaptive depth.

Frames are plain ints here (the buffer never looks inside them), so each test can say exactly
which frame played on which tick.
"""

import pytest

from centralino.media.jitter import JitterBuffer, extend

F = 160


def ticks(jb, arrivals, n_ticks):
    """arrivals: {tick: [(seq, ts, frame), ...]} pushed before that tick's pop; returns pops."""
    out = []
    for t in range(n_ticks):
        for seq, ts, frame in arrivals.get(t, []):
            jb.push(seq, ts, frame)
        out.append(jb.pop())
    return out


def steady(frames, seq0=0, ts0=0, start_tick=0):
    """One packet per tick: frame k with seq0+k and ts0+k*160."""
    return {start_tick + k: [((seq0 + k) & 0xFFFF, (ts0 + k * F) & 0xFFFFFFFF, k)] for k in frames}


def played(out):
    return [x for x in out if x is not None]


def test_extend_picks_the_nearest_wrap():
    assert extend(2, 65534, 1 << 16) == 65538
    assert extend(65534, 65538, 1 << 16) == 65534
    assert extend(5, 10, 1 << 16) == 5


def test_in_order_stream_plays_every_frame_in_order_after_the_target_delay():
    jb = JitterBuffer(target_ms=40)
    out = ticks(jb, steady(range(20)), 22)
    assert out[0] is None  # prefetching: 20 ms buffered, target 40 ms
    assert out[1:21] == list(range(20))
    assert jb.stats.lost == 0 and jb.stats.received == 20


def test_reordered_packets_play_in_timestamp_order():
    jb = JitterBuffer(target_ms=60)
    arrivals = steady(range(10))
    arrivals[3], arrivals[4] = arrivals[4], arrivals[3]  # 4 arrives a tick before 3
    out = ticks(jb, arrivals, 14)
    assert played(out) == list(range(10))
    assert jb.stats.reordered == 1 and jb.stats.lost == 0 and jb.stats.late == 0


def test_duplicates_are_counted_and_played_once():
    jb = JitterBuffer()
    arrivals = steady(range(8))
    arrivals[5] = arrivals[5] + [(2, 2 * F, 2)]
    out = ticks(jb, arrivals, 12)
    assert played(out) == list(range(8))
    assert jb.stats.duplicate == 1 and jb.stats.received == 8


def test_a_lost_packet_is_concealed_in_place_and_counted():
    jb = JitterBuffer()
    arrivals = steady(range(12))
    del arrivals[6]
    out = ticks(jb, arrivals, 14)
    i = out.index(5)
    assert out[i + 1] is None and out[i + 2] == 7  # the hole sits where frame 6 was
    assert jb.stats.lost == 1 and jb.stats.concealed >= 1


def test_sequence_and_timestamp_wrap_together():
    jb = JitterBuffer()
    out = ticks(jb, steady(range(40), seq0=65520, ts0=(1 << 32) - 20 * F), 42)
    assert played(out) == list(range(40))
    assert jb.stats.lost == 0 and jb.stats.reordered == 0 and jb.stats.duplicate == 0


def test_a_late_packet_is_dropped_and_the_target_grows():
    jb = JitterBuffer(target_ms=40, max_ms=200)
    arrivals = steady(range(20))
    late = arrivals.pop(8)
    arrivals[12] = arrivals[12] + late  # 4 ticks late: its play time has passed
    out = ticks(jb, arrivals, 24)
    assert 8 not in out
    assert jb.stats.late == 1 and jb.stats.lost == 0  # it arrived: late, not lost
    assert jb.target_ms == 60
    assert played(out) == [k for k in range(20) if k != 8]  # nothing else dropped by the growth


def test_growth_stops_at_the_maximum():
    jb = JitterBuffer(target_ms=40, max_ms=80)
    arrivals = steady(range(100))
    for k in range(10, 100, 10):  # every 200 ms one packet comes 120 ms late
        arrivals.setdefault(k + 6, []).extend(arrivals.pop(k))
    ticks(jb, arrivals, 110)
    assert jb.stats.late >= 3
    assert jb.target_ms == 80


def test_event_packets_share_sequence_numbers_without_counting_as_loss():
    """Voice 0..4, then 7 telephone-event packets (seq 5..11) over 5 ticks, then voice again
    with timestamps that kept running: no loss, and voice resumes at the right place."""
    jb = JitterBuffer()
    arrivals = steady(range(5))
    out = ticks(jb, arrivals, 5)
    for t, seqs in enumerate([[5], [6], [7], [8], [9, 10, 11]]):
        for s in seqs:
            jb.note_sequence(s)
        out.append(jb.pop())
    for k in range(10, 16):  # voice for ticks 10..15: seq continues at 12, ts at tick 10
        jb.push(12 + k - 10, k * F, k)
        out.append(jb.pop())
    assert jb.stats.lost == 0
    assert played(out)[:5] == [0, 1, 2, 3, 4] and 10 in out and out.index(10) > out.index(4) + 5


def test_a_stall_grows_the_target_once_not_once_per_late_packet():
    jb = JitterBuffer(target_ms=40, max_ms=200)
    arrivals = steady(range(5))
    arrivals[15] = [(k, k * F, k) for k in range(5, 16)]  # 200 ms stall, then all at once
    arrivals.update(steady(range(16, 40)))
    out = ticks(jb, arrivals, 40)
    assert jb.stats.late >= 5 and jb.target_ms == 60
    got = played(out)
    assert got == sorted(got) and got[-1] >= 35


def test_a_burst_sent_ahead_is_trimmed_back_to_target():
    jb = JitterBuffer(target_ms=40)
    arrivals = steady(range(10))
    arrivals[10] = [(k, k * F, k) for k in range(10, 26)]  # the sender catches up 320 ms at once
    for k in range(26, 300):
        arrivals[k - 15] = [(k, k * F, k)]
    out = ticks(jb, arrivals, 280)
    assert jb.depth_ms <= 80
    assert jb.stats.trimmed >= 8 and jb.stats.lost == 0
    got = played(out)
    assert got == sorted(got)  # trimming never reorders


def test_ssrc_reset_restarts_playout_but_keeps_totals():
    jb = JitterBuffer()
    ticks(jb, steady(range(10)), 10)
    jb.reset()
    out = ticks(jb, steady(range(10), seq0=40000, ts0=123456), 12)
    assert played(out) == list(range(10))
    assert jb.stats.received == 20 and jb.stats.lost == 0


def test_a_large_timestamp_jump_restarts_playout():
    jb = JitterBuffer()
    arrivals = steady(range(10))
    arrivals.update(steady(range(10, 20), seq0=0, ts0=10 ** 8 - 10 * F))  # new base, same SSRC
    out = ticks(jb, arrivals, 24)
    got = played(out)
    assert got[-10:] == list(range(10, 20))  # the new stream plays whole
    assert len(got) >= 18  # at most the buffered 40 ms of the old one is dropped


def test_bad_target_is_refused():
    with pytest.raises(ValueError, match="target"):
        JitterBuffer(target_ms=300, max_ms=200)
