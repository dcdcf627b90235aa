/* SPDX-License-Identifier: MIT */
/*
 * bpf/tp.c — what the running kernel offers the collectors: the argument
 * count of a BTF-typed tracepoint (tracepoints come and go, and change
 * their arguments, across kernel versions), and whether this process sees
 * host PIDs (filters compare against the kernel's numbers).
 */
#include <errno.h>
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

int st_bpf_tp_args(const char *tracepoint)
{
	struct btf *btf = btf__load_vmlinux_btf();
	char name[128];
	int id, n = -ENOENT;

	if (libbpf_get_error(btf))
		return -ENOENT;
	snprintf(name, sizeof(name), "btf_trace_%s", tracepoint);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id > 0) {
		const struct btf_type *t = btf__type_by_id(btf, (unsigned)id);

		while (t && (btf_is_typedef(t) || btf_is_ptr(t)))
			t = btf__type_by_id(btf, t->type);
		if (t && btf_is_func_proto(t))
			n = (int)btf_vlen(t) - 1; /* the leading void * is not an argument */
	}
	btf__free(btf);
	return n;
}

#else

int st_bpf_tp_args(const char *tracepoint)
{
	(void)tracepoint;
	return -ENOSYS;
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
