/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_top.c — `strata top PID`: a live view of a process
 * using strata, refreshed each second: memory pools, I/O, telemetry and
 * pressure, scheduler and kernels, and the tracer itself.  It reads the
 * process's metrics through its socket (the same text Prometheus gets) and
 * turns counters into rates.  ncurses on a terminal; `-n N` stops after N
 * refreshes and `--json` prints one JSON object per refresh for scripts.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <ncurses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <strata/metric_names.h>
#include <strata/strata.h>

#include "cli.h"

#define MAX_SAMPLES 4096

struct sample {
	char name[96];
	char labels[256];
	double value;
};

struct scrape {
	struct sample s[MAX_SAMPLES];
	size_t n;
	double t;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prometheus text to samples (histogram buckets skipped). */
static void parse(const char *text, struct scrape *out)
{
	const char *line = text;

	out->n = 0;
	while (line && *line && out->n < MAX_SAMPLES) {
		const char *end = strchr(line, '\n'), *brace, *space;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		struct sample *s = &out->s[out->n];

		if (len && line[0] != '#' && len < 400) {
			char buf[400];

			memcpy(buf, line, len);
			buf[len] = '\0';
			brace = strchr(buf, '{');
			space = strrchr(buf, ' ');
			if (space && !strstr(buf, "_bucket")) {
				size_t nl = (size_t)((brace && brace < space ? brace : space) - buf);

				snprintf(s->name, sizeof(s->name), "%.*s", (int)nl, buf);
				s->labels[0] = '\0';
				if (brace && brace < space) {
					const char *close = strrchr(buf, '}');

					if (close && close > brace)
						snprintf(s->labels, sizeof(s->labels), "%.*s", (int)(close - brace - 1), brace + 1);
				}
				s->value = strtod(space + 1, NULL);
				out->n++;
			}
		}
		line = end ? end + 1 : NULL;
	}
}

/* Value of a label in a label string, into @buf. */
static const char *label(const char *labels, const char *key, char *buf, size_t len)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "%s=\"", key);
	p = strstr(labels, pat);
	while (p && p != labels && p[-1] != ',')
		p = strstr(p + 1, pat);
	if (!p) {
		snprintf(buf, len, "-");
		return buf;
	}
	p += strlen(pat);
	q = strchr(p, '"');
	snprintf(buf, len, "%.*s", (int)(q ? q - p : 0), p);
	return buf;
}

static double sum(const struct scrape *s, const char *name, const char *must_have)
{
	double v = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->s[i].name, name) == 0 && (!must_have || strstr(s->s[i].labels, must_have)))
			v += s->s[i].value;
	return v;
}

static double rate(const struct scrape *cur, const struct scrape *prev, const char *name)
{
	double dt = cur->t - prev->t;

	if (!prev->n || dt <= 0)
		return 0;
	return fmax(0, sum(cur, name, NULL) - sum(prev, name, NULL)) / dt;
}

static const char *human(double bytes, char *buf, size_t len)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (fabs(bytes) >= 1024 && i < 4) {
		bytes /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", bytes, u[i]);
	return buf;
}

/* /proc/pressure/<what>: the "some" avg10. */
static double psi(const char *what)
{
	char path[64], line[256];
	double v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/pressure/%s", what);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "avg10=");

		if (p)
			v = strtod(p + 6, NULL);
	}
	if (f)
		fclose(f);
	return v;
}

