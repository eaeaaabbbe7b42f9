"""DTMF detector speed: channel-seconds of audio per CPU-second on one core.

Figures:
- whole_file: a recording dense with keys scanned in one call (``centralino dsp dtmf-decode``);
- per_frame_1ch: one channel fed 20 ms frames one at a time (numpy's fixed cost per call dominates);
- bank_Nch: N channels analysed together each 20 ms tick with ``DtmfBank``, as the media loop
  does on the appliance; this is the figure that says whether a Pi can watch every port.
Traffic per channel: line noise with keys dialled now and then (about a tenth of the time).
Goal from the issue: >= 1000x real time.
"""

from _common import cpu_seconds, report  # first: it puts firmware/ on the import path
import numpy as np

from centralino.media import dtmf
from centralino.media.frames import FRAME_SAMPLES, SAMPLE_RATE_HZ, saturate
from tests.signals import dtmf_sets

SECONDS = 60


def dense_keys(seconds: int) -> np.ndarray:
    x = np.concatenate([c.samples for c in dtmf_sets.dialled_sequences(seed=9, count=200)])
    return saturate(np.tile(x, int(np.ceil(seconds * SAMPLE_RATE_HZ / len(x))))[: seconds * SAMPLE_RATE_HZ])


def line_traffic(seconds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 300, seconds * SAMPLE_RATE_HZ)
    keys = [c.samples for c in dtmf_sets.dialled_sequences(seed=seed, count=6)]
    for k in keys:
        at = int(rng.integers(0, len(x) - len(k)))
        x[at: at + len(k)] += k
    return saturate(x)


def main() -> None:
    figures = {"audio_seconds_per_channel": SECONDS}
    x = dense_keys(SECONDS)
    figures["whole_file_x_realtime"] = round(SECONDS / cpu_seconds(lambda: dtmf.detect(x)))

    one = line_traffic(SECONDS, 1)
    frames = one.reshape(-1, FRAME_SAMPLES)

    def single():
        det = dtmf.DtmfDetector()
        for f in frames:
            det.feed(f)

    t = cpu_seconds(single)
    figures["per_frame_1ch_x_realtime"] = round(SECONDS / t)
    figures["per_frame_1ch_us"] = round(t / len(frames) * 1e6, 1)
    for channels in (8, 32):
        ticks = np.stack([line_traffic(SECONDS, 100 + c) for c in range(channels)]).reshape(channels, -1, FRAME_SAMPLES)

        def banked():
            bank = dtmf.DtmfBank(channels)
            for i in range(ticks.shape[1]):
                bank.feed(ticks[:, i, :])

        t = cpu_seconds(banked, repeat=2)
        figures[f"bank_{channels}ch_x_realtime"] = round(SECONDS * channels / t)
        figures[f"bank_{channels}ch_us_per_channel_frame"] = round(t / (ticks.shape[1] * channels) * 1e6, 2)
    figures["goal_x_realtime"] = 1000
    report("dtmf_speed", **figures)


if __name__ == "__main__":
    main()
