"""The call engine: calls and their legs, bridging, transfer, cause codes, one record per call."""
