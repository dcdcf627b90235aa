/* SPDX-License-Identifier: MIT */
/*
 * bpf/tp.c — what the running kernel offers the collectors: the argument
 * count of a BTF-typed tracepoint (tracepoints come and go, and change
 * their arguments, across kernel versions), the value of MR_NUMA_MISPLACED,
 * and whether this process sees host PIDs (filters compare against the
 * kernel's numbers).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/base.h"
#include "bpf/collectors.h"
#include "config.h"

#if HAVE_BPF_SKELETONS
#include <bpf/btf.h>
#include <bpf/libbpf.h>

/* The tracepoints whose presence or layout the loaders ask about.  The
 * kernel's BTF (several MB) is parsed once per process and only these
 * facts are kept. */
static const char *const tracepoints[] = { "mm_migrate_pages",	  "mm_vmscan_throttled", "page_fault_user",
					   "sched_move_numa",	  "io_uring_submit_req", "io_uring_complete" };
#define NTP (sizeof(tracepoints) / sizeof(tracepoints[0]))

static int tp_args[NTP];
static int numa_misplaced = -1;
static pthread_once_t learned = PTHREAD_ONCE_INIT;

static int args_of(const struct btf *btf, const char *tracepoint)
{
	char name[128];
	int id;

	snprintf(name, sizeof(name), "btf_trace_%s", tracepoint);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, (unsigned)id);

		while (t && (btf_is_typedef(t) || btf_is_ptr(t)))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t))
			return (int)btf_vlen(t) - 1; /* the leading void * is not an argument */
	}
	return -ENOENT;
}

static void learn(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	unsigned i;
	int id;

	for (i = 0; i < NTP; i++)
		tp_args[i] = -ENOENT;
	if (libbpf_get_error(btf))
		return;
	for (i = 0; i < NTP; i++)
		tp_args[i] = args_of(btf, tracepoints[i]);
	id = btf__find_by_name_kind(btf, "migrate_reason", BTF_KIND_ENUM);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, (unsigned)id);
		const struct btf_enum *e = btf_enum(t);

		for (i = 0; i < btf_vlen(t); i++)
			if (strcmp(btf__name_by_offset(btf, e[i].name_off), "MR_NUMA_MISPLACED") == 0)
				numa_misplaced = (int)e[i].val;
	}
	btf__free(btf);
}

int st_bpf_tp_args(const char *tracepoint)
{
	unsigned i;

	pthread_once(&learned, learn);
	for (i = 0; i < NTP; i++)
		if (strcmp(tracepoints[i], tracepoint) == 0)
			return tp_args[i];
	return -EINVAL; /* not one the loaders asked to learn */
}

int st_bpf_numa_misplaced_reason(void)
{
	pthread_once(&learned, learn);
	return numa_misplaced;
}

#else

int st_bpf_tp_args(const char *tracepoint)
{
	(void)tracepoint;
	return -ENOSYS;
}

int st_bpf_numa_misplaced_reason(void)
{
	return -1;
}

#endif

/* The host's (initial) PID namespace always has this inode number
 * (PROC_PID_INIT_INO); /proc mounted inside a container cannot tell. */
#define PID_INIT_INO 0xEFFFFFFCULL

int st_bpf_pid_namespace(uint64_t *dev, uint64_t *ino)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st))
		return -errno;
	/* bpf_get_ns_current_pid_tgid() compares the kernel's dev_t encoding. */
	*dev = ((uint64_t)major(st.st_dev) << 20) | (uint64_t)minor(st.st_dev);
	*ino = (uint64_t)st.st_ino;
	return *ino != PID_INIT_INO;
}
