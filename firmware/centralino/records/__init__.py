"""Call records, tickets, voicemail index and mail outbox on SQLite (peewee, WAL mode).

Written through one writer thread (``writer.RecordWriter``, fed by ``call_log.CallLog`` from the
engine's events), read by the console and the CLI; ``store.Store`` is the base of the four stores.
"""
