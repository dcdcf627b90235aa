/* SPDX-License-Identifier: MIT */
/*
 * trace/clock.c — event timestamps.
 *
 * The hot path reads the TSC (rdtsc, no serialisation: ordering within a
 * thread comes from the ring).  The TSC is used only where the kernel
 * itself trusts it (constant and nonstop, and the current clocksource is
 * "tsc"); it is calibrated against CLOCK_MONOTONIC over ~20 ms, and anchor
 * records (TSC, MONOTONIC, BOOTTIME read back to back, the midpoint kept)
 * let a reader line the trace up with kernel events.  Elsewhere records
 * hold CLOCK_MONOTONIC nanoseconds.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "trace/trace_int.h"

static bool use_tsc;

static inline uint64_t rdtsc(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
#else
	return 0;
#endif
}

uint64_t st_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t st_boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t st_trace_now(void)
{
	return use_tsc ? rdtsc() : st_mono_ns();
}

static bool tsc_trusted(void)
{
#if defined(__x86_64__)
	const char *force = getenv("STRATA_TRACE_CLOCK");
	char buf[64], *info;
	bool constant, nonstop;
	long n;

	if (force && strcmp(force, "monotonic") == 0)
		return false; /* asked for the fallback (tests, or a TSC known to be bad) */
	if (st_read_text("/sys/devices/system/clocksource/clocksource0/current_clocksource", buf, sizeof(buf)) <= 0 ||
	    strncmp(buf, "tsc", 3))
		return false;
	info = malloc(1 << 16);
	if (!info)
		return false;
	n = st_read_text("/proc/cpuinfo", info, 1 << 16);
	constant = n > 0 && strstr(info, " constant_tsc");
	nonstop = n > 0 && strstr(info, " nonstop_tsc");
	free(info);
	return constant && nonstop;
#else
	return false;
#endif
}

/* TSC and MONOTONIC at (nearly) the same instant: the midpoint of two
 * clock reads around one rdtsc, from the tightest of a few tries. */
static void pair(uint64_t *tsc, uint64_t *mono)
{
	uint64_t best = UINT64_MAX;
	int i;

	for (i = 0; i < 5; i++) {
		uint64_t a = st_mono_ns(), t = rdtsc(), b = st_mono_ns();

		if (b - a < best) {
			best = b - a;
			*tsc = t;
			*mono = a + (b - a) / 2;
		}
	}
}

void st_trace_clock_init(struct st_trace_header *h)
{
	uint64_t t0, m0, t1, m1;
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	use_tsc = tsc_trusted();
	h->tsc_ok = use_tsc;
	if (!use_tsc) {
		h->ns_per_tick = 1.0;
		h->tsc_anchor = h->mono_anchor_ns = 0;
		return;
	}
	pair(&t0, &m0);
	nanosleep(&pause, NULL);
	pair(&t1, &m1);
	h->ns_per_tick = t1 > t0 ? (double)(m1 - m0) / (double)(t1 - t0) : 1.0;
	h->tsc_anchor = t1;
	h->mono_anchor_ns = m1;
}

void st_trace_anchor(void)
{
	uint64_t tsc = 0, mono = 0, boot;

	if (use_tsc)
		pair(&tsc, &mono);
	else
		tsc = mono = st_mono_ns();
	boot = st_boot_ns();
	st_trace_emit_at(tsc, 0, STRATA_TRACE_ANCHOR, mono, boot);
}
