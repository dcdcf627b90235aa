/* SPDX-License-Identifier: MIT */
/*
 * trace/reader.c — the consumer side, used by the `strata` CLI.
 *
 * The producer is not trusted: its header is validated and copied once,
 * and every later read from its memory is either masked into a ring (record
 * indexes) or checked (name ids, string lengths).  Records are copied out
 * before use; in overwrite mode the head is read again after the copy and
 * anything the producer may have overwritten meanwhile is counted as
 * dropped, never delivered torn.
 *
 * Accounting per ring, from the reader's start: produced = (head - start)
 * + refused; delivered + dropped + unread = produced, exactly.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/base.h"
#include "trace/trace_int.h"

#define MAX_SHM_BYTES (1ULL << 30)
#define COPY_BATCH 1024u
/*
 * A ring whose producer is still writing is read once it holds this many
 * new records: a reader chasing the head reads lines the producer has not
 * finished, and each such line crosses between the two cores twice (the
 * producer's next record there must take it back).  With a reader
 * draining, a producer's event cost 2.1 times rdtsc plus a store that
 * way, 1.4 times with batches (AMD EPYC VM).  A ring with fewer new
 * records is read to its end unless its head moves within QUIET_NS: a
 * quiet thread's last events are never held back.
 */
#define READ_AT_LEAST 256u
#define QUIET_NS 2000u

/* Whether ring @r's head stays at @head for QUIET_NS. */
static bool quiet(const struct st_trace_ring *r, uint64_t head)
{
	const uint64_t until = st_mono_ns() + QUIET_NS;

	while (st_mono_ns() < until)
		__builtin_ia32_pause();
	return atomic_load_explicit(&r->head, memory_order_acquire) == head;
}

struct slot_state {
	bool seen;
	uint32_t gen, tid;
	uint64_t tail, head_base, refused_base;
	uint64_t delivered, overwritten, markers;
};

struct strata_trace_session {
	int sock, shm_fd, cursor_fd;
	void *map; /* the producer's memory, mapped read-only */
	const char *mem;
	size_t bytes;
	struct st_trace_cursors *cursors;
	struct st_trace_header h; /* validated private copy */
	struct slot_state *slots;
	char (*names)[ST_TRACE_NAME_LEN];
	uint32_t nnames;
	struct st_trace_record batch[COPY_BATCH];
};

static bool sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & F_SEAL_SHRINK);
}

static bool pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static int validate(struct strata_trace_session *s)
{
	const struct st_trace_header *h = &s->h;
	uint64_t end;

	if (memcmp(h->magic, ST_TRACE_MAGIC, 8) || h->version != ST_TRACE_VERSION || h->header_bytes > 4096 ||
	    h->record_bytes != sizeof(struct st_trace_record) || !h->nslots || h->nslots > ST_TRACE_SLOTS ||
	    !pow2(h->ring_records) || h->ring_records > (1u << 24) || h->nnames_max > (1u << 20) ||
	    h->policy > ST_TRACE_DROP_NEWEST)
		return -EPROTO;
	if (__builtin_mul_overflow((uint64_t)h->nnames_max, sizeof(struct st_trace_name), &end) ||
	    __builtin_add_overflow(end, h->names_offset, &end) || end > s->bytes)
		return -EPROTO;
	if (h->ring_bytes < sizeof(struct st_trace_ring) + (uint64_t)h->ring_records * sizeof(struct st_trace_record) ||
	    __builtin_mul_overflow(h->ring_bytes, (uint64_t)h->nslots, &end) ||
	    __builtin_add_overflow(end, h->rings_offset, &end) || end > s->bytes || h->rings_offset < 4096 ||
	    h->ring_bytes % 64 || h->rings_offset % 64 || h->names_offset % 8)
		return -EPROTO;
	if (h->tsc_ok && !(h->ns_per_tick > 0 && h->ns_per_tick < 1e6))
		return -EPROTO;
	return 0;
}

