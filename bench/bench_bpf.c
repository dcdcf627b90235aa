/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_bpf.c — what the telemetry collectors cost.
 *
 *   bpf.overhead  fio, 4 KiB random reads at queue depth 64 (io_uring,
 *                 O_DIRECT) on a loop device over tmpfs (fast enough that
 *                 the hooks, not the device, would show), with and without
 *                 a runtime whose collectors are on; repetitions
 *                 interleaved.  IOPS loss, and the telemetry's own CPU (the
 *                 sampler, from this process's rusage) as a share of the
 *                 machine.
 *   bpf.hook      ns of BPF time per hook invocation, from the kernel's BPF
 *                 statistics (kernel.bpf_stats_enabled, switched on for
 *                 this separate run only, since it adds its own cost),
 *                 beside an empty program attached to the same tracepoint
 *                 in the same run (bench/bpf_floor.bpf.c): the floor any
 *                 program pays on that hook here, statistics included.
 *
 * Needs root, fio, losetup and bpftool; otherwise it says "skipped".
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <strata/strata.h>

#include "bench_util.h"

#ifndef HAVE_BPF_FLOOR
#define HAVE_BPF_FLOOR 0 /* built without skeletons: no empty programs */
#endif
#if HAVE_BPF_FLOOR
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-qual"
#include "bpf_floor.skel.h"
#pragma GCC diagnostic pop
#endif

/* fio's IOPS on this VM swing by ±15 % between runs, more than the effect
 * measured: many short pairs, in alternating order, and a median of ratios. */
#define REPS 11
#define SECONDS 3

static char loopdev[64];

static char *run_capture(const char *cmd, size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	FILE *p = popen(cmd, "r");
	size_t r;

	if (!p || !buf) {
		free(buf);
		if (p)
			pclose(p);
		return NULL;
	}
	while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
		n += r;
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[n] = '\0';
	pclose(p);
	if (len)
		*len = n;
	return buf;
}

static double fio_iops(void)
{
	char cmd[512], *out;
	json_t *root, *jobs;
	double iops = -1;

	snprintf(cmd, sizeof(cmd),
		 "fio --name=r --filename=%s --rw=randread --bs=4k --iodepth=64 --ioengine=io_uring --direct=1 "
		 "--runtime=%d --time_based --output-format=json 2>/dev/null",
		 loopdev, SECONDS);
	out = run_capture(cmd, NULL);
	root = out ? json_loads(out, 0, NULL) : NULL;
	jobs = root ? json_object_get(root, "jobs") : NULL;
	if (jobs && json_array_size(jobs))
		iops = json_number_value(json_object_get(json_object_get(json_array_get(jobs, 0), "read"), "iops"));
	json_decref(root);
	free(out);
	return iops;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
	       (double)ru.ru_stime.tv_usec * 1e-6;
}

static int setup_loop(void)
{
	char *out;

	if (system("dd if=/dev/zero of=/dev/shm/strata-bench-bpf bs=1M count=1024 status=none"))
		return -1;
	out = run_capture("losetup -f --show /dev/shm/strata-bench-bpf 2>/dev/null", NULL);
	if (!out || strncmp(out, "/dev/loop", 9)) {
		free(out);
		return -1;
	}
	out[strcspn(out, "\n")] = '\0';
	snprintf(loopdev, sizeof(loopdev), "%s", out);
	free(out);
	return 0;
}

static void teardown_loop(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "losetup -d %s 2>/dev/null", loopdev);
	if (loopdev[0] && system(cmd))
		fprintf(stderr, "could not detach %s\n", loopdev);
	unlink("/dev/shm/strata-bench-bpf");
}

static void print(const char *bench, const char *cas, const char *metric, const char *unit, double v,
		  const char *base, double bv, double ratio, const char *better, int reps, const char *extra)
{
	printf("{\"bench\":\"%s\",\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":%.4g,\"baseline\":\"%s\","
	       "\"baseline_value\":%.4g,\"ratio\":%.4f,\"better\":\"%s\",\"ok\":true,\"reps\":%d%s%s}\n",
	       bench, cas, metric, unit, v, base, bv, ratio, better, reps, extra ? "," : "", extra ? extra : "");
	fflush(stdout);
}

