/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_telemetry.c — `strata telemetry [--json] [-i MS] [-n N]`:
 * the live telemetry snapshot of the whole machine (block devices, memory
 * pressure and reclaim, faults, NUMA migrations), without attaching to a
 * process, with the source of each group and each collector's state.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <strata/strata.h>

#include "cli.h"

static const char *const states[] = { "active", "fallback", "unavailable" };
static const char *const levels[] = { "normal", "elevated", "critical" };

static json_t *to_json(const struct strata_telemetry_snapshot *s, const struct strata_collector_status *c, int nc)
{
	json_t *root = json_object(), *devs = json_array(), *cols = json_array();
	unsigned i;

	for (i = 0; i < s->ndevices; i++) {
		const struct strata_telemetry_device *d = &s->devices[i];

		json_array_append_new(devs, json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "name", d->name,
						      "read_bytes_per_s", d->read_bytes_per_s, "write_bytes_per_s",
						      d->write_bytes_per_s, "read_ios_per_s", d->read_ios_per_s,
						      "write_ios_per_s", d->write_ios_per_s, "in_flight", d->in_flight,
						      "latency_p50_s", d->latency_p50_s, "latency_p99_s", d->latency_p99_s,
						      "avg_latency_s", d->avg_latency_s));
	}
	for (i = 0; i < (unsigned)nc; i++)
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "name", c[i].name, "state", states[c[i].state],
						      "reason", c[i].reason));
	json_object_set_new(root, "seq", json_integer((json_int_t)s->seq));
	json_object_set_new(root, "interval_s", json_real(s->interval_s));
	json_object_set_new(root, "io", json_pack("{s:s, s:f, s:o}", "source", strata_telemetry_source_name(s->io_source),
						  "bytes_per_s", s->io_bytes_per_s, "devices", devs));
	json_object_set_new(root, "psi", json_pack("{s:s, s:f, s:f, s:f, s:f, s:f}", "source",
						   strata_telemetry_source_name(s->psi_source), "cpu_some", s->cpu_some,
						   "memory_some", s->memory_some, "memory_full", s->memory_full, "io_some",
						   s->io_some, "io_full", s->io_full));
	json_object_set_new(root, "memory",
			    json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f}", "source",
				      strata_telemetry_source_name(s->mem_source), "direct_reclaim_stalls_per_s",
				      s->direct_reclaim_stalls_per_s, "pages_scanned_per_s", s->pages_scanned_per_s,
				      "pages_reclaimed_per_s", s->pages_reclaimed_per_s, "kswapd_wakeups_per_s",
				      s->kswapd_wakeups_per_s, "faults_per_s", s->faults_per_s, "numa_pages_migrated_per_s",
				      s->numa_pages_migrated_per_s));
	json_object_set_new(root, "pressure_level", json_string(levels[s->pressure_level % 3]));
	json_object_set_new(root, "collectors", cols);
	return root;
}

static void print_text(const struct strata_telemetry_snapshot *s, const struct strata_collector_status *c, int nc,
		       bool first)
{
	unsigned i;
	int k;

	if (first) {
		for (k = 0; k < nc; k++)
			printf("collector %-9s %-11s %s\n", c[k].name, states[c[k].state], c[k].reason);
		printf("\n");
	}
	printf("pressure %-8s  PSI some: cpu %5.2f%% memory %5.2f%% io %5.2f%%   reclaim stalls %.0f/s  scanned %.0f/s\n",
	       levels[s->pressure_level % 3], s->cpu_some, s->memory_some, s->io_some, s->direct_reclaim_stalls_per_s,
	       s->pages_scanned_per_s);
	for (i = 0; i < s->ndevices; i++) {
		const struct strata_telemetry_device *d = &s->devices[i];

		if (!d->read_bytes_per_s && !d->write_bytes_per_s && !d->in_flight)
			continue;
		printf("  %-10s read %9.1f MB/s %7.0f IO/s   write %9.1f MB/s %7.0f IO/s   in flight %3.0f", d->name,
		       d->read_bytes_per_s / 1e6, d->read_ios_per_s, d->write_bytes_per_s / 1e6, d->write_ios_per_s,
		       d->in_flight);
		if (d->latency_p99_s > 0)
			printf("   p50 %.0f us p99 %.0f us", d->latency_p50_s * 1e6, d->latency_p99_s * 1e6);
		printf("  [%s]\n", strata_telemetry_source_name(s->io_source));
	}
	fflush(stdout);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: strata telemetry [--json] [-i MS] [-n N]\n\n"
		   "  -i MS    sampling interval in milliseconds (default 1000 for printing; 10 at least)\n"
		   "  -n N     stop after N snapshots (default: until interrupted)\n"
		   "  --json   one JSON object per snapshot\n");
}

int cmd_telemetry(int argc, char **argv)
{
	static const struct option longs[] = { { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	struct strata_collector_status cols[8];
	struct strata_rt *rt;
	long interval = 1000, count = -1, i;
	uint64_t seen = 0;
	bool json = false;
	char buf[32];
	int opt, nc, err;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "i:n:h", longs, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'i':
			interval = strtol(optarg, &end, 10);
			if (*end || interval < 10 || interval > 3600000) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count <= 0) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	/* This command watches the machine; it is not itself a process to attach to. */
	setenv("STRATA_TRACE", "off", 1);
	snprintf(buf, sizeof(buf), "%ld", interval);
	setenv("STRATA_TELEMETRY_MS", buf, 1);
	err = strata_rt_create(&ropts, &rt);
	if (err) {
		fprintf(stderr, "strata telemetry: %s\n", strata_strerror(err));
		return 1;
	}
	nc = strata_telemetry_collectors(rt, cols, 8);
	if (nc < 0) {
		fprintf(stderr, "strata telemetry: telemetry is off (STRATA_TELEMETRY=off?)\n");
		strata_rt_destroy(rt);
		return 1;
	}
	for (i = 0; count < 0 || i < count; i++) {
		struct strata_telemetry_snapshot s = { .sz = sizeof(s) };

		/* Wait for a snapshot newer than the last one printed. */
		do {
			usleep((useconds_t)(interval * 1000 / 4));
			err = strata_telemetry_snapshot(rt, &s);
		} while ((err == -ENODATA || s.seq == seen) && (err == 0 || err == -ENODATA));
		if (err)
			break;
		seen = s.seq;
		if (json) {
			json_t *j = to_json(&s, cols, nc);

			json_dumpf(j, stdout, JSON_COMPACT);
			printf("\n");
			fflush(stdout);
			json_decref(j);
		} else {
			print_text(&s, cols, nc, i == 0);
		}
	}
	strata_rt_destroy(rt);
	if (err) {
		fprintf(stderr, "strata telemetry: %s\n", strata_strerror(err));
		return 1;
	}
	return 0;
}
