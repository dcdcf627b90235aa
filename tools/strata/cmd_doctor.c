/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_doctor.c — `strata doctor`: run every feature check and
 * say, for each one that fails, what it costs and how to fix it.  Exits 0
 * whatever it finds: a missing optional feature is information, not an
 * error (every one has a fallback).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>

#include <jansson.h>
#include <strata/strata.h>

#include "cli.h"

static void doctor_usage(FILE *f)
{
	fprintf(f, "usage: strata doctor [--json]\n\n"
		   "Checks io_uring, eBPF and BTF, the CUDA driver and NVRTC, huge pages, NUMA,\n"
		   "memory locking, PSI and a C compiler, and says how to fix what is missing.\n");
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_rt *rt = NULL;
	json_t *arr = json_array(), *collectors = NULL;
	int c, json = 0, err, ok = 0;
	unsigned id;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			doctor_usage(stdout);
			json_decref(arr);
			return 0;
		default:
			doctor_usage(stderr);
			json_decref(arr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "strata doctor: unexpected argument '%s'\n", argv[optind]);
		doctor_usage(stderr);
		json_decref(arr);
		return EXIT_USAGE;
	}
	err = strata_rt_create(&opts, &rt);
	if (err)
		fprintf(stderr, "strata doctor: no runtime (%s); NUMA check reads sysfs\n", strata_strerror(err));
	if (!json)
		printf("strata %s doctor\n\n", strata_version());
	for (id = 0; id < STRATA_FEAT_COUNT; id++) {
		struct strata_feature_report r = { .sz = sizeof(r) };

		if (strata_feature_check(rt, (enum strata_feature_id)id, &r))
			continue;
		ok += r.status == 0;
		if (json) {
			json_array_append_new(arr, json_pack("{s:s, s:b, s:i, s:s, s:b, s:s, s:s}", "name", r.name,
							     "ok", r.status == 0, "status", r.status, "error",
							     strata_strerror(r.status), "built", r.built, "detail",
							     r.detail, "fix", r.fix));
			continue;
		}
		printf("  %-7s %-12s %s\n", r.status == 0 ? "ok" : "missing", r.name, r.detail);
		if (r.status)
			printf("  %-7s %-12s fix: %s\n", "", "", r.fix);
	}
	/* The telemetry collectors: active, on a fallback, or unavailable, and why. */
	{
		static const char *const states[] = { "active", "fallback", "unavailable" };
		struct strata_collector_status cols[8];
		int n = rt ? strata_telemetry_collectors(rt, cols, 8) : -ENODATA, i;

		if (!json)
			printf("\ntelemetry collectors%s\n", n < 0 ? ": off (STRATA_TELEMETRY=off)" : "");
		for (i = 0; i < n && i < 8; i++) {
			if (json) {
				collectors = collectors ? collectors : json_array();
				json_array_append_new(collectors, json_pack("{s:s, s:s, s:s}", "name", cols[i].name, "state",
									    states[cols[i].state], "reason", cols[i].reason));
				continue;
			}
			printf("  %-11s %-9s %s\n", states[cols[i].state], cols[i].name, cols[i].reason);
		}
	}
	if (json) {
		json_t *doc = json_pack("{s:s, s:i, s:i, s:o, s:o}", "version", strata_version(), "ok", ok, "total",
					(int)STRATA_FEAT_COUNT, "features", arr, "collectors",
					collectors ? collectors : json_array());

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(doc);
	} else {
		printf("\n%d of %d features available.\n", ok, (int)STRATA_FEAT_COUNT);
		json_decref(arr);
	}
	strata_rt_destroy(rt);
	return 0;
}
