"""Configuration: one YAML file, validated where each value is used, errors with file, line and key."""