int st_trace_session_open(int shm_fd, int cursor_fd, int sock, struct strata_trace_session **out)
{
	struct strata_trace_session *s = calloc(1, sizeof(*s));
	struct stat st;
	int err = 0;

	if (!s) {
		err = -ENOMEM;
		goto fail_fds;
	}
	s->sock = sock;
	s->shm_fd = shm_fd;
	s->cursor_fd = cursor_fd;
	s->map = MAP_FAILED;
	s->cursors = MAP_FAILED;
	if (fstat(shm_fd, &st) || st.st_size < 4096 || (uint64_t)st.st_size > MAX_SHM_BYTES) {
		err = -EPROTO;
		goto fail;
	}
	s->bytes = (size_t)st.st_size;
	s->map = mmap(NULL, s->bytes, PROT_READ, MAP_SHARED, shm_fd, 0);
	s->mem = s->map;
	if (s->map == MAP_FAILED) {
		err = -EPROTO;
		goto fail;
	}
	/* The producer could shrink an unsealed memfd (or a plain file) under
	 * us: SIGBUS.  Only a memfd sealed against shrinking is accepted. */
	if (!sealed(shm_fd)) {
		err = -EPROTO;
		goto fail;
	}
	memcpy(&s->h, s->mem, sizeof(s->h));
	err = validate(s);
	if (err)
		goto fail;
	if (fstat(cursor_fd, &st) || (size_t)st.st_size < sizeof(struct st_trace_cursors) || !sealed(cursor_fd)) {
		err = -EPROTO;
		goto fail;
	}
	s->cursors = mmap(NULL, sizeof(struct st_trace_cursors), PROT_READ | PROT_WRITE, MAP_SHARED, cursor_fd, 0);
	s->slots = calloc(s->h.nslots, sizeof(*s->slots));
	s->names = calloc(s->h.nnames_max + 1, ST_TRACE_NAME_LEN);
	if (s->cursors == MAP_FAILED || !s->slots || !s->names) {
		err = s->cursors == MAP_FAILED ? -EPROTO : -ENOMEM;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	strata_trace_detach(s);
	return err;
fail_fds:
	close(shm_fd);
	close(cursor_fd);
	if (sock >= 0)
		close(sock);
	return err;
}

void strata_trace_detach(struct strata_trace_session *s)
{
	if (!s)
		return;
	if (s->map != MAP_FAILED)
		munmap(s->map, s->bytes);
	if (s->cursors != MAP_FAILED)
		munmap(s->cursors, sizeof(struct st_trace_cursors));
	close(s->shm_fd);
	close(s->cursor_fd);
	if (s->sock >= 0)
		close(s->sock);
	free(s->slots);
	free(s->names);
	free(s);
}

static const struct st_trace_ring *ring(const struct strata_trace_session *s, unsigned slot)
{
	return (const struct st_trace_ring *)(s->mem + s->h.rings_offset + (size_t)slot * s->h.ring_bytes);
}

static const char *name_of(struct strata_trace_session *s, uint32_t id)
{
	if (id == 0)
		return "clock_anchor";
	if (id > s->nnames) {
		const struct st_trace_name *t = (const struct st_trace_name *)(s->mem + s->h.names_offset);
		uint32_t n = atomic_load_explicit(&((const struct st_trace_header *)s->mem)->nnames, memory_order_acquire);

		n = ST_MIN(n, s->h.nnames_max);
		for (; s->nnames < n; s->nnames++) {
			memcpy(s->names[s->nnames + 1], t[s->nnames].name, ST_TRACE_NAME_LEN);
			s->names[s->nnames + 1][ST_TRACE_NAME_LEN - 1] = '\0';
		}
	}
	return id <= s->nnames ? s->names[id] : "?";
}

static uint64_t to_ns(const struct strata_trace_session *s, uint64_t tsc)
{
	double d;

	if (!s->h.tsc_ok)
		return tsc;
	d = (double)(int64_t)(tsc - s->h.tsc_anchor) * s->h.ns_per_tick;
	return (uint64_t)((double)s->h.mono_anchor_ns + d);
}

int64_t strata_trace_read(struct strata_trace_session *s, void (*fn)(void *, const struct strata_trace_event *),
			  void *user, uint64_t max)
{
	uint64_t total = 0, cap, mask;
	unsigned slot;

	if (!s || !fn)
		return -EINVAL;
	cap = s->h.ring_records;
	mask = cap - 1;
	for (slot = 0; slot < s->h.nslots && (!max || total < max); slot++) {
		const struct st_trace_ring *r = ring(s, slot);
		struct slot_state *st = &s->slots[slot];
		uint32_t gen = atomic_load_explicit(&r->generation, memory_order_acquire);
		uint32_t tid = atomic_load_explicit(&r->tid, memory_order_relaxed);
		uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);

		if (!st->seen) {
			if (!head && !tid)
				continue;
			/* The listener put the oldest record still held at attach in the
			 * cursor page; what was overwritten since counts as dropped. */
			st->tail = atomic_load(&s->cursors->slot[slot].tail);
			if (st->tail > head)
				st->tail = head;
			st->head_base = st->tail;
			/* Refusals counted from the attach on (the listener noted the
			 * counter then); a value from the future is not believed. */
			st->refused_base = atomic_load(&s->cursors->dropped_base[slot]);
			if (st->refused_base > atomic_load_explicit(&r->dropped, memory_order_relaxed))
				st->refused_base = atomic_load_explicit(&r->dropped, memory_order_relaxed);
			st->seen = true;
		}
		if (!st->tid)
			st->tid = tid;
		st->gen = gen;
		if (head < st->tail) /* a producer going backwards: resynchronise */
			st->tail = st->head_base = head;
		if (head - st->tail < READ_AT_LEAST && head != st->tail && !quiet(r, head))
			continue; /* still writing: come back for a batch */
		while (st->tail < head && (!max || total < max)) {
			uint64_t n = ST_MIN(head - st->tail, (uint64_t)COPY_BATCH), i, head2, first_valid;

			if (max)
				n = ST_MIN(n, max - total);
			/* In drop-newest mode the producer waits for our cursor, so a full
			 * ring (cap records) is intact; in overwrite mode the slot the
			 * producer writes next is the oldest one. */
			uint64_t keep = s->h.policy == ST_TRACE_DROP_NEWEST ? cap : cap - 1;

			if (head - st->tail > keep) { /* overwritten before we got there */
				uint64_t lost = head - st->tail - keep;

				st->overwritten += lost;
				st->tail += lost;
				continue;
			}
			for (i = 0; i < n; i++)
				s->batch[i] = r->rec[(st->tail + i) & mask];
			/* The copies above complete before the head is read again (a
			 * seqlock read: only what the head still covers is kept). */
			atomic_thread_fence(memory_order_acquire);
			head2 = atomic_load_explicit(&r->head, memory_order_relaxed);
			first_valid = head2 > keep ? head2 - keep : 0;
			for (i = 0; i < n; i++) {
				struct strata_trace_event e;
				const struct st_trace_record *rec = &s->batch[i];

				if (st->tail + i < first_valid) {
					st->overwritten++;
					continue;
				}
				if (rec->type == ST_TRACE_THREAD_MARK) {
					/* A new thread took this ring: later events are its. */
					st->tid = (uint32_t)rec->arg0;
					st->markers++;
					continue;
				}
				e = (struct strata_trace_event){ .ts_ns = to_ns(s, rec->tsc), .tid = st->tid, .id = rec->id,
								 .type = (enum strata_trace_type)rec->type,
								 .arg0 = rec->arg0, .arg1 = rec->arg1 };
				e.name = name_of(s, rec->id);
				fn(user, &e);
				st->delivered++;
				total++;
			}
			st->tail += n;
			if (s->h.policy == ST_TRACE_DROP_NEWEST)
				atomic_store_explicit(&s->cursors->slot[slot].tail, st->tail, memory_order_release);
		}
	}
	return (int64_t)total;
}