/* One view of the state, as lines (text) or as JSON. */
static json_t *view(int pid, const struct scrape *cur, const struct scrape *prev)
{
	json_t *root = json_object(), *pools = json_array(), *io, *pressure, *sched, *tracer;
	size_t i;

	json_object_set_new(root, "pid", json_integer(pid));
	for (i = 0; i < cur->n; i++) {
		const struct sample *s = &cur->s[i];
		char name[96], id[32], node[16], kind[16], key[200];
		json_t *p;

		if (strcmp(s->name, STRATA_MN_POOL_BYTES) || !strstr(s->labels, "state=\"reserved\""))
			continue;
		label(s->labels, "pool", name, sizeof(name));
		label(s->labels, "id", id, sizeof(id));
		label(s->labels, "node", node, sizeof(node));
		label(s->labels, "kind", kind, sizeof(kind));
		snprintf(key, sizeof(key), "id=\"%s\"", id);
		p = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:f, s:f}", "pool", name, "node", node, "kind", kind,
			      "in_use_bytes", 0.0, "cached_bytes", 0.0, "reserved_bytes", s->value, "hugepage_ratio", 0.0,
			      "fallbacks", 0.0, "allocs_per_second", 0.0);
		{
			size_t k;

			for (k = 0; k < cur->n; k++) {
				const struct sample *t = &cur->s[k];

				if (!strstr(t->labels, key))
					continue;
				if (strcmp(t->name, STRATA_MN_POOL_BYTES) == 0 && strstr(t->labels, "in_use"))
					json_object_set_new(p, "in_use_bytes", json_real(t->value));
				else if (strcmp(t->name, STRATA_MN_POOL_BYTES) == 0 && strstr(t->labels, "cached"))
					json_object_set_new(p, "cached_bytes", json_real(t->value));
				else if (strcmp(t->name, STRATA_MN_POOL_HUGEPAGE_RATIO) == 0)
					json_object_set_new(p, "hugepage_ratio", json_real(t->value));
				else if (strcmp(t->name, STRATA_MN_POOL_FALLBACKS_TOTAL) == 0)
					json_object_set_new(p, "fallbacks", json_real(t->value));
			}
		}
		json_array_append_new(pools, p);
	}
	json_object_set_new(root, "pools", pools);
	io = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "read_bytes_per_second",
		       rate(cur, prev, STRATA_MN_IO_READ_BYTES_TOTAL), "reads_per_second",
		       rate(cur, prev, STRATA_MN_IO_READS_TOTAL), "inflight_reads", sum(cur, STRATA_MN_IO_INFLIGHT_READS, NULL),
		       "queue_depth", sum(cur, STRATA_MN_IO_QUEUE_DEPTH, NULL), "chunk_bytes",
		       sum(cur, STRATA_MN_IO_CHUNK_BYTES, NULL), "tensors_loaded",
		       sum(cur, STRATA_MN_IO_TENSORS_LOADED_TOTAL, NULL), "errors", sum(cur, STRATA_MN_IO_ERRORS_TOTAL, NULL));
	json_object_set_new(root, "io", io);
	pressure = json_pack("{s:s, s:f, s:f, s:f, s:i, s:f, s:f, s:f, s:f}", "source", "/proc/pressure", "cpu_some_avg10",
			     psi("cpu"), "memory_some_avg10", psi("memory"), "io_some_avg10", psi("io"), "level",
			     (int)sum(cur, STRATA_MN_TELEMETRY_PRESSURE_LEVEL, NULL), "disk_bytes_per_second",
			     sum(cur, STRATA_MN_TELEMETRY_IO_BYTES_PER_SECOND, NULL), "reclaim_stalls_per_second",
			     sum(cur, STRATA_MN_TELEMETRY_RECLAIM_STALLS_PER_SECOND, NULL), "faults_per_second",
			     sum(cur, STRATA_MN_TELEMETRY_FAULTS_PER_SECOND, "kind=\"all\""), "runq_delay_ratio",
			     sum(cur, STRATA_MN_TELEMETRY_RUNQ_DELAY_RATIO, NULL));
	{
		/* Which collectors feed it: "block_io=active sched=active memory=fallback". */
		char sources[256] = "";
		size_t k;

		for (k = 0; k < cur->n; k++)
			if (strcmp(cur->s[k].name, STRATA_MN_TELEMETRY_COLLECTOR_INFO) == 0) {
				char c[32], st[32];

				snprintf(sources + strlen(sources), sizeof(sources) - strlen(sources), "%s%s=%s",
					 sources[0] ? " " : "", label(cur->s[k].labels, "collector", c, sizeof(c)),
					 label(cur->s[k].labels, "state", st, sizeof(st)));
			}
		json_object_set_new(pressure, "collectors", json_string(sources));
	}
	json_object_set_new(root, "pressure", pressure);
	/* busy and waiting: seconds per second summed over the workers, so
	 * 2.0 is two workers busy all the time. */
	sched = json_pack("{s:f, s:f, s:f, s:f, s:f, s:f}", "workers", sum(cur, STRATA_MN_SCHED_WORKERS, NULL),
			  "tasks_per_second", rate(cur, prev, STRATA_MN_SCHED_TASKS_TOTAL), "chunks_per_second",
			  rate(cur, prev, STRATA_MN_SCHED_CHUNKS_TOTAL), "busy_seconds_per_second",
			  rate(cur, prev, STRATA_MN_SCHED_BUSY_SECONDS_TOTAL), "wait_seconds_per_second",
			  rate(cur, prev, STRATA_MN_SCHED_WAIT_SECONDS_TOTAL), "kernel_seconds_per_second",
			  rate(cur, prev, STRATA_MN_GRAPH_KERNEL_SECONDS_TOTAL));
	json_object_set_new(root, "scheduler", sched);
	tracer = json_pack("{s:f, s:f, s:f, s:f}", "events_per_second", rate(cur, prev, STRATA_MN_TRACE_EVENTS_TOTAL),
			   "dropped", sum(cur, STRATA_MN_TRACE_EVENTS_DROPPED_TOTAL, NULL), "cpu_seconds",
			   sum(cur, STRATA_MN_TRACE_CPU_SECONDS_TOTAL, NULL), "ring_bytes",
			   sum(cur, STRATA_MN_TRACE_RING_BYTES, NULL));
	json_object_set_new(root, "tracer", tracer);
	return root;
}

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

