"""mapdb: an embeddable columnar engine over memory-mapped Arrow-layout column files."""

__version__ = "0.1.0"