/* Each collector program, its tracepoint, and the empty program there. */
static const struct hook {
	const char *prog, *floor;
} hooks[] = {
	{ "on_block_complete", "fl_block" },   { "on_wakeup", "fl_wakeup" },
	{ "on_wakeup_new", "fl_wakeup_new" },  { "on_switch", "fl_switch" },
	{ "on_reclaim_begin", NULL },	       { "on_reclaim_end", NULL },
	{ "on_kswapd_wake", NULL },	       { "on_throttled", NULL },
	{ "on_fault", "fl_fault" },	       { "on_move_numa", NULL },
	{ "on_migrate", NULL },		       { "on_migrate_old", NULL },
	{ "on_uring_submit", "fl_uring_submit" }, { "on_uring_complete", "fl_uring_done" },
	{ "on_uring_overflow", NULL },
};

/* ns per invocation and invocations of every program named in @hooks (as
 * prog or floor), from bpftool; kernel names keep 15 characters. */
struct hook_cost {
	double ns, runs;
};

static void read_costs(struct hook_cost *prog, struct hook_cost *empty)
{
	char *out = run_capture("bpftool prog show --json 2>/dev/null", NULL);
	json_t *root = out ? json_loads(out, 0, NULL) : NULL, *p;
	size_t i, k;

	json_array_foreach(root, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		double ns = json_number_value(json_object_get(p, "run_time_ns"));
		double cnt = json_number_value(json_object_get(p, "run_cnt"));

		for (k = 0; name && cnt > 0 && k < sizeof(hooks) / sizeof(hooks[0]); k++) {
			if (strncmp(name, hooks[k].prog, 15) == 0)
				prog[k] = (struct hook_cost){ ns / cnt, cnt };
			if (hooks[k].floor && strncmp(name, hooks[k].floor, 15) == 0)
				empty[k] = (struct hook_cost){ ns / cnt, cnt };
		}
	}
	json_decref(root);
	free(out);
}

static void hook_costs(void)
{
	struct hook_cost prog[sizeof(hooks) / sizeof(hooks[0])] = { { 0 } };
	struct hook_cost empty[sizeof(hooks) / sizeof(hooks[0])] = { { 0 } };
	size_t k;

	read_costs(prog, empty);
	for (k = 0; k < sizeof(hooks) / sizeof(hooks[0]); k++) {
		char extra[96];

		if (!prog[k].runs)
			continue;
		snprintf(extra, sizeof(extra), "\"invocations\":%.0f,\"goal_ns\":40", prog[k].runs);
		if (empty[k].runs) {
			print("bpf.hook", hooks[k].prog, "ns_per_invocation", "ns", prog[k].ns, "empty_program",
			      empty[k].ns, prog[k].ns / empty[k].ns, "lower", 1, extra);
			fprintf(stderr, "  %-18s %6.1f ns per invocation, an empty program there %5.1f ns (%.0f invocations)\n",
				hooks[k].prog, prog[k].ns, empty[k].ns, prog[k].runs);
		} else {
			print("bpf.hook", hooks[k].prog, "ns_per_invocation", "ns", prog[k].ns, "goal", 40, prog[k].ns / 40,
			      "lower", 1, extra);
			fprintf(stderr, "  %-18s %6.1f ns per invocation (%.0f invocations)\n", hooks[k].prog, prog[k].ns,
				prog[k].runs);
		}
	}
}

#if HAVE_BPF_FLOOR
/* The empty programs, each only where this kernel has its tracepoint. */
static struct bpf_floor *floor_open(void)
{
	struct btf *vmlinux = btf__load_vmlinux_btf();
	struct bpf_floor *f = bpf_floor__open();
	struct bpf_program *p;

	if (!f || !vmlinux) {
		bpf_floor__destroy(f);
		btf__free(vmlinux);
		return NULL;
	}
	bpf_object__for_each_program(p, f->obj) {
		char type[96];

		snprintf(type, sizeof(type), "btf_trace_%s", strchr(bpf_program__section_name(p), '/') + 1);
		bpf_program__set_autoload(p, btf__find_by_name_kind(vmlinux, type, BTF_KIND_TYPEDEF) > 0);
	}
	btf__free(vmlinux);
	if (bpf_floor__load(f) || bpf_floor__attach(f)) {
		bpf_floor__destroy(f);
		return NULL;
	}
	return f;
}
#endif