static void draw(int pid, json_t *v, bool have_sched)
{
	json_t *pools = json_object_get(v, "pools"), *io = json_object_get(v, "io"), *pr = json_object_get(v, "pressure");
	json_t *tr = json_object_get(v, "tracer"), *p;
	char a[32], b[32], c[32];
	size_t i;
	int y = 0;

	erase();
	attron(A_BOLD);
	mvprintw(y++, 0, "strata top - pid %d            q quits", pid);
	attroff(A_BOLD);
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-24s %5s %-6s %12s %12s %12s %6s %9s", "MEMORY POOLS", "NODE", "KIND", "IN USE", "CACHED",
		 "RESERVED", "HUGE", "FALLBACK");
	attroff(A_REVERSE);
	json_array_foreach(pools, i, p)
		mvprintw(y++, 0, "%-24.24s %5s %-6s %12s %12s %12s %5.0f%% %9.0f", json_string_value(json_object_get(p, "pool")),
			 json_string_value(json_object_get(p, "node")), json_string_value(json_object_get(p, "kind")),
			 human(num(p, "in_use_bytes"), a, sizeof(a)), human(num(p, "cached_bytes"), b, sizeof(b)),
			 human(num(p, "reserved_bytes"), c, sizeof(c)), 100 * num(p, "hugepage_ratio"), num(p, "fallbacks"));
	if (!json_array_size(pools))
		mvprintw(y++, 0, "  (no pools)");
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-76s", "I/O");
	attroff(A_REVERSE);
	mvprintw(y++, 0, "  read %10s/s  %8.0f reads/s  in flight %3.0f of %3.0f  chunk %s  tensors %.0f  errors %.0f",
		 human(num(io, "read_bytes_per_second"), a, sizeof(a)), num(io, "reads_per_second"), num(io, "inflight_reads"),
		 num(io, "queue_depth"), human(num(io, "chunk_bytes"), b, sizeof(b)), num(io, "tensors_loaded"),
		 num(io, "errors"));
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-76s", "TELEMETRY AND PRESSURE");
	attroff(A_REVERSE);
	{
		static const char *const levels[] = { "normal", "elevated", "critical" };

		mvprintw(y++, 0, "  pressure %-8s  PSI some avg10: cpu %5.2f%%  memory %5.2f%%  io %5.2f%%",
			 levels[(int)num(pr, "level") % 3], num(pr, "cpu_some_avg10"), num(pr, "memory_some_avg10"),
			 num(pr, "io_some_avg10"));
		mvprintw(y++, 0, "  disks %10s/s   reclaim stalls %.0f/s   faults %.0f/s   run-queue wait %.1f%%",
			 human(num(pr, "disk_bytes_per_second"), a, sizeof(a)), num(pr, "reclaim_stalls_per_second"),
			 num(pr, "faults_per_second"), 100 * num(pr, "runq_delay_ratio"));
		mvprintw(y++, 0, "  collectors: %s", json_string_value(json_object_get(pr, "collectors")));
	}
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-76s", "SCHEDULER AND KERNELS");
	attroff(A_REVERSE);
	if (have_sched) {
		json_t *sc = json_object_get(v, "scheduler");
		double workers = num(sc, "workers");

		mvprintw(y++, 0, "  %.0f workers   tasks %.0f/s   chunks %.0f/s   kernel time %.2f s/s",
			 workers, num(sc, "tasks_per_second"), num(sc, "chunks_per_second"),
			 num(sc, "kernel_seconds_per_second"));
		mvprintw(y++, 0, "  busy %5.1f%%   waiting in a run %5.1f%%   (of the workers' time)",
			 workers > 0 ? 100 * num(sc, "busy_seconds_per_second") / workers : 0,
			 workers > 0 ? 100 * num(sc, "wait_seconds_per_second") / workers : 0);
	} else
		mvprintw(y++, 0, "  (no scheduler running in this process)");
	y++;
	attron(A_REVERSE);
	mvprintw(y++, 0, "%-76s", "TRACER");
	attroff(A_REVERSE);
	mvprintw(y++, 0, "  %.0f events/s   dropped %.0f   ring memory %s   own CPU %.3f s", num(tr, "events_per_second"),
		 num(tr, "dropped"), human(num(tr, "ring_bytes"), a, sizeof(a)), num(tr, "cpu_seconds"));
	refresh();
}

