/* SPDX-License-Identifier: MIT */
/*
 * mm/populate.c — make new pool memory resident before anyone uses it.
 *
 * A demand fault costs ~16 us per 4 KiB page on a virtual machine, which
 * caps first touch near 0.25 GiB/s; MADV_POPULATE_WRITE (Linux 5.14) does
 * the same work in one call without a fault per page, and several threads,
 * each bound to a CPU of the target node, do it in parallel.  On a kernel
 * without MADV_POPULATE_WRITE each thread writes one byte per page instead.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "base/base.h"
#include "mm/provider.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Below this, starting threads costs more than it saves. */
#define PARALLEL_MIN_BYTES (32u << 20)

/*
 * The threads start populating together, once all of them exist: creating
 * a thread maps its stack, and that mmap would wait for mmap_lock behind a
 * sibling's MADV_POPULATE_WRITE, which holds the lock for reading for the
 * whole range — the second thread would start only after the first ended.
 */
struct gate {
	pthread_mutex_t lock;
	pthread_cond_t opened;
	bool open;
};

struct share {
	char *addr;
	size_t bytes, page;
	int cpu;
	int err;
	struct gate *gate;
};

static int touch(char *addr, size_t bytes, size_t page)
{
	size_t off;

	for (off = 0; off < bytes; off += page)
		((volatile char *)addr)[off] = 0;
	return 0;
}

static int populate_range(char *addr, size_t bytes, size_t page)
{
	if (!bytes)
		return 0;
	if (madvise(addr, bytes, MADV_POPULATE_WRITE) == 0)
		return 0;
	if (errno == EINVAL)
		return touch(addr, bytes, page); /* kernel before 5.14 */
	/* ENOMEM: no memory on the allowed nodes, or hugetlb exhausted;
	 * EFAULT/EHWPOISON are reported as ENOMEM too: the range is unusable. */
	return errno == EINTR ? -EINTR : -ENOMEM;
}

static void *populate_thread(void *p)
{
	struct share *s = p;

	if (s->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(s->cpu, &set);
		/* Best effort: a CPU outside our cpuset still populates. */
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (s->gate) {
		pthread_mutex_lock(&s->gate->lock);
		while (!s->gate->open)
			pthread_cond_wait(&s->gate->opened, &s->gate->lock);
		pthread_mutex_unlock(&s->gate->lock);
	}
	s->err = populate_range(s->addr, s->bytes, s->page);
	return NULL;
}

int st_populate(void *addr, size_t bytes, size_t page, const int *cpus, unsigned ncpus)
{
	struct gate gate = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	struct share shares[64];
	pthread_t running[64];
	bool ran_here[64] = { false };
	unsigned n, i, started = 0;
	size_t pages, done = 0;
	int err = 0;

	n = ST_MIN(ncpus, (unsigned)ST_ARRAY_SIZE(shares));
	if (n <= 1 || bytes < PARALLEL_MIN_BYTES)
		return populate_range(addr, bytes, page);
	pages = bytes / page;
	for (i = 0; i < n; i++) {
		size_t share_pages = pages * (i + 1) / n - pages * i / n;

		shares[i] = (struct share){ .addr = (char *)addr + done, .bytes = share_pages * page, .page = page,
					    .cpu = cpus[i], .gate = &gate };
		done += share_pages * page;
	}
	shares[n - 1].bytes += bytes - done; /* a partial last page, if any */
	for (i = 0; i < n; i++)
		if (pthread_create(&running[started], NULL, populate_thread, &shares[i]) == 0)
			started++;
		else
			ran_here[i] = true; /* out of threads: done here, below */
	pthread_mutex_lock(&gate.lock);
	gate.open = true;
	pthread_cond_broadcast(&gate.opened);
	pthread_mutex_unlock(&gate.lock);
	for (i = 0; i < n; i++)
		if (ran_here[i]) {
			shares[i].cpu = -1; /* unbound: this thread keeps its own CPUs */
			shares[i].gate = NULL;
			populate_thread(&shares[i]);
		}
	for (i = 0; i < started; i++)
		pthread_join(running[i], NULL);
	pthread_cond_destroy(&gate.opened);
	pthread_mutex_destroy(&gate.lock);
	for (i = 0; i < n; i++)
		if (shares[i].err && !err)
			err = shares[i].err;
	return err;
}
