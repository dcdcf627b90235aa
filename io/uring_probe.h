/* SPDX-License-Identifier: MIT */
/*
 * io/uring_probe.h — can this process use io_uring?  Asked once at start-up;
 * the answer picks the I/O engine (io_uring or the pread thread pool).
 */
#ifndef STRATA_IO_URING_PROBE_H
#define STRATA_IO_URING_PROBE_H

#include <stddef.h>

/*
 * st_io_uring_probe() - set up and tear down a small ring, and check that the
 * kernel supports the read opcodes the engine uses.  Writes what was found
 * into @detail.
 * Return: 0; -ENOSYS (built without liburing, or kernel too old); -EPERM
 * (kernel.io_uring_disabled, or a seccomp filter); -EOPNOTSUPP (opcodes
 * missing); other negative errno from io_uring_setup.
 */
int st_io_uring_probe(char *detail, size_t len);

#endif /* STRATA_IO_URING_PROBE_H */
