"""Which filesystem a path is on (tests that evict pages or fsync need a real disk)."""

import os

MEMORY_FS = {"tmpfs", "ramfs", "hugetlbfs", "devtmpfs"}


def fs_type(path) -> str:
    """Filesystem type holding ``path`` (from /proc/self/mountinfo), '' if unknown."""
    dev = os.stat(path).st_dev
    want = f"{os.major(dev)}:{os.minor(dev)}"
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if left.split()[2] == want:
                return right.split()[0]
    return ""
