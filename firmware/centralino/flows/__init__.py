"""Flows: the municipal switchboard's behaviour (calendar, office hours, voce guida, groups, queue,
voicemail, callbacks), each built from its block of the configuration."""
