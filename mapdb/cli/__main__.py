from mapdb.cli import entry

entry()
