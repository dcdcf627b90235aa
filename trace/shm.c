/* SPDX-License-Identifier: MIT */
/*
 * trace/shm.c — the producer side: the shared memory, a ring per thread,
 * interned names, and the emit path.
 *
 * A thread takes a ring slot on its first event (the only slow path) and
 * gives it back when it exits.  An emit is then: a branch on the enabled
 * flag (in the caller, see strata/trace.h), the thread's own state, a TSC
 * read, the stores into the record and a release store of the head.
 *
 * Nothing a reader writes is read on that path: the head is kept in the
 * thread's state (the ring's copy is only written), and so is how far the
 * head may go before the ring is full.  That bound comes from the reader's
 * cursor (drop-newest mode, a reader attached), read again only when the
 * head reaches it or a reader comes or goes (st_trace_session_gen); the
 * cursor's line moves when the reader has drained a batch, not per event.
 * With a reader draining, reading its cursor on every event (in a line of
 * eight rings' cursors) cost a producer twice rdtsc plus a store.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "trace/trace_int.h"

int strata_trace_enabled;
struct st_trace_shm st_trace_shm = { .fd = -1 };
struct st_trace_cursors *_Atomic st_trace_cursors;
_Atomic uint32_t st_trace_session_gen;

static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t slotless;

struct tls_ring {
	struct st_trace_ring *ring;
	uint64_t head; /* records written (the ring's head, which only readers read) */
	uint64_t room; /* the head may reach this before the cursor is read again */
	uint32_t mask, slot;
	uint32_t gen; /* st_trace_session_gen when room was set */
	bool failed; /* no slot was free: count drops without retrying each time */
};

static __thread struct tls_ring tls __attribute__((tls_model("initial-exec")));

struct st_trace_ring *st_trace_ring_at(struct st_trace_header *h, unsigned slot)
{
	return (struct st_trace_ring *)((char *)h + h->rings_offset + (size_t)slot * h->ring_bytes);
}

uint64_t st_trace_slotless_drops(void)
{
	return atomic_load(&slotless);
}

static void thread_exit(void *arg)
{
	struct st_trace_ring *r = arg;

	if (r)
		atomic_store_explicit(&r->tid, 0, memory_order_release);
}

static void make_key(void)
{
	pthread_key_create(&exit_key, thread_exit);
}

static int shm_create(enum st_trace_policy policy, size_t names, size_t ring, size_t total);

int st_trace_shm_init(enum st_trace_policy policy)
{
	size_t names = ST_TRACE_NAMES * sizeof(struct st_trace_name);
	size_t ring = sizeof(struct st_trace_ring) + ST_TRACE_RING_RECORDS * sizeof(struct st_trace_record);
	size_t total = 4096 + names + ST_TRACE_SLOTS * ring;

	static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
	int err;

	pthread_once(&key_once, make_key);
	pthread_mutex_lock(&init_lock);
	err = st_trace_shm.hdr ? 0 : shm_create(policy, names, ring, total);
	pthread_mutex_unlock(&init_lock);
	return err;
}

static int shm_create(enum st_trace_policy policy, size_t names, size_t ring, size_t total)
{
	struct st_trace_header *h;
	int fd;

	fd = memfd_create("strata-trace", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)total)) {
		close(fd);
		return -errno;
	}
	h = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	/* A reader can rely on the size: the producer cannot shrink it under
	 * a mapping (SIGBUS) once sealed. */
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	memcpy(h->magic, ST_TRACE_MAGIC, 8);
	h->version = ST_TRACE_VERSION;
	h->header_bytes = sizeof(*h);
	h->nslots = ST_TRACE_SLOTS;
	h->ring_records = ST_TRACE_RING_RECORDS;
	h->record_bytes = sizeof(struct st_trace_record);
	h->nnames_max = ST_TRACE_NAMES;
	h->names_offset = 4096;
	h->rings_offset = 4096 + names;
	h->ring_bytes = ring;
	h->total_bytes = total;
	h->policy = policy;
	h->pid = getpid();
	st_trace_clock_init(h);
	st_trace_shm = (struct st_trace_shm){ .fd = fd, .hdr = h, .bytes = total };
	return 0;
}