int main(void)
{
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	double off[REPS], on[REPS], cpu[REPS];
	struct strata_collector_status c[4];
	struct strata_rt *rt;
	int r, n;

	if (geteuid() != 0 || system("command -v fio >/dev/null && command -v losetup >/dev/null && "
				     "command -v bpftool >/dev/null")) {
		printf("{\"bench\":\"bpf.overhead\",\"skipped\":\"needs root, fio, losetup and bpftool\"}\n");
		return 0;
	}
	setenv("STRATA_TRACE", "off", 1);
	/* Are the collectors loadable here? */
	if (strata_rt_create(&ropts, &rt))
		return 1;
	n = strata_telemetry_collectors(rt, c, 4);
	strata_rt_destroy(rt);
	if (n < 1 || c[0].state != STRATA_COLLECTOR_ACTIVE) {
		printf("{\"bench\":\"bpf.overhead\",\"skipped\":\"eBPF collectors unavailable: %s\"}\n",
		       n > 0 ? c[0].reason : "telemetry off");
		return 0;
	}
	if (setup_loop()) {
		printf("{\"bench\":\"bpf.overhead\",\"skipped\":\"cannot set up a loop device over tmpfs\"}\n");
		return 0;
	}
	fio_iops(); /* warm-up */
	for (r = 0; r < REPS; r++) {
		double c0, t0;

		if (!(r % 2))
			off[r] = fio_iops();
		if (strata_rt_create(&ropts, &rt))
			return 1;
		strata_telemetry_register_thread(rt, 0);
		c0 = cpu_s();
		t0 = bench_now();
		on[r] = fio_iops();
		cpu[r] = (cpu_s() - c0) / (bench_now() - t0) / (double)sysconf(_SC_NPROCESSORS_ONLN);
		strata_rt_destroy(rt);
		if (r % 2)
			off[r] = fio_iops();
		fprintf(stderr, "  rep %d: off %.0f IOPS, collectors on %.0f IOPS, telemetry CPU %.3f%% of the machine\n", r,
			off[r], on[r], 100 * cpu[r]);
	}
	{
		double paired[REPS], ratio, mo, mn, mc = bench_median(cpu, REPS);
		char extra[96];

		/* This VM's IOPS drift between repetitions: the ratio is the median
		 * of each repetition's on/off ratio (adjacent runs). */
		for (r = 0; r < REPS; r++)
			paired[r] = on[r] / off[r];
		ratio = bench_median(paired, REPS);
		mo = bench_median(off, REPS);
		mn = bench_median(on, REPS);
		snprintf(extra, sizeof(extra), "\"device\":\"%s\",\"iops_loss_pct\":%.2f", loopdev, 100 * (1 - ratio));
		print("bpf.overhead", "randread-4k-qd64", "iops", "1/s", mn, "collectors_off", mo, ratio, "higher", REPS,
		      extra);
		print("bpf.overhead", "telemetry_cpu", "machine_share", "ratio", mc, "goal", 0.005, mc / 0.005, "lower", REPS,
		      NULL);
		fprintf(stderr, "  IOPS with collectors %.0f vs off %.0f: loss %.2f%% (paired); telemetry CPU %.3f%% of the machine\n",
			mn, mo, 100 * (1 - ratio), 100 * mc);
	}
	/* Hook cost: a separate run with the kernel's BPF statistics on. */
	if (system("sysctl -q -w kernel.bpf_stats_enabled=1") == 0) {
		if (strata_rt_create(&ropts, &rt) == 0) {
#if HAVE_BPF_FLOOR
			struct bpf_floor *empty = floor_open();

			if (!empty)
				fprintf(stderr, "  the empty programs did not load: no floor beside each hook\n");
#endif
			strata_telemetry_register_thread(rt, 0);
			fio_iops();
			hook_costs();
			strata_rt_destroy(rt);
#if HAVE_BPF_FLOOR
			bpf_floor__destroy(empty);
#endif
		}
		if (system("sysctl -q -w kernel.bpf_stats_enabled=0"))
			fprintf(stderr, "could not switch kernel.bpf_stats_enabled back off\n");
	} else {
		printf("{\"bench\":\"bpf.hook\",\"skipped\":\"cannot enable kernel.bpf_stats_enabled\"}\n");
	}
	teardown_loop();
	return 0;
}
