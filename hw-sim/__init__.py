"""The hardware simulator: chip models behind bus objects with the real libraries' API, the world
around the board (phones, the public exchange), a virtual clock and the scenario API.

It replaces the buses, never the drivers: the firmware's drivers run unchanged against it.
"""
