"""Telephony signal processing: the layer every channel and flow stands on.

Everything here works on the same unit: a frame of 20 ms of 8 kHz audio, 160 samples of int16
(see ``frames``). Modules: ``g711`` (A-law/u-law), ``levels`` (dBm0), ``tones`` (tone plans),
``dtmf`` (Q.23 generation, Q.24 detection), ``v23`` and ``callerid`` (ETSI EN 300 659 caller ID),
``mixer`` (conference and gain), ``wavfile`` and ``prompts`` (8 kHz WAV in and out).
"""
