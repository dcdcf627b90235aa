/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_pool.c — drive a pool with random sequences of API calls
 * decoded from the input: allocations of any size and alignment (zeroed or
 * not), frees (including foreign and repeated ones), trims, pressure,
 * usable_size and stats.  Every live block carries a pattern that is
 * checked before it is freed, so overlapping blocks are caught.
 *
 * Built two ways: with libFuzzer (`make fuzz`, clang) and as a cmocka test
 * that replays seeded random inputs (tests/mm/test_fuzz_pool.c).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strata/strata.h>

#define FUZZ_SLOTS 64

static struct strata_rt *fuzz_rt;
static struct strata_pool *fuzz_pool;

struct fuzz_slot {
	unsigned char *p;
	size_t size;
	unsigned char fill;
};

static void fuzz_trap(void)
{
	__builtin_trap(); /* libFuzzer and the replay test both see a crash */
}

static void fuzz_init(void)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	STRATA_POOL_OPTS(popts, .limit_bytes = 64 << 20, .grow_bytes = 4 << 20, .decay_ms = 5);

	if (fuzz_pool)
		return;
	if (strata_rt_create(&opts, &fuzz_rt) || strata_pool_create(fuzz_rt, &popts, &fuzz_pool))
		fuzz_trap();
}

static size_t take(const uint8_t **data, size_t *len, size_t bytes)
{
	size_t v = 0, i;

	for (i = 0; i < bytes && *len; i++, (*data)++, (*len)--)
		v = v << 8 | **data;
	return v;
}

static void release(struct fuzz_slot *s)
{
	size_t i;

	if (!s->p)
		return;
	for (i = 0; i < s->size; i += 97)
		if (s->p[i] != s->fill)
			fuzz_trap();
	if (strata_pool_free(fuzz_pool, s->p))
		fuzz_trap();
	s->p = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_slot slots[FUZZ_SLOTS];
	struct strata_pool_stats st = { .sz = sizeof(st) };
	unsigned i;

	fuzz_init();
	memset(slots, 0, sizeof(slots));
	while (len) {
		unsigned op = (unsigned)take(&data, &len, 1);
		struct fuzz_slot *s = &slots[take(&data, &len, 1) % FUZZ_SLOTS];
		size_t size, align;
		void *p;
		int err;

		switch (op % 8) {
		case 0:
		case 1:
		case 2: /* allocate: small, medium or huge, any alignment */
			release(s);
			size = take(&data, &len, 2) << (op % 3 * 4);
			align = (size_t)1 << (take(&data, &len, 1) % 23);
			err = strata_pool_alloc(fuzz_pool, size, align, op & 8 ? STRATA_ALLOC_ZERO : 0, &p);
			if (!size || align > (2 << 20)) {
				if (err != -EINVAL)
					fuzz_trap();
				break;
			}
			if (err == -ENOMEM)
				break; /* the pool's limit */
			if (err || (uintptr_t)p % (align < 16 ? 16 : align) ||
			    strata_pool_usable_size(fuzz_pool, p) < (int64_t)size)
				fuzz_trap();
			if ((op & 8) && size && ((unsigned char *)p)[size - 1])
				fuzz_trap();
			s->p = p;
			s->size = size;
			s->fill = (unsigned char)op;
			memset(p, s->fill, size);
			break;
		case 3:
		case 4:
			release(s);
			break;
		case 5: /* foreign and interior pointers are refused */
			if (strata_pool_free(fuzz_pool, slots) != -EINVAL)
				fuzz_trap();
			/* Inside a large block (over 32 KiB, page-aligned). */
			if (s->p && s->size > 32768 && strata_pool_usable_size(fuzz_pool, s->p + 4096) != -EINVAL)
				fuzz_trap();
			break;
		case 6:
			if (strata_pool_trim(fuzz_pool, take(&data, &len, 2) << 12) < 0)
				fuzz_trap();
			break;
		case 7:
			if (strata_mm_pressure(fuzz_rt, (enum strata_pressure)(take(&data, &len, 1) % 3)) < 0 ||
			    strata_pool_stats(fuzz_pool, &st))
				fuzz_trap();
			break;
		}
	}
	for (i = 0; i < FUZZ_SLOTS; i++)
		release(&slots[i]);
	if (strata_pool_stats(fuzz_pool, &st) || st.bytes_in_use != 0)
		fuzz_trap();
	return 0;
}
