"""Tests of mapdb.storage (a package so its helper module can be imported by child processes)."""
