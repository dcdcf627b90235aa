/* SPDX-License-Identifier: MIT */
/*
 * tests/trace/test_fuzz_reader.c — replay the hostile-producer harness on
 * random inputs in every `make check`; `make fuzz` runs it under libFuzzer.
 */
#include "../fuzz/fuzz_trace_reader.c"
#include "helpers.h"

static void replay(void **state)
{
	static uint8_t buf[6000];
	uint64_t rng = 0x2545f4914f6cdd1dULL;
	unsigned n, i;

	(void)state;
	for (n = 0; n < 3000; n++) {
		size_t len = 1 + (size_t)(rng % sizeof(buf));

		for (i = 0; i < len; i++) {
			rng ^= rng << 13;
			rng ^= rng >> 7;
			rng ^= rng << 17;
			/* Mostly small numbers, as real headers have. */
			buf[i] = (uint8_t)(rng % 7 ? rng % 4 : rng >> 32);
		}
		buf[0] |= (uint8_t)(n % 4 ? 1 : 0);
		LLVMFuzzerTestOneInput(buf, len);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(replay),
	};

	return RUN_TESTS(tests);
}
