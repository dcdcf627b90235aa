/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_cpu_features.c — strata's CPU feature bits agree with the
 * flags the kernel lists in /proc/cpuinfo (which already hides features
 * whose register state the kernel does not manage).
 */
#include <stdbool.h>
#include <string.h>

#include "helpers.h"

static char flags[8192];

static bool cpuinfo_has(const char *flag)
{
	char pat[64];

	snprintf(pat, sizeof(pat), " %s ", flag);
	return strstr(flags, pat) != NULL;
}

static void test_features_match_cpuinfo(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_rt *rt;
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[8192];
	uint64_t feats;
	unsigned i;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5)) {
			snprintf(flags, sizeof(flags), " %s", strchr(line, ':') + 1);
			flags[strcspn(flags, "\n")] = ' ';
			break;
		}
	fclose(f);
	if (!*flags)
		TEST_SKIP("/proc/cpuinfo lists no x86 flags here");
	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	feats = strata_topo_cpu_features(strata_rt_topo(rt));
	for (i = 0; i < STRATA_CPU_FEATURE_COUNT; i++) {
		const char *name = strata_cpu_feature_name(i);

		assert_non_null(name);
		if (cpuinfo_has(name) != !!(feats & (1ULL << i)))
			fail_msg("feature %s: cpuinfo %d, strata %d", name, cpuinfo_has(name),
				 !!(feats & (1ULL << i)));
	}
	strata_rt_destroy(rt);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(strata_cpu_feature_name(STRATA_CPU_AVX512BW), "avx512bw");
	assert_null(strata_cpu_feature_name(STRATA_CPU_FEATURE_COUNT));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_features_match_cpuinfo),
		cmocka_unit_test(test_names),
	};

	return RUN_TESTS(tests);
}
