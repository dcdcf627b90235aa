/* SPDX-License-Identifier: MIT */
/*
 * bpf/load_error.c — why a collector's programs did not load, in words an
 * operator can act on.  The kernel answers EPERM or EACCES both when the
 * process lacks CAP_BPF and CAP_PERFMON and when its verifier rejects a
 * program; only the first is fixed by granting capabilities.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <strata/common.h>

#include "base/base.h"
#include "bpf/collectors.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* Whether this thread may load tracing programs: CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN (kernels before 5.8 know only that). */
static bool may_load_tracing(void)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct d[2] = {{0}};

	if (syscall(SYS_capget, &h, d) < 0)
		return false;
	return has_cap(d, CAP_SYS_ADMIN) || (has_cap(d, CAP_BPF) && has_cap(d, CAP_PERFMON));
}

void st_bpf_load_failure(char *reason, size_t len, int err, const char *what, const char *hint)
{
	if ((err == -EPERM || err == -EACCES) && !may_load_tracing())
		st_fmt(reason, len,
		       "loading eBPF programs was refused (%s): run as root or grant CAP_BPF and CAP_PERFMON",
		       strata_strerror(err));
	else if (err == -EACCES)
		st_fmt(reason, len, "the kernel's verifier rejected the %s programs (%s)%s", what, strata_strerror(err),
		       hint);
	else
		st_fmt(reason, len, "the %s programs did not load or attach: %s%s", what, strata_strerror(err), hint);
}
