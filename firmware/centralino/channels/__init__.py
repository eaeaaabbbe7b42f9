"""Channels: each line technology (fxs, fxo; gsm and sip later) behind one interface.

A channel turns its driver's register-level events into telephony events (off-hook, digit,
incoming call with caller ID, far-end hang-up) for the call engine, and takes actions (ring,
dial, answer, hang up, play). It decides no routing: that is the engine's job.
"""
