/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_trace.c — `strata trace PID [-d SECONDS] [-o FILE]`:
 * attach, read the process's events for a while and write them as Chrome
 * trace JSON (ui.perfetto.dev and chrome://tracing open it): spans as B/E,
 * instants, counters, flows joining an I/O submit to its completion.
 * Prints what each thread produced, what was delivered and what was
 * dropped; the drop counts are exact.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strata/strata.h>

#include "cli.h"

struct out {
	FILE *f;
	int pid;
	uint64_t n, max;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void json_name(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void write_event(void *user, const struct strata_trace_event *e)
{
	struct out *o = user;
	static const char *const ph[] = { "?", "i", "B", "E", "C", "s", "f", "i" };
	unsigned t = e->type < 8 ? (unsigned)e->type : 0;
	char name[64];

	if (t == 0 || o->n >= o->max)
		return;
	/* The process named its events: no escapes reach a viewer or a terminal. */
	snprintf(name, sizeof(name), "%s", e->name);
	fprintf(o->f, "%s\n{\"ph\":\"%s\",\"name\":", o->n++ ? "," : "", ph[t]);
	json_name(o->f, cli_sanitize(name, false));
	fprintf(o->f, ",\"pid\":%d,\"tid\":%u,\"ts\":%.3f", o->pid, e->tid, (double)e->ts_ns / 1000.0);
	switch (e->type) {
	case STRATA_TRACE_COUNTER:
		fprintf(o->f, ",\"args\":{\"value\":%llu}", (unsigned long long)e->arg0);
		break;
	case STRATA_TRACE_FLOW_BEGIN:
	case STRATA_TRACE_FLOW_END:
		fprintf(o->f, ",\"id\":%llu,\"cat\":\"flow\",\"bp\":\"e\"", (unsigned long long)e->arg0);
		break;
	case STRATA_TRACE_ANCHOR:
		fprintf(o->f, ",\"s\":\"g\",\"args\":{\"monotonic_ns\":%llu,\"boottime_ns\":%llu}",
			(unsigned long long)e->arg0, (unsigned long long)e->arg1);
		break;
	case STRATA_TRACE_END:
		break;
	case STRATA_TRACE_BEGIN:
		fprintf(o->f, ",\"args\":{\"arg0\":%llu,\"arg1\":%llu}", (unsigned long long)e->arg0,
			(unsigned long long)e->arg1);
		break;
	default:
		fprintf(o->f, ",\"s\":\"t\",\"args\":{\"arg0\":%llu,\"arg1\":%llu}", (unsigned long long)e->arg0,
			(unsigned long long)e->arg1);
	}
	fputc('}', o->f);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: strata trace PID [-d SECONDS] [-o FILE] [-m MAX_EVENTS]\n\n"
		   "  -d SECONDS  how long to record (default 5; Ctrl-C stops early)\n"
		   "  -o FILE     Chrome trace JSON for ui.perfetto.dev (default strata-PID.json)\n"
		   "  -m N        stop writing after N events (default 1000000: viewers choke on more JSON)\n");
}

int cmd_trace(int argc, char **argv)
{
	struct strata_trace_thread_stats st[128];
	struct strata_trace_session *s;
	struct out o = { 0 };
	const char *path = NULL;
	char defpath[64];
	double seconds = 5, t0;
	struct timespec now;
	size_t n = 128, i;
	int opt, err;

	optind = 1;
	o.max = 1000000;
	static const struct option longs[] = { { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };

	while ((opt = getopt_long(argc, argv, "d:o:m:h", longs, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 'd':
			seconds = strtod(optarg, &end);
			if (*end || seconds <= 0 || seconds > 86400) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'o':
			path = optarg;
			break;
		case 'm':
			o.max = strtoull(optarg, &end, 10);
			if (*end || !o.max) {
				usage(stderr);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || cli_parse_pid(argv[optind], &o.pid)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!path) {
		snprintf(defpath, sizeof(defpath), "strata-%d.json", o.pid);
		path = defpath;
	}
	err = strata_trace_attach(o.pid, &s);
	if (err) {
		char why[512];

		fprintf(stderr, "strata trace: process %d: %s\n", o.pid, cli_attach_error(o.pid, err, why, sizeof(why)));
		return 1;
	}
	o.f = fopen(path, "w");
	if (!o.f) {
		fprintf(stderr, "strata trace: %s: %s\n", path, strerror(errno));
		strata_trace_detach(s);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(o.f, "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[");
	clock_gettime(CLOCK_MONOTONIC, &now);
	t0 = (double)now.tv_sec + (double)now.tv_nsec * 1e-9;
	while (!stop) {
		int64_t got = strata_trace_read(s, write_event, &o, 0);

		if (o.n >= o.max)
			break;
		if (got < 0) {
			fprintf(stderr, "strata trace: the process's trace memory is inconsistent; stopping\n");
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((double)now.tv_sec + (double)now.tv_nsec * 1e-9 - t0 >= seconds)
			break;
		if (got == 0)
			usleep(2000);
	}
	strata_trace_read(s, write_event, &o, 0);
	fprintf(o.f, "\n]}\n");
	err = fclose(o.f);
	strata_trace_thread_stats(s, st, &n);
	fprintf(stderr, "%llu events written to %s%s\n", (unsigned long long)o.n, path, err ? " (write failed)" : "");
	fprintf(stderr, "%10s %14s %14s %14s\n", "TID", "PRODUCED", "DELIVERED", "DROPPED");
	for (i = 0; i < n && i < 128; i++)
		fprintf(stderr, "%10u %14llu %14llu %14llu\n", st[i].tid, (unsigned long long)st[i].produced,
			(unsigned long long)st[i].delivered, (unsigned long long)st[i].dropped);
	strata_trace_detach(s);
	return err ? 1 : 0;
}