void st_trace_shm_fini(void)
{
	__atomic_store_n(&strata_trace_enabled, 0, __ATOMIC_RELAXED);
	if (!st_trace_shm.hdr)
		return;
	/* Threads keep pointers into the mapping: it stays (32 MiB of address
	 * space, pages only where written); the descriptor goes. */
	close(st_trace_shm.fd);
	st_trace_shm.fd = -1;
}

static struct st_trace_ring *claim(void)
{
	struct st_trace_header *h = st_trace_shm.hdr;
	uint32_t tid = (uint32_t)syscall(SYS_gettid), free_tid = 0;
	unsigned s;

	if (!h || tls.failed)
		return NULL;
	for (s = 0; s < h->nslots; s++) {
		struct st_trace_ring *r = st_trace_ring_at(h, s);

		free_tid = 0;
		if (atomic_compare_exchange_strong(&r->tid, &free_tid, tid)) {
			uint32_t gen = atomic_fetch_add(&r->generation, 1) + 1;

			tls = (struct tls_ring){ .ring = r, .head = atomic_load(&r->head), .room = 0,
						 .mask = h->ring_records - 1, .slot = s,
						 .gen = atomic_load(&st_trace_session_gen) - 1 };
			pthread_setspecific(exit_key, r);
			/* Readers attribute what follows to this thread. */
			st_trace_emit_at(st_trace_now(), 0, (enum strata_trace_type)ST_TRACE_THREAD_MARK, tid, gen);
			return r;
		}
	}
	tls.failed = true;
	return NULL;
}

/* Whether the ring has room for record @head: the reader's cursor read
 * again, and how far the head may go until the next look. */
static bool __attribute__((noinline)) make_room(uint64_t head)
{
	struct st_trace_cursors *cur;

	tls.gen = atomic_load_explicit(&st_trace_session_gen, memory_order_acquire);
	cur = atomic_load_explicit(&st_trace_cursors, memory_order_acquire);
	tls.room = cur ? atomic_load_explicit(&cur->slot[tls.slot].tail, memory_order_acquire) + tls.mask + 1
		       : UINT64_MAX;
	return head < tls.room;
}

void st_trace_emit_at(uint64_t tsc, uint32_t id, enum strata_trace_type type, uint64_t arg0, uint64_t arg1)
{
	struct st_trace_ring *r = tls.ring;
	struct st_trace_record *rec;
	uint64_t head;

	if (__builtin_expect(!r, 0)) {
		r = claim();
		if (!r) {
			atomic_fetch_add_explicit(&slotless, 1, memory_order_relaxed);
			return;
		}
	}
	head = tls.head;
	if (__builtin_expect(head >= tls.room ||
				     atomic_load_explicit(&st_trace_session_gen, memory_order_relaxed) != tls.gen,
			     0) &&
	    !make_room(head)) {
		atomic_store_explicit(&r->dropped, atomic_load_explicit(&r->dropped, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return;
	}
	rec = &r->rec[head & tls.mask];
	rec->tsc = tsc;
	rec->id = id;
	rec->type = (uint16_t)type;
	rec->arg0 = arg0;
	rec->arg1 = arg1;
	tls.head = head + 1;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

void strata_trace_emit(uint32_t id, enum strata_trace_type type, uint64_t arg0, uint64_t arg1)
{
	st_trace_emit_at(st_trace_now(), id, type, arg0, arg1);
}

int strata_trace_name(const char *name)
{
	struct st_trace_header *h = st_trace_shm.hdr;
	struct st_trace_name *table;
	size_t len;
	uint32_t i, n;
	int id = -ENOSPC;

	if (!name || !*name || (len = strlen(name)) >= ST_TRACE_NAME_LEN)
		return -EINVAL;
	if (!h) {
		/* Before the runtime exists: make the memory now, so ids are stable. */
		int err = st_trace_shm_init(ST_TRACE_OVERWRITE);

		if (err)
			return err;
		h = st_trace_shm.hdr;
	}
	table = (struct st_trace_name *)((char *)h + h->names_offset);
	pthread_mutex_lock(&names_lock);
	n = atomic_load(&h->nnames);
	for (i = 0; i < n; i++)
		if (strcmp(table[i].name, name) == 0) {
			id = (int)i + 1;
			break;
		}
	if (i == n && n < h->nnames_max) {
		memcpy(table[n].name, name, len + 1);
		atomic_store_explicit(&h->nnames, n + 1, memory_order_release);
		id = (int)n + 1;
	}
	pthread_mutex_unlock(&names_lock);
	return id;
}
