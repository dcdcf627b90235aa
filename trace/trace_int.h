/* SPDX-License-Identifier: MIT */
/*
 * trace/trace_int.h — the tracer's shared-memory layout (the contract
 * between a process and the readers that attach to it) and what the files
 * of trace/ share.
 *
 * One memfd holds: a header page; the interned name table; one ring per
 * producer thread.  A ring is a header cache line and a power-of-two array
 * of 32-byte records.  The producer writes a record, then publishes it by
 * a release store of @head (records written so far).  A reader keeps its
 * own cursor; in overwrite mode it detects records overwritten under it by
 * re-reading @head after copying.  In drop-newest mode the producer reads
 * the reader's cursor from a second, small memfd that only exists while a
 * reader is attached, and drops (counting) when the ring is full.
 */
#ifndef STRATA_TRACE_INT_H
#define STRATA_TRACE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <strata/trace.h>

#define ST_TRACE_MAGIC "STRTRACE"
#define ST_TRACE_VERSION 2u
#define ST_TRACE_SLOTS 64u /* producer threads with a ring at once */
#define ST_TRACE_RING_RECORDS 16384u /* per thread: 512 KiB */
#define ST_TRACE_NAMES 1024u
#define ST_TRACE_NAME_LEN 56u

enum st_trace_policy {
	ST_TRACE_OVERWRITE = 0, /* keep the newest: a flight recorder */
	ST_TRACE_DROP_NEWEST = 1, /* keep what the reader has not read; count the rest */
};

struct st_trace_record {
	uint64_t tsc;
	uint32_t id;
	uint16_t type;
	uint16_t pad;
	uint64_t arg0, arg1;
};

struct st_trace_name {
	char name[ST_TRACE_NAME_LEN];
	uint64_t pad;
};

struct st_trace_ring {
	_Atomic uint64_t head; /* records written */
	_Atomic uint64_t dropped; /* refused while full (drop-newest) or without a slot */
	_Atomic uint32_t tid; /* 0: free */
	_Atomic uint32_t generation; /* bumped each time a thread takes the slot */
	uint32_t pad[10];
	struct st_trace_record rec[];
};

struct st_trace_header {
	char magic[8];
	uint32_t version;
	uint32_t header_bytes;
	uint32_t nslots, ring_records, record_bytes, nnames_max;
	uint64_t names_offset, rings_offset, ring_bytes, total_bytes;
	/* Clock: ns = mono_anchor_ns + (tsc - tsc_anchor) * ns_per_tick. */
	uint64_t tsc_anchor, mono_anchor_ns;
	double ns_per_tick;
	uint32_t tsc_ok; /* 0: records hold CLOCK_MONOTONIC ns instead of ticks */
	uint32_t policy;
	_Atomic uint32_t nnames;
	_Atomic uint32_t readers;
	int32_t pid;
};

/* Per-slot reader cursors (the second memfd), and each ring's refusal
 * counter at attach time, so losses are counted from the attach on. */
struct st_trace_cursors {
	/* Each ring's cursor in a cache line of its own: the reader moving
	 * one ring's cursor disturbs no other ring's producer. */
	struct {
		_Atomic uint64_t tail;
		uint64_t pad[7];
	} slot[ST_TRACE_SLOTS];
	_Atomic uint64_t dropped_base[ST_TRACE_SLOTS];
};
/* The cursors' memfd: whole pages. */
#define ST_TRACE_CURSOR_BYTES ((sizeof(struct st_trace_cursors) + 4095) & ~(size_t)4095)

/* Written as a thread's first record when it takes a ring: arg0 = tid,
 * arg1 = the ring's generation.  Readers do not deliver it. */
#define ST_TRACE_THREAD_MARK 0x100

/* ---- producer state (trace/shm.c) ---- */

struct st_trace_shm {
	int fd;
	struct st_trace_header *hdr;
	size_t bytes;
};

extern struct st_trace_shm st_trace_shm;
extern struct st_trace_cursors *_Atomic st_trace_cursors; /* set while a drop-newest reader is attached */
/* Bumped when a reader attaches or leaves: producers then look at the
 * cursors again (shm.c). */
extern _Atomic uint32_t st_trace_session_gen;

/* Create the shared memory (idempotent).  Return: 0 or -errno. */
int st_trace_shm_init(enum st_trace_policy policy);
void st_trace_shm_fini(void);
struct st_trace_ring *st_trace_ring_at(struct st_trace_header *h, unsigned slot);
/* Emit with a given timestamp (anchors). */
void st_trace_emit_at(uint64_t tsc, uint32_t id, enum strata_trace_type type, uint64_t arg0, uint64_t arg1);
/* Count events lost because no slot was free. */
uint64_t st_trace_slotless_drops(void);

/* ---- clock (trace/clock.c) ---- */

/* Calibrate the TSC against CLOCK_MONOTONIC (about 20 ms, once).  Fills
 * the header's clock fields; tsc_ok = 0 where the TSC is unusable. */
void st_trace_clock_init(struct st_trace_header *h);
uint64_t st_trace_now(void); /* ticks (or ns when the TSC is unusable) */
uint64_t st_mono_ns(void);
uint64_t st_boot_ns(void);
/* Emit an anchor record (TSC, MONOTONIC, BOOTTIME) on the calling thread. */
void st_trace_anchor(void);

/* ---- the socket side (trace/listen.c) ---- */

/* ---- the reader's way in (trace/peer.c) ---- */

/* A connection to process @pid's socket, once its listener is checked to
 * be that process, as the socket's owner.  Return: 0 and *@fd; -ENOENT (no
 * socket, or a stale one); -EPERM (forged); -EACCES... of the lookup. */
int st_trace_connect(int pid, int *fd);

/* Metrics text for a METRICS request: provided by trace/metrics.c. */
int st_metrics_render(char **text, size_t *len);

/* Start / stop the listener thread and its socket. */
int st_trace_listen_start(void);
void st_trace_listen_stop(void);

/* ---- HTTP (trace/http.c) ---- */
int st_metrics_http_start(const char *addr); /* -EINVAL, -EADDRNOTAVAIL */
void st_metrics_http_stop(void);

/* ---- reading (trace/reader.c) ---- */

/* Open a session over memory received from a producer (tests and the fuzz
 * harness feed it crafted memory).  Takes ownership of the fds. */
int st_trace_session_open(int shm_fd, int cursor_fd, int sock, struct strata_trace_session **out);

/* Requests on the socket, one line each. */
#define ST_TRACE_REQ_ATTACH "ATTACH\n"
#define ST_TRACE_REQ_METRICS "METRICS\n"

#endif /* STRATA_TRACE_INT_H */