int strata_trace_thread_stats(struct strata_trace_session *s, struct strata_trace_thread_stats *out, size_t *n)
{
	size_t k = 0, room;
	unsigned slot;

	if (!s || !n || (*n && !out))
		return -EINVAL;
	room = *n;
	for (slot = 0; slot < s->h.nslots; slot++) {
		const struct st_trace_ring *r = ring(s, slot);
		struct slot_state *st = &s->slots[slot];
		uint64_t head, refused;

		if (!st->seen)
			continue;
		head = atomic_load_explicit(&r->head, memory_order_acquire);
		refused = atomic_load_explicit(&r->dropped, memory_order_relaxed) - st->refused_base;
		if (k < room)
			out[k] = (struct strata_trace_thread_stats){
				.tid = st->tid,
				.produced = (head - st->head_base) + refused - ST_MIN(st->markers, head - st->head_base),
				.delivered = st->delivered,
				.dropped = st->overwritten + refused,
			};
		k++;
	}
	*n = k;
	return k > room ? -ENOSPC : 0;
}

/* ---- connecting -------------------------------------------------------------------- */

static int send_all(int fd, const char *msg)
{
	size_t len = strlen(msg);

	while (len) {
		ssize_t w = send(fd, msg, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -EACCES; /* closed on us: the peer-credential check refused */
		msg += w;
		len -= (size_t)w;
	}
	return 0;
}

int strata_trace_attach(int pid, struct strata_trace_session **out)
{
	char buf[64] = "", ctrl[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	struct pollfd p;
	struct cmsghdr *c;
	int fd, err, fds[2] = { -1, -1 };
	ssize_t r;

	if (!out)
		return -EINVAL;
	err = st_trace_connect(pid, &fd);
	if (err)
		return err;
	err = send_all(fd, ST_TRACE_REQ_ATTACH);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (!err && poll(&p, 1, 5000) <= 0)
		err = -ETIMEDOUT;
	r = err ? -1 : recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	if (!err && r <= 0) /* closed without a word: refused by SO_PEERCRED */
		err = r == 0 || errno == ECONNRESET || errno == EPIPE ? -EACCES : -errno;
	for (c = r > 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
		size_t k, nfd;
		int got[8];

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len < CMSG_LEN(0))
			continue;
		nfd = ST_MIN((c->cmsg_len - CMSG_LEN(0)) / sizeof(int), (size_t)8);
		memcpy(got, CMSG_DATA(c), nfd * sizeof(int));
		for (k = 0; k < nfd; k++) {
			/* Exactly the two expected; anything else received is closed. */
			if (nfd == 2 && fds[0] < 0)
				continue;
			close(got[k]);
		}
		if (nfd == 2 && fds[0] < 0)
			memcpy(fds, got, sizeof(fds));
	}
	if (!err && (mh.msg_flags & MSG_CTRUNC))
		err = -EPROTO;
	if (!err && strncmp(buf, "BUSY", 4) == 0)
		err = -EBUSY;
	else if (!err && (strncmp(buf, "OK 1\n", 5) || fds[0] < 0 || fds[1] < 0))
		err = -EPROTO;
	if (err) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		close(fd);
		return err;
	}
	return st_trace_session_open(fds[0], fds[1], fd, out);
}

int strata_trace_fetch_metrics(int pid, char **text)
{
	size_t len = 0, cap = 65536;
	char *buf;
	int fd, err;

	if (!text)
		return -EINVAL;
	err = st_trace_connect(pid, &fd);
	if (err)
		return err;
	err = send_all(fd, ST_TRACE_REQ_METRICS);
	buf = malloc(cap);
	if (!buf)
		err = -ENOMEM;
	while (!err) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) <= 0) {
			err = -ETIMEDOUT;
			break;
		}
		if (len + 1 >= cap) {
			char *n = cap < (64u << 20) ? realloc(buf, cap * 2) : NULL;

			if (!n) {
				err = -ENOMEM;
				break;
			}
			buf = n;
			cap *= 2;
		}
		r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != ECONNRESET)
			err = -errno;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!err && len == 0)
		err = -EACCES; /* closed without a word: refused */
	if (err) {
		free(buf);
		return err;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}
