/* SPDX-License-Identifier: MIT */
/*
 * bpf/blockio.c — loads the block I/O collector (open → load → attach, all
 * undone on failure and at close) and reads its per-CPU maps, summing the
 * CPUs and naming devices from /sys/dev/block.
 *
 * libbpf prints to stderr by default; the library may not print, so its
 * print callback is off while the collector is opened.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strata/common.h>

#include "base/base.h"
#include "bpf/collectors.h"
#include "config.h"

#if HAVE_BPF_SKELETONS
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* Generated code: its casts are bpftool's. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "bpf/blockio.skel.h"
#pragma GCC diagnostic pop

struct st_bpf_blockio {
	struct blockio_bpf *skel;
	int ncpus;
	struct st_blockio_stats *percpu;
	uint64_t last_ios; /* completions summed at the last read */
	double last_read_s; /* when, CLOCK_MONOTONIC */
};

/* Latency samples aimed for per second: enough for steady percentiles in a
 * 100 ms telemetry window, few enough that sampling costs nothing. */
#define LAT_SAMPLES_PER_S 4000.0
#define LAT_MASK_MAX 63u

/* Set the kernel side's sampling mask from the completion rate since the
 * last read: the smallest power of two that brings the rate under the
 * target (the mask is in the program's .bss, mapped: no syscall). */
static void adapt_sampling(struct st_bpf_blockio *b, uint64_t ios)
{
	struct timespec ts;
	double now, rate;
	uint32_t mask = 0;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
	if (b->last_read_s > 0 && now > b->last_read_s && ios >= b->last_ios) {
		rate = (double)(ios - b->last_ios) / (now - b->last_read_s);
		while (mask < LAT_MASK_MAX && rate / (mask + 1) > LAT_SAMPLES_PER_S)
			mask = mask * 2 + 1;
		__atomic_store_n(&b->skel->bss->lat_sample_mask, mask, __ATOMIC_RELAXED);
	}
	b->last_ios = ios;
	b->last_read_s = now;
}

static void name_of(uint32_t dev, char *buf, size_t len)
{
	char path[96], text[512], *p;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", dev >> 20, dev & 0xfffff);
	if (st_read_text(path, text, sizeof(text)) > 0 && (p = strstr(text, "DEVNAME="))) {
		p += 8;
		p[strcspn(p, "\n")] = '\0';
		snprintf(buf, len, "%s", p);
		return;
	}
	snprintf(buf, len, "%u:%u", dev >> 20, dev & 0xfffff);
}

int st_bpf_blockio_open(struct st_bpf_blockio **out, char *reason, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	struct st_bpf_blockio *b = st_calloc(1, sizeof(*b));
	int err;

	if (!b) {
		libbpf_set_print(old);
		return -ENOMEM;
	}
	b->ncpus = libbpf_num_possible_cpus();
	b->percpu = st_calloc(b->ncpus > 0 ? (size_t)b->ncpus : 1, sizeof(*b->percpu));
	b->skel = blockio_bpf__open();
	err = b->percpu && b->skel && b->ncpus > 0 ? 0 : -ENOMEM;
	if (!err)
		err = blockio_bpf__load(b->skel);
	if (!err)
		err = blockio_bpf__attach(b->skel);
	libbpf_set_print(old);
	if (err) {
		st_bpf_load_failure(reason, len, err, "block I/O", " (block_rq_complete needs kernel BTF)");
		st_bpf_blockio_close(b);
		return err;
	}
	*out = b;
	return 0;
}

int st_bpf_blockio_read(struct st_bpf_blockio *b, struct st_bpf_blockio_sample *out)
{
	int fd = bpf_map__fd(b->skel->maps.stats);
	uint64_t completions = 0;
	__u32 key;

	out->ndevs = 0;
	/* Each CPU keeps its own table; the same device may sit in different
	 * slots on different CPUs, so sum by device. */
	for (key = 0; key < ST_BLOCKIO_SLOTS; key++) {
		int c, k;

		if (bpf_map_lookup_elem(fd, &key, b->percpu))
			return -errno;
		for (c = 0; c < b->ncpus; c++) {
			const struct st_blockio_stats *p = &b->percpu[c];
			struct st_bpf_dev *d = NULL;
			unsigned i;

			if (!p->dev)
				continue;
			for (i = 0; i < out->ndevs; i++)
				if (out->devs[i].dev == p->dev)
					d = &out->devs[i];
			if (!d) {
				if (out->ndevs == ST_BLOCKIO_MAX_DEVS)
					continue;
				d = &out->devs[out->ndevs++];
				memset(d, 0, sizeof(*d));
				d->dev = p->dev;
				name_of(p->dev, d->name, sizeof(d->name));
			}
			for (k = 0; k < 2; k++) {
				d->bytes[k] += p->bytes[k];
				d->ios[k] += p->ios[k];
				completions += p->ios[k];
			}
			for (k = 0; k < ST_BLOCKIO_LAT_SLOTS; k++)
				d->lat[k] += p->lat[k];
		}
	}
	adapt_sampling(b, completions);
	return 0;
}

void st_bpf_blockio_close(struct st_bpf_blockio *b)
{
	if (!b)
		return;
	blockio_bpf__destroy(b->skel);
	st_free(b->percpu);
	st_free(b);
}

#else /* !HAVE_BPF_SKELETONS */

int st_bpf_blockio_open(struct st_bpf_blockio **out, char *reason, size_t len)
{
	(void)out;
	st_fmt(reason, len, "strata was built without eBPF skeletons (needs libbpf-dev, clang, bpftool and kernel BTF)");
	return -ENOSYS;
}

int st_bpf_blockio_read(struct st_bpf_blockio *b, struct st_bpf_blockio_sample *out)
{
	(void)b;
	out->ndevs = 0;
	return -ENOSYS;
}

void st_bpf_blockio_close(struct st_bpf_blockio *b)
{
	(void)b;
}

#endif

const struct st_bpf_dev *st_bpf_blockio_find(const struct st_bpf_blockio_sample *s, uint32_t dev)
{
	unsigned i;

	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i].dev == dev)
			return &s->devs[i];
	return NULL;
}
