"""The C allocator tuned for reading large lists (glibc only; elsewhere nothing changes).

A listing decodes pages of several MB on up to 16 threads. glibc gives each thread its own arena and,
after a large block is freed, raises the size from which blocks are mapped on their own: the next pages'
buffers then come from the arenas, which keep what is freed between the pods kept, so the process holds
far more than it uses. Two arenas, and large blocks always mapped on their own (returned whole when
freed), keep the resident memory near what is in use: at 50,000 pods `check` held 27 MB less."""
from __future__ import annotations

import sys

M_MMAP_THRESHOLD = -3     # glibc malloc.h
M_ARENA_MAX = -8
MAPPED_FROM = 1024 * 1024
ARENAS = 2

_done = False


def tune() -> bool:
    """Once per process, before the threads start; True when the settings were taken."""
    global _done
    if _done:
        return False
    _done = True
    if not sys.platform.startswith("linux"):
        return False
    try:
        # lazy: ctypes (a few ms) only once a connection is made
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt      # the process's own C library
    except (OSError, AttributeError, ImportError):  # musl has no mallopt; ctypes may be absent
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return bool(mallopt(M_ARENA_MAX, ARENAS)) and bool(mallopt(M_MMAP_THRESHOLD, MAPPED_FROM))
