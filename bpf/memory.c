/* SPDX-License-Identifier: MIT */
/*
 * bpf/memory.c — loads the memory-pressure collector (told this process's
 * tgid and where its kernel's mm_migrate_pages keeps "reason") and sums
 * its per-CPU counters.
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
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "bpf/memory.skel.h"
#pragma GCC diagnostic pop

struct st_bpf_memory {
	struct memory_bpf *skel;
	int ncpus;
	struct st_mem_stats *percpu;
};

int st_bpf_memory_open(struct st_bpf_memory **out, char *reason, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	struct st_bpf_memory *m = st_calloc(1, sizeof(*m));
	int err;

	if (!m) {
		libbpf_set_print(old);
		return -ENOMEM;
	}
	m->ncpus = libbpf_num_possible_cpus();
	m->percpu = st_calloc(m->ncpus > 0 ? (size_t)m->ncpus : 1, sizeof(*m->percpu));
	m->skel = memory_bpf__open();
	err = m->percpu && m->skel && m->ncpus > 0 ? 0 : -ENOMEM;
	if (!err) {
		unsigned n = (unsigned)ST_MAX(st_bpf_tp_args("mm_migrate_pages"), 0);

		uint64_t dev = 0, ino = 0;

		m->skel->rodata->target_tgid = (__u32)getpid();
		m->skel->rodata->in_pid_ns = st_bpf_pid_namespace(&dev, &ino) == 1;
		m->skel->rodata->ns_dev = dev;
		m->skel->rodata->ns_ino = ino;
		bpf_program__set_autoload(m->skel->progs.on_migrate, n == 8);
		bpf_program__set_autoload(m->skel->progs.on_migrate_old, n == 7);
		/* Tracepoints some kernels lack (throttling: 5.16; user faults:
		 * x86 only) are left out rather than failing the collector. */
		bpf_program__set_autoload(m->skel->progs.on_throttled, st_bpf_tp_args("mm_vmscan_throttled") == 4);
		bpf_program__set_autoload(m->skel->progs.on_fault, st_bpf_tp_args("page_fault_user") == 3);
		bpf_program__set_autoload(m->skel->progs.on_move_numa, st_bpf_tp_args("sched_move_numa") == 3);
		err = memory_bpf__load(m->skel);
	}
	if (!err)
		err = memory_bpf__attach(m->skel);
	libbpf_set_print(old);
	if (err) {
		st_bpf_load_failure(reason, len, err, "memory", "");
		st_bpf_memory_close(m);
		return err;
	}
	*out = m;
	return 0;
}

int st_bpf_memory_read(struct st_bpf_memory *m, struct st_mem_stats *out)
{
	__u32 zero = 0;
	int c, k;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(m->skel->maps.mem), &zero, m->percpu))
		return -errno;
	for (c = 0; c < m->ncpus; c++) {
		const struct st_mem_stats *p = &m->percpu[c];

		out->reclaim_count += p->reclaim_count;
		out->reclaim_ns += p->reclaim_ns;
		out->kswapd_wakes += p->kswapd_wakes;
		out->throttled += p->throttled;
		out->throttled_us += p->throttled_us;
		out->faults += p->faults;
		out->numa_task_moves += p->numa_task_moves;
		for (k = 0; k < ST_MEM_REASONS; k++)
			out->migrated[k] += p->migrated[k];
	}
	return 0;
}


void st_bpf_memory_close(struct st_bpf_memory *m)
{
	if (!m)
		return;
	memory_bpf__destroy(m->skel);
	st_free(m->percpu);
	st_free(m);
}

#else

int st_bpf_memory_open(struct st_bpf_memory **out, char *reason, size_t len)
{
	(void)out;
	st_fmt(reason, len, "strata was built without eBPF skeletons (needs libbpf-dev, clang, bpftool and kernel BTF)");
	return -ENOSYS;
}

int st_bpf_memory_read(struct st_bpf_memory *m, struct st_mem_stats *out)
{
	(void)m;
	memset(out, 0, sizeof(*out));
	return -ENOSYS;
}

void st_bpf_memory_close(struct st_bpf_memory *m)
{
	(void)m;
}


#endif
