/* SPDX-License-Identifier: MIT */
/*
 * core/feature_host.c — the host-memory and kernel checks behind
 * `strata doctor`: huge pages, NUMA binding, memory locking, PSI.
 * Each reads the kernel's own files or asks the syscall it is about.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/core_int.h"
#include "core/feature_int.h"

void st_check_thp(const struct strata_rt *rt, struct strata_feature_report *r)
{
	char buf[128], mode[32] = "";
	const char *open_b, *close_b;

	(void)rt;
	if (st_read_text("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)) < 0) {
		r->status = -ENOSYS;
		FEATURE_DETAIL(r, "kernel built without transparent huge pages");
		FEATURE_FIX(r, "use a kernel with CONFIG_TRANSPARENT_HUGEPAGE, or reserve hugetlb pages");
		return;
	}
	open_b = strchr(buf, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (open_b && close_b)
		st_fmt(mode, sizeof(mode), "%.*s", (int)(close_b - open_b - 1), open_b + 1);
	if (!strcmp(mode, "never")) {
		r->status = -EOPNOTSUPP;
		FEATURE_DETAIL(r, "transparent huge pages are disabled (mode never)");
		FEATURE_FIX(r, "echo madvise > /sys/kernel/mm/transparent_hugepage/enabled");
		return;
	}
	FEATURE_DETAIL(r, "mode %s; pools ask for them with MADV_HUGEPAGE", mode);
}

static unsigned long long meminfo_value(const char *buf, const char *key)
{
	const char *p = strstr(buf, key);
	unsigned long long v = 0;

	if (p)
		sscanf(p + strlen(key), " %llu", &v);
	return v;
}

void st_check_hugetlb(const struct strata_rt *rt, struct strata_feature_report *r)
{
	char buf[4096];
	unsigned long long total, free_pages, size_kb;

	(void)rt;
	if (st_read_text("/proc/meminfo", buf, sizeof(buf)) < 0) {
		r->status = -ENOENT;
		FEATURE_DETAIL(r, "/proc/meminfo is not readable");
		FEATURE_FIX(r, "mount procfs");
		return;
	}
	total = meminfo_value(buf, "HugePages_Total:");
	free_pages = meminfo_value(buf, "HugePages_Free:");
	size_kb = meminfo_value(buf, "Hugepagesize:");
	if (!total) {
		r->status = -ENOENT;
		FEATURE_DETAIL(r, "no hugetlb pages reserved (page size %llu KiB)", size_kb);
		FEATURE_FIX(r, "echo 512 > /proc/sys/vm/nr_hugepages  (reserves 1 GiB in 2 MiB pages)");
		return;
	}
	FEATURE_DETAIL(r, "%llu of %llu pages of %llu KiB free", free_pages, total, size_kb);
}

void st_check_numa(const struct strata_rt *rt, struct strata_feature_report *r)
{
	unsigned nodes = rt ? rt->topo->n_nodes : 0;
	long rc;
	int mode;

	/* get_mempolicy() fails with ENOSYS on kernels built without NUMA and
	 * EPERM under seccomp filters that block memory-policy calls. */
	rc = syscall(SYS_get_mempolicy, &mode, NULL, 0UL, NULL, 0UL);
	if (rc < 0) {
		r->status = -errno;
		FEATURE_DETAIL(r, "memory policy calls fail (%s); memory cannot be bound to nodes",
		       strata_strerror(-errno));
		FEATURE_FIX(r, "allow get_mempolicy/mbind/set_mempolicy in the seccomp profile, or use a NUMA kernel");
		return;
	}
	if (!rt)
		FEATURE_DETAIL(r, "memory binding available");
	else if (nodes == 1)
		FEATURE_DETAIL(r, "1 node: memory binding works, placement has nothing to choose here");
	else
		FEATURE_DETAIL(r, "%u nodes; memory binding available", nodes);
}

static bool has_cap(unsigned cap)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return false;
	return data[cap / 32].effective & (1u << (cap % 32));
}

void st_check_memlock(const struct strata_rt *rt, struct strata_feature_report *r)
{
	struct rlimit lim;

	(void)rt;
	if (getrlimit(RLIMIT_MEMLOCK, &lim) < 0) {
		r->status = -errno;
		FEATURE_DETAIL(r, "getrlimit failed");
		return;
	}
	if (has_cap(CAP_IPC_LOCK)) {
		FEATURE_DETAIL(r, "CAP_IPC_LOCK: any amount of memory can be pinned");
		return;
	}
	if (lim.rlim_cur == RLIM_INFINITY) {
		FEATURE_DETAIL(r, "RLIMIT_MEMLOCK unlimited");
		return;
	}
	FEATURE_DETAIL(r, "RLIMIT_MEMLOCK is %llu KiB: pinned pools are limited to that",
	       (unsigned long long)lim.rlim_cur / 1024);
	if (lim.rlim_cur < (1ULL << 30)) {
		r->status = -EPERM;
		FEATURE_FIX(r, "ulimit -l unlimited, or LimitMEMLOCK=infinity in the service unit");
	}
}

void st_check_psi(const struct strata_rt *rt, struct strata_feature_report *r)
{
	char buf[256];

	(void)rt;
	if (st_read_text("/proc/pressure/memory", buf, sizeof(buf)) < 0) {
		r->status = errno == EOPNOTSUPP ? -EOPNOTSUPP : -ENOENT;
		FEATURE_DETAIL(r, "/proc/pressure is not available");
		FEATURE_FIX(r, "boot with psi=1 (kernel CONFIG_PSI)");
		return;
	}
	FEATURE_DETAIL(r, "/proc/pressure/{cpu,memory,io} readable");
}
