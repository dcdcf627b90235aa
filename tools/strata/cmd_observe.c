/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_observe.c — `strata ps` (the processes that can be
 * attached) and `strata metrics PID` (their Prometheus text).
 *
 * A socket is listed only when its listener is the process its name
 * claims (strata_trace_peer_list()); a forged one is named on stderr, a
 * stale one (its process died without removing it) too, and `--clean`
 * removes the caller's stale ones.  What a process supplies (its command
 * name, its metrics) is printed through cli_sanitize().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strata/strata.h>

#include "cli.h"

static void comm_of(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "?");
	if (f)
		fclose(f);
	/* The process chose its name (prctl(PR_SET_NAME)): it may hold escapes. */
	cli_sanitize(buf, false);
}

/* What is wrong with the socket of @p (FORGED), in words. */
static const char *forged(const struct strata_trace_peer *p, char *buf, size_t len)
{
	char path[sizeof(p->path)];

	snprintf(path, sizeof(path), "%s", p->path);
	cli_sanitize(path, false);
	if (p->peer_pid != p->pid)
		snprintf(buf, len, "socket %s claims pid %d but its peer is pid %d (uid %u)", path, p->pid, p->peer_pid,
			 p->peer_uid);
	else
		snprintf(buf, len, "socket %s is owned by uid %u but its peer runs as uid %u", path, p->owner_uid,
			 p->peer_uid);
	return buf;
}

const char *cli_attach_error(int pid, int err, char *buf, size_t len)
{
	struct strata_trace_peer p;

	if (err == -EPERM && strata_trace_peer_find(pid, &p) == 0 && p.state == STRATA_TRACE_PEER_FORGED) {
		char why[400];

		snprintf(buf, len, "%s; refused", forged(&p, why, sizeof(why)));
	} else {
		snprintf(buf, len, "%s",
			 err == -ENOENT ? "not running, or not using strata (see strata ps)" :
			 err == -EBUSY	? "another reader is attached" :
			 err == -EPERM	? "its socket is served by another process or user; refused" :
					  strata_strerror(err));
	}
	return buf;
}

/* A stale socket: said, and with --clean removed when it is the caller's. */
static void stale(const struct strata_trace_peer *p, bool clean)
{
	char path[sizeof(p->path)];
	int err;

	snprintf(path, sizeof(path), "%s", p->path);
	cli_sanitize(path, false);
	if (!clean) {
		fprintf(stderr, "strata ps: %s is stale: nobody listens on it (strata ps --clean removes it)\n", path);
		return;
	}
	err = strata_trace_peer_remove(p->path);
	if (err == 0)
		fprintf(stderr, "strata ps: removed stale socket %s\n", path);
	else
		fprintf(stderr, "strata ps: %s is stale, left in place: %s\n", path,
			err == -EPERM ? "it is another user's" :
			err == -EBUSY ? "a process has its pid (it may be starting) or it listens again" :
					strata_strerror(err));
}

int cmd_ps(int argc, char **argv)
{
	struct strata_trace_peer *peers;
	bool clean = false;
	size_t i, n;
	int shown = 0, err;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("usage: strata ps [--clean]\n\nProcesses using strata that `strata top`, `trace` and `metrics` can attach to.\n"
		       "Sockets left by processes that died are reported; --clean removes yours.\n");
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--clean") == 0)
		clean = true;
	if (argc > 2 || (argc == 2 && !clean)) {
		fprintf(stderr, "usage: strata ps [--clean]\n");
		return EXIT_USAGE;
	}
	err = strata_trace_peer_list(&peers, &n);
	if (err) {
		fprintf(stderr, "strata ps: %s\n", strata_strerror(err));
		return 1;
	}
	printf("%8s  %-16s %s\n", "PID", "COMMAND", "SOCKET");
	for (i = 0; i < n; i++) {
		const struct strata_trace_peer *p = &peers[i];
		char comm[64], path[sizeof(p->path)], why[400];

		switch (p->state) {
		case STRATA_TRACE_PEER_OK:
			comm_of(p->pid, comm, sizeof(comm));
			snprintf(path, sizeof(path), "%s", p->path);
			printf("%8d  %-16s %s\n", p->pid, comm, cli_sanitize(path, false));
			shown++;
			break;
		case STRATA_TRACE_PEER_STALE:
			stale(p, clean);
			break;
		case STRATA_TRACE_PEER_FORGED:
			fprintf(stderr, "strata ps: %s; not listed\n", forged(p, why, sizeof(why)));
			break;
		}
	}
	free(peers);
	if (!shown)
		fprintf(stderr, "no process using strata is running as this user\n");
	return 0;
}

int cli_parse_pid(const char *arg, int *pid)
{
	char *end;
	long v = strtol(arg, &end, 10);

	if (*end || v <= 0 || v > (1L << 22))
		return -1;
	*pid = (int)v;
	return 0;
}

int cmd_metrics(int argc, char **argv)
{
	char *text, why[512];
	int pid, err;

	if (argc == 2 && strcmp(argv[1], "--help") == 0) {
		printf("usage: strata metrics PID\n\nThe process's metrics in Prometheus text format.\n");
		return 0;
	}
	if (argc != 2 || cli_parse_pid(argv[1], &pid)) {
		fprintf(stderr, "usage: strata metrics PID\n");
		return EXIT_USAGE;
	}
	err = strata_trace_fetch_metrics(pid, &text);
	if (err) {
		fprintf(stderr, "strata metrics: process %d: %s\n", pid, cli_attach_error(pid, err, why, sizeof(why)));
		return 1;
	}
	fputs(cli_sanitize(text, true), stdout);
	free(text);
	return 0;
}
