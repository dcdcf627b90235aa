/* SPDX-License-Identifier: MIT */
/*
 * bpf/uring.c — loads the io_uring collector (told this process's tgid)
 * and sums its per-CPU counters.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <strata/common.h>

#include "base/base.h"
#include "bpf/collectors.h"
#include "config.h"

#if HAVE_BPF_SKELETONS
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "bpf/uring.skel.h"
#pragma GCC diagnostic pop

struct st_bpf_uring {
	struct uring_bpf *skel;
	int ncpus;
	struct st_uring_stats *percpu;
};

int st_bpf_uring_open(struct st_bpf_uring **out, char *reason, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	struct st_bpf_uring *u = st_calloc(1, sizeof(*u));
	int err;

	if (!u) {
		libbpf_set_print(old);
		return -ENOMEM;
	}
	u->ncpus = libbpf_num_possible_cpus();
	u->percpu = st_calloc(u->ncpus > 0 ? (size_t)u->ncpus : 1, sizeof(*u->percpu));
	u->skel = uring_bpf__open();
	err = u->percpu && u->skel && u->ncpus > 0 ? 0 : -ENOMEM;
	if (!err && st_bpf_tp_args("io_uring_submit_req") != 1) {
		st_fmt(reason, len, "this kernel has no io_uring_submit_req tracepoint (Linux 6.0 added it)");
		libbpf_set_print(old);
		st_bpf_uring_close(u);
		return -ENOENT;
	}
	if (!err) {
		uint64_t dev = 0, ino = 0;
		int complete_args = st_bpf_tp_args("io_uring_complete");

		u->skel->rodata->target_tgid = (__u32)getpid();
		u->skel->rodata->in_pid_ns = st_bpf_pid_namespace(&dev, &ino) == 1;
		u->skel->rodata->ns_dev = dev;
		u->skel->rodata->ns_ino = ino;
		bpf_program__set_autoload(u->skel->progs.on_uring_complete, complete_args == 3);
		bpf_program__set_autoload(u->skel->progs.on_uring_complete_old, complete_args == 7);
		err = uring_bpf__load(u->skel);
	}
	if (!err)
		err = uring_bpf__attach(u->skel);
	libbpf_set_print(old);
	if (err) {
		st_bpf_load_failure(reason, len, err, "io_uring", "");
		st_bpf_uring_close(u);
		return err;
	}
	*out = u;
	return 0;
}

int st_bpf_uring_read(struct st_bpf_uring *u, struct st_uring_stats *out)
{
	__u32 zero = 0;
	int c, k;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(u->skel->maps.uring), &zero, u->percpu))
		return -errno;
	for (c = 0; c < u->ncpus; c++) {
		const struct st_uring_stats *p = &u->percpu[c];

		out->submitted += p->submitted;
		out->completed += p->completed;
		out->failed += p->failed;
		out->cq_overflows += p->cq_overflows;
		for (k = 0; k < ST_URING_LAT_SLOTS; k++)
			out->lat[k] += p->lat[k];
	}
	return 0;
}

void st_bpf_uring_close(struct st_bpf_uring *u)
{
	if (!u)
		return;
	uring_bpf__destroy(u->skel);
	st_free(u->percpu);
	st_free(u);
}

#else

int st_bpf_uring_open(struct st_bpf_uring **out, char *reason, size_t len)
{
	(void)out;
	st_fmt(reason, len, "strata was built without eBPF skeletons (needs libbpf-dev, clang, bpftool and kernel BTF)");
	return -ENOSYS;
}

int st_bpf_uring_read(struct st_bpf_uring *u, struct st_uring_stats *out)
{
	(void)u;
	memset(out, 0, sizeof(*out));
	return -ENOSYS;
}

void st_bpf_uring_close(struct st_bpf_uring *u)
{
	(void)u;
}

#endif
