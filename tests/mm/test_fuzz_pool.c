/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_fuzz_pool.c — replay the pool fuzz harness on seeded
 * random inputs in every `make check`; `make fuzz` runs the same harness
 * under libFuzzer for as long as one likes.
 */
#include "../fuzz/fuzz_pool.c"
#include "helpers.h"

static void test_replay_random_inputs(void **state)
{
	uint8_t buf[512];
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	unsigned n, i;

	(void)state;
	for (n = 0; n < 200; n++) {
		size_t len = 1 + (size_t)(rng % sizeof(buf));

		for (i = 0; i < len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			buf[i] = (uint8_t)rng;
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	strata_pool_destroy(fuzz_pool);
	strata_rt_destroy(fuzz_rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replay_random_inputs),
	};

	return RUN_TESTS(tests);
}
