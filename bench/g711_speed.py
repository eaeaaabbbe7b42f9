"""G.711 throughput: samples per CPU-second for A-law and u-law, encode and decode, and the
per-frame cost a bridged call pays (one encode and one decode per 20 ms and direction)."""

from _common import cpu_seconds, report  # first: it puts firmware/ on the import path
import numpy as np

from centralino.media import g711
from centralino.media.frames import FRAME_SAMPLES

N = 8_000_000


def main() -> None:
    rng = np.random.default_rng(1)
    x = rng.integers(-32768, 32768, N).astype(np.int16)
    frame = x[:FRAME_SAMPLES]
    figures = {}
    for law, (enc, dec) in g711.CODECS.items():
        codes = enc(x)
        figures[f"{law}_encode_msamples_per_s"] = round(N / cpu_seconds(lambda: enc(x)) / 1e6, 1)
        figures[f"{law}_decode_msamples_per_s"] = round(N / cpu_seconds(lambda: dec(codes)) / 1e6, 1)
        loops = 20000
        t = cpu_seconds(lambda: [dec(enc(frame)) for _ in range(loops)])
        figures[f"{law}_frame_round_trip_us"] = round(t / loops * 1e6, 2)
    report("g711_speed", **figures)


if __name__ == "__main__":
    main()
