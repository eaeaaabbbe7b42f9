"""centralino: the telephone switchboard of an Italian comune, on a Raspberry Pi."""

__version__ = "0.1.0"
