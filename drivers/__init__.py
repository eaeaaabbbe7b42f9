"""Chip drivers: they speak registers over bus objects and know nothing about calls.

Each takes its buses (``periphery.SPI``/``GPIO``, ``smbus2.SMBus`` or the simulator's objects with
the same API), a port name for its errors, and a monotonic clock.
"""
