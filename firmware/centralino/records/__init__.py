"""Call records on SQLite (peewee, WAL mode): written by the engine, read by the console and CLI."""
