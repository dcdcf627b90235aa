/* SPDX-License-Identifier: MIT */
/*
 * core/cpu_features.c — which vector ISAs the CPU *and* the kernel support.
 *
 * A CPUID bit alone is not enough: AVX and AVX-512 registers are usable only
 * when the kernel has enabled their state in XCR0 (read with XGETBV), which a
 * hypervisor or `noxsave` can withhold.  Code generation reads these bits
 * to choose kernels, so a wrong "yes" here is a SIGILL later.
 */
#include <string.h>

#include "core/core_int.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

#define XCR0_AVX_STATE 0x06u /* SSE + AVX (YMM upper halves) */
#define XCR0_AVX512_STATE 0xe0u /* opmask, ZMM upper halves, ZMM16-31 */
#define XCR0_AMX_STATE 0x60000u /* XTILECFG + XTILEDATA */

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

#define BIT(f) (1ULL << (f))

uint64_t st_cpu_features_detect(void)
{
	unsigned a, b, c, d, max_leaf;
	unsigned l7b = 0, l7c = 0, l7d = 0, l7s1a = 0;
	uint64_t xcr0 = 0, f = 0;
	bool avx_os, avx512_os, amx_os;

	max_leaf = __get_cpuid_max(0, NULL);
	if (max_leaf < 1 || !__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (c & bit_OSXSAVE)
		xcr0 = xgetbv0();
	avx_os = (xcr0 & XCR0_AVX_STATE) == XCR0_AVX_STATE;
	avx512_os = avx_os && (xcr0 & XCR0_AVX512_STATE) == XCR0_AVX512_STATE;
	amx_os = (xcr0 & XCR0_AMX_STATE) == XCR0_AMX_STATE;

	if (c & bit_SSE4_2)
		f |= BIT(STRATA_CPU_SSE4_2);
	if (avx_os && (c & bit_AVX))
		f |= BIT(STRATA_CPU_AVX);
	if (avx_os && (c & bit_FMA))
		f |= BIT(STRATA_CPU_FMA);
	if (avx_os && (c & bit_F16C))
		f |= BIT(STRATA_CPU_F16C);

	if (max_leaf >= 7) {
		__cpuid_count(7, 0, a, l7b, l7c, l7d);
		__cpuid_count(7, 1, l7s1a, b, c, d);
	}
	if (l7b & bit_BMI2)
		f |= BIT(STRATA_CPU_BMI2);
	if (avx_os && (l7b & bit_AVX2))
		f |= BIT(STRATA_CPU_AVX2);
	if (avx_os && (l7s1a & (1u << 4)))
		f |= BIT(STRATA_CPU_AVX_VNNI);
	if (avx512_os) {
		if (l7b & bit_AVX512F)
			f |= BIT(STRATA_CPU_AVX512F);
		if (l7b & bit_AVX512BW)
			f |= BIT(STRATA_CPU_AVX512BW);
		if (l7b & bit_AVX512DQ)
			f |= BIT(STRATA_CPU_AVX512DQ);
		if (l7b & bit_AVX512VL)
			f |= BIT(STRATA_CPU_AVX512VL);
		if (l7c & (1u << 11))
			f |= BIT(STRATA_CPU_AVX512VNNI);
		if (l7s1a & (1u << 5))
			f |= BIT(STRATA_CPU_AVX512BF16);
		if (l7d & (1u << 23))
			f |= BIT(STRATA_CPU_AVX512FP16);
	}
	if (amx_os) {
		if (l7d & (1u << 24))
			f |= BIT(STRATA_CPU_AMX_TILE);
		if (l7d & (1u << 25))
			f |= BIT(STRATA_CPU_AMX_INT8);
		if (l7d & (1u << 22))
			f |= BIT(STRATA_CPU_AMX_BF16);
	}
	return f;
}

void st_cpu_brand(char *buf, size_t len)
{
	unsigned regs[12];
	char brand[49], *s, *e;
	unsigned i;

	if (__get_cpuid_max(0x80000000, NULL) < 0x80000004) {
		st_fmt(buf, len, "unknown");
		return;
	}
	for (i = 0; i < 3; i++)
		__cpuid(0x80000002 + i, regs[4 * i], regs[4 * i + 1], regs[4 * i + 2], regs[4 * i + 3]);
	memcpy(brand, regs, 48);
	brand[48] = '\0';
	for (s = brand; *s == ' '; s++)
		;
	for (e = s + strlen(s); e > s && e[-1] == ' '; e--)
		*(e - 1) = '\0';
	st_fmt(buf, len, "%s", *s ? s : "unknown");
}

#else /* not x86 */

uint64_t st_cpu_features_detect(void)
{
	return 0;
}

void st_cpu_brand(char *buf, size_t len)
{
	st_fmt(buf, len, "unknown");
}

#endif

static const char *const feature_names[STRATA_CPU_FEATURE_COUNT] = {
	[STRATA_CPU_SSE4_2] = "sse4_2",
	[STRATA_CPU_AVX] = "avx",
	[STRATA_CPU_AVX2] = "avx2",
	[STRATA_CPU_FMA] = "fma",
	[STRATA_CPU_F16C] = "f16c",
	[STRATA_CPU_BMI2] = "bmi2",
	[STRATA_CPU_AVX_VNNI] = "avx_vnni",
	[STRATA_CPU_AVX512F] = "avx512f",
	[STRATA_CPU_AVX512BW] = "avx512bw",
	[STRATA_CPU_AVX512DQ] = "avx512dq",
	[STRATA_CPU_AVX512VL] = "avx512vl",
	[STRATA_CPU_AVX512VNNI] = "avx512_vnni",
	[STRATA_CPU_AVX512BF16] = "avx512_bf16",
	[STRATA_CPU_AVX512FP16] = "avx512_fp16",
	[STRATA_CPU_AMX_TILE] = "amx_tile",
	[STRATA_CPU_AMX_INT8] = "amx_int8",
	[STRATA_CPU_AMX_BF16] = "amx_bf16",
};

const char *strata_cpu_feature_name(unsigned f)
{
	return f < STRATA_CPU_FEATURE_COUNT ? feature_names[f] : NULL;
}
