/* SPDX-License-Identifier: MIT */
/*
 * io/uring_probe.c — detect a usable io_uring.
 *
 * io_uring fails in three common ways that look alike from user space: an
 * old kernel (ENOSYS), a container runtime's seccomp filter (EPERM) and the
 * kernel.io_uring_disabled sysctl (EPERM, or ENOSYS-like refusal for
 * unprivileged users at level 1).  The sysctl is read to tell them apart.
 */
#include <errno.h>

#include "base/base.h"
#include "config.h"
#include "io/uring_probe.h"

#if HAVE_LIBURING
#include <liburing.h>

static int disabled_sysctl(void)
{
	char buf[16];

	if (st_read_text("/proc/sys/kernel/io_uring_disabled", buf, sizeof(buf)) <= 0)
		return -1;
	return buf[0] - '0';
}

int st_io_uring_probe(char *detail, size_t len)
{
	struct io_uring_probe *probe;
	struct io_uring ring;
	int err, sysctl = disabled_sysctl();
	bool reads;

	err = io_uring_queue_init(8, &ring, 0);
	if (err < 0) {
		if (err == -EPERM && sysctl > 0)
			st_fmt(detail, len, "io_uring_setup: %s (kernel.io_uring_disabled=%d)",
			       "operation not permitted", sysctl);
		else if (err == -EPERM)
			st_fmt(detail, len, "io_uring_setup refused (EPERM): likely a seccomp filter");
		else
			st_fmt(detail, len, "io_uring_setup failed with errno %d", -err);
		return err;
	}
	probe = io_uring_get_probe_ring(&ring);
	reads = probe && io_uring_opcode_supported(probe, IORING_OP_READ) &&
		io_uring_opcode_supported(probe, IORING_OP_READ_FIXED);
	if (probe)
		io_uring_free_probe(probe);
	io_uring_queue_exit(&ring);
	if (!reads) {
		st_fmt(detail, len, "ring works but READ/READ_FIXED opcodes are missing");
		return -EOPNOTSUPP;
	}
	st_fmt(detail, len, "ring set up; READ and READ_FIXED supported (liburing %s)",
	       STRATA_LIBURING_VERSION);
	return 0;
}

#else

int st_io_uring_probe(char *detail, size_t len)
{
	st_fmt(detail, len, "strata was built without liburing");
	return -ENOSYS;
}

#endif