static void usage(FILE *f)
{
	fprintf(f, "usage: strata top PID [-n N] [--json]\n\n"
		   "  -n N     stop after N refreshes (one a second)\n"
		   "  --json   one JSON object per refresh instead of the screen\n");
}

int cmd_top(int argc, char **argv)
{
	static const struct option longs[] = { { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
					       { NULL, 0, NULL, 0 } };
	static struct scrape a, b;
	struct scrape *cur = &a, *prev = &b;
	bool json = false, screen;
	long iterations = -1, i;
	int pid, opt, err = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "n:h", longs, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'n':
			iterations = strtol(optarg, &end, 10);
			if (*end || iterations <= 0) {
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
	if (optind != argc - 1 || cli_parse_pid(argv[optind], &pid)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	screen = !json && isatty(1);
	if (screen) {
		initscr();
		cbreak();
		noecho();
		curs_set(0);
		timeout(1000);
	}
	for (i = 0; iterations < 0 || i < iterations; i++) {
		struct scrape *t;
		char *text;
		json_t *v;

		err = strata_trace_fetch_metrics(pid, &text);
		if (err)
			break;
		/* Names and labels are the process's: no escapes reach the screen. */
		parse(cli_sanitize(text, true), cur);
		free(text);
		cur->t = now_s();
		v = view(pid, cur, prev);
		if (screen) {
			draw(pid, v, sum(cur, STRATA_MN_SCHED_WORKERS, NULL) > 0);
		} else if (json) {
			json_dumpf(v, stdout, JSON_COMPACT);
			printf("\n");
			fflush(stdout);
		} else {
			json_dumpf(v, stdout, JSON_INDENT(2));
			printf("\n");
		}
		json_decref(v);
		t = prev;
		prev = cur;
		cur = t;
		if (iterations >= 0 && i + 1 >= iterations)
			break;
		if (screen) {
			if (getch() == 'q')
				break;
		} else {
			sleep(1);
		}
	}
	if (screen)
		endwin();
	if (err) {
		char why[512];

		fprintf(stderr, "strata top: process %d: %s\n", pid, cli_attach_error(pid, err, why, sizeof(why)));
		return 1;
	}
	return 0;
}
