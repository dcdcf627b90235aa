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
 *                 this separate run only, since it adds its own cost).
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

#define REPS 5
#define SECONDS 4

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
		  const char *base, double bv, double ratio, const char *better, const char *extra)
{
	printf("{\"bench\":\"%s\",\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\",\"value\":%.4g,\"baseline\":\"%s\","
	       "\"baseline_value\":%.4g,\"ratio\":%.4f,\"better\":\"%s\",\"ok\":true,\"reps\":%d%s%s}\n",
	       bench, cas, metric, unit, v, base, bv, ratio, better, REPS, extra ? "," : "", extra ? extra : "");
	fflush(stdout);
}

/* BPF time per invocation of each of strata's programs, from bpftool. */
static void hook_costs(void)
{
	static const char *const progs[] = { "on_block_complete", "on_wakeup", "on_wakeup_new", "on_switch",
					     "on_reclaim_begin", "on_reclaim_end", "on_kswapd_wake", "on_throttled",
					     "on_fault", "on_move_numa", "on_migrate", "on_migrate_old",
					     "on_uring_submit", "on_uring_complete", "on_uring_overflow" };
	char *out = run_capture("bpftool prog show --json 2>/dev/null", NULL);
	json_t *root = out ? json_loads(out, 0, NULL) : NULL, *p;
	size_t i, k;

	json_array_foreach(root, i, p) {
		const char *name = json_string_value(json_object_get(p, "name"));
		double ns = json_number_value(json_object_get(p, "run_time_ns"));
		double cnt = json_number_value(json_object_get(p, "run_cnt"));

		for (k = 0; name && k < sizeof(progs) / sizeof(progs[0]); k++)
			if (strncmp(name, progs[k], 15) == 0 && cnt > 0) { /* kernel names keep 15 characters */
				char extra[64];

				snprintf(extra, sizeof(extra), "\"invocations\":%.0f", cnt);
				print("bpf.hook", name, "ns_per_invocation", "ns", ns / cnt, "goal", 40, ns / cnt / 40, "lower",
				      extra);
				fprintf(stderr, "  %-18s %6.1f ns per invocation (%.0f invocations)\n", name, ns / cnt, cnt);
			}
	}
	json_decref(root);
	free(out);
}

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

		off[r] = fio_iops();
		if (strata_rt_create(&ropts, &rt))
			break;
		strata_telemetry_register_thread(rt, 0);
		c0 = cpu_s();
		t0 = bench_now();
		on[r] = fio_iops();
		cpu[r] = (cpu_s() - c0) / (bench_now() - t0) / (double)sysconf(_SC_NPROCESSORS_ONLN);
		strata_rt_destroy(rt);
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
		print("bpf.overhead", "randread-4k-qd64", "iops", "1/s", mn, "collectors_off", mo, ratio, "higher", extra);
		print("bpf.overhead", "telemetry_cpu", "machine_share", "ratio", mc, "goal", 0.005, mc / 0.005, "lower",
		      NULL);
		fprintf(stderr, "  IOPS with collectors %.0f vs off %.0f: loss %.2f%% (paired); telemetry CPU %.3f%% of the machine\n",
			mn, mo, 100 * (1 - ratio), 100 * mc);
	}
	/* Hook cost: a separate run with the kernel's BPF statistics on. */
	if (system("sysctl -q -w kernel.bpf_stats_enabled=1") == 0) {
		if (strata_rt_create(&ropts, &rt) == 0) {
			strata_telemetry_register_thread(rt, 0);
			fio_iops();
			hook_costs();
			strata_rt_destroy(rt);
		}
		if (system("sysctl -q -w kernel.bpf_stats_enabled=0"))
			fprintf(stderr, "could not switch kernel.bpf_stats_enabled back off\n");
	} else {
		printf("{\"bench\":\"bpf.hook\",\"skipped\":\"cannot enable kernel.bpf_stats_enabled\"}\n");
	}
	teardown_loop();
	return 0;
}
