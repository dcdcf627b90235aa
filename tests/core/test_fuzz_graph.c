/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_fuzz_graph.c — replay the graph fuzz harness on seeded
 * random inputs in every `make check` (random valid graphs, compiled, run
 * and compared with the interpreter); `make fuzz` runs the same harness
 * under libFuzzer for as long as one likes.
 */
#include "../fuzz/fuzz_graph.c"
#include "helpers.h"

static void replay_random_inputs(void **state)
{
	uint8_t buf[96];
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	unsigned n, i;

	(void)state;
	for (n = 0; n < 60; n++) {
		size_t len = 16 + (size_t)(rng % (sizeof(buf) - 16));

		for (i = 0; i < len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			buf[i] = (uint8_t)rng;
		}
		LLVMFuzzerTestOneInput(buf, len);
	}
	strata_rt_destroy(fuzz_rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replay_random_inputs),
	};

	return RUN_TESTS(tests);
}
