/* SPDX-License-Identifier: MIT */
/*
 * bpf/runq.c — loads the run-queue collector, marks registered threads in
 * its mmap'd TID bitmap (no system call per registration) and sums its
 * per-CPU histogram.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include <strata/common.h>

#include "base/base.h"
#include "bpf/collectors.h"
#include "config.h"

#if HAVE_BPF_SKELETONS
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "bpf/runq.skel.h"
#pragma GCC diagnostic pop

struct st_bpf_runq {
	struct runq_bpf *skel;
	_Atomic uint64_t *bitmap; /* the map's memory */
	void *map;
	int ncpus;
	struct st_runq_hist *percpu;
};

int st_bpf_runq_open(struct st_bpf_runq **out, char *reason, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	struct st_bpf_runq *r = st_calloc(1, sizeof(*r));
	int err;

	if (!r) {
		libbpf_set_print(old);
		return -ENOMEM;
	}
	r->ncpus = libbpf_num_possible_cpus();
	r->percpu = st_calloc(r->ncpus > 0 ? (size_t)r->ncpus : 1, sizeof(*r->percpu));
	r->skel = runq_bpf__open();
	err = r->percpu && r->skel && r->ncpus > 0 ? 0 : -ENOMEM;
	if (!err)
		err = runq_bpf__load(r->skel);
	if (!err)
		err = runq_bpf__attach(r->skel);
	if (!err) {
		void *m = mmap(NULL, ST_RUNQ_BITMAP_WORDS * sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
			       bpf_map__fd(r->skel->maps.watched), 0);

		err = m == MAP_FAILED ? -errno : 0;
		r->map = m == MAP_FAILED ? NULL : m;
		r->bitmap = r->map;
	}
	libbpf_set_print(old);
	if (err) {
		st_bpf_load_failure(reason, len, err, "run-queue", "");
		st_bpf_runq_close(r);
		return err;
	}
	*out = r;
	return 0;
}

int st_bpf_runq_watch(struct st_bpf_runq *r, int tid)
{
	if (tid <= 0 || (unsigned)tid >= ST_RUNQ_BITMAP_WORDS * 64u)
		return -EINVAL;
	atomic_fetch_or(&r->bitmap[tid >> 6], 1ULL << (tid & 63));
	return 0;
}

int st_bpf_runq_unwatch(struct st_bpf_runq *r, int tid)
{
	__u32 key = (__u32)tid;

	if (tid <= 0 || (unsigned)tid >= ST_RUNQ_BITMAP_WORDS * 64u)
		return -EINVAL;
	atomic_fetch_and(&r->bitmap[tid >> 6], ~(1ULL << (tid & 63)));
	bpf_map_delete_elem(bpf_map__fd(r->skel->maps.queued_at), &key);
	return 0;
}

int st_bpf_runq_read(struct st_bpf_runq *r, struct st_runq_hist *out)
{
	__u32 zero = 0;
	int c, k;

	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(bpf_map__fd(r->skel->maps.hist), &zero, r->percpu))
		return -errno;
	for (c = 0; c < r->ncpus; c++) {
		for (k = 0; k < ST_RUNQ_SLOTS; k++)
			out->slot[k] += r->percpu[c].slot[k];
		out->count += r->percpu[c].count;
		out->total_ns += r->percpu[c].total_ns;
	}
	return 0;
}

void st_bpf_runq_close(struct st_bpf_runq *r)
{
	if (!r)
		return;
	if (r->map)
		munmap(r->map, ST_RUNQ_BITMAP_WORDS * sizeof(uint64_t));
	runq_bpf__destroy(r->skel);
	st_free(r->percpu);
	st_free(r);
}

#else

int st_bpf_runq_open(struct st_bpf_runq **out, char *reason, size_t len)
{
	(void)out;
	st_fmt(reason, len, "strata was built without eBPF skeletons (needs libbpf-dev, clang, bpftool and kernel BTF)");
	return -ENOSYS;
}

int st_bpf_runq_watch(struct st_bpf_runq *r, int tid)
{
	(void)r, (void)tid;
	return -ENOSYS;
}

int st_bpf_runq_unwatch(struct st_bpf_runq *r, int tid)
{
	(void)r, (void)tid;
	return -ENOSYS;
}

int st_bpf_runq_read(struct st_bpf_runq *r, struct st_runq_hist *out)
{
	(void)r;
	memset(out, 0, sizeof(*out));
	return -ENOSYS;
}

void st_bpf_runq_close(struct st_bpf_runq *r)
{
	(void)r;
}

#endif
