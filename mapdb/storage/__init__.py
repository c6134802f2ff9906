"""Storage layer: the on-disk format, segments, manifests and commits, over mapdb._ext."""
