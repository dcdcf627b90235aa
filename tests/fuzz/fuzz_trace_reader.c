/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_trace_reader.c — a hostile producer against the reader:
 * the input becomes the trace memory a process would hand over (header,
 * name table, ring heads, records), sometimes starting from a valid header
 * so the fuzzer gets past validation.  The reader must refuse or read it
 * without crashing, and its accounting must stay consistent.
 * tests/trace/test_fuzz_reader.c replays mutations in every `make check`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <strata/strata.h>

#include "trace/trace_int.h"

#define FUZZ_BYTES (4096 + 64 * 4 + 2 * (64 + 16 * 32))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *user, const struct strata_trace_event *e)
{
	uint64_t *n = user;

	if (!e->name)
		abort();
	(void)strlen(e->name);
	(*n)++;
}

/* A plausible header: two rings of 16 records, four names. */
static void valid_header(struct st_trace_header *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->magic, ST_TRACE_MAGIC, 8);
	h->version = ST_TRACE_VERSION;
	h->header_bytes = sizeof(*h);
	h->nslots = 2;
	h->ring_records = 16;
	h->record_bytes = sizeof(struct st_trace_record);
	h->nnames_max = 4;
	h->names_offset = 4096;
	h->rings_offset = 4096 + 4 * sizeof(struct st_trace_name);
	h->ring_bytes = sizeof(struct st_trace_ring) + 16 * sizeof(struct st_trace_record);
	h->total_bytes = FUZZ_BYTES;
	h->ns_per_tick = 1.0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int shm = memfd_create("fuzz-trace", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int cur = memfd_create("fuzz-cursors", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct strata_trace_thread_stats st[8];
	struct strata_trace_session *s;
	size_t bytes = FUZZ_BYTES, n = 8, i;
	uint64_t got = 0;
	char *mem;

	if (shm < 0 || cur < 0 || ftruncate(shm, (off_t)bytes) || ftruncate(cur, 4096))
		abort();
	mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, shm, 0);
	if (mem == MAP_FAILED)
		abort();
	/* First byte: start from a valid header or not; the rest overwrites
	 * the memory from its start (header) and from the names on. */
	if (size && (data[0] & 1))
		valid_header((struct st_trace_header *)mem);
	if (size > 1) {
		size_t half = (size - 1) / 2;

		memcpy(mem + (size && (data[0] & 2) ? sizeof(struct st_trace_header) : 0), data + 1,
		       half < 4096 - sizeof(struct st_trace_header) ? half : 4096 - sizeof(struct st_trace_header));
		memcpy(mem + 4096, data + 1 + half, size - 1 - half < bytes - 4096 ? size - 1 - half : bytes - 4096);
	}
	munmap(mem, bytes);
	fcntl(shm, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	fcntl(cur, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	if (st_trace_session_open(shm, cur, -1, &s))
		return 0;
	for (i = 0; i < 3; i++)
		if (strata_trace_read(s, count, &got, i == 1 ? 5 : 0) < 0)
			break;
	if (strata_trace_thread_stats(s, st, &n) == 0)
		for (i = 0; i < n; i++)
			if (st[i].delivered > st[i].produced + (1ULL << 62))
				abort();
	strata_trace_detach(s);
	return 0;
}
