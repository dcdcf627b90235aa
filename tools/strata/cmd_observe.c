/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_observe.c — `strata ps` (the processes that can be
 * attached) and `strata metrics PID` (their Prometheus text).
 */
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strata/strata.h>

#include "cli.h"

/* The pid of a socket path ".../PID.sock", or -1. */
static int pid_of(const char *path)
{
	const char *base = strrchr(path, '/');
	char *end;
	long pid;

	base = base ? base + 1 : path;
	pid = strtol(base, &end, 10);
	return pid > 0 && strcmp(end, ".sock") == 0 ? (int)pid : -1;
}

static void comm_of(int pid, char *buf, size_t len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, (int)len, f))
		snprintf(buf, len, "?");
	else
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

int cmd_ps(int argc, char **argv)
{
	char dir[256], pattern[300];
	glob_t g = { 0 };
	size_t i;
	int shown = 0;

	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0) {
			printf("usage: strata ps\n\nProcesses using strata that `strata top`, `trace` and `metrics` can attach to.\n");
			return 0;
		}
		fprintf(stderr, "usage: strata ps\n");
		return EXIT_USAGE;
	}
	if (strata_trace_socket_dir(dir, sizeof(dir)) == 0) {
		snprintf(pattern, sizeof(pattern), "%s/*.sock", dir);
		glob(pattern, 0, NULL, &g);
	}
	if (geteuid() == 0)
		glob("/run/user/*/strata/*.sock", g.gl_pathc ? GLOB_APPEND : 0, NULL, &g);
	printf("%8s  %-16s %s\n", "PID", "COMMAND", "SOCKET");
	for (i = 0; i < g.gl_pathc; i++) {
		int pid = pid_of(g.gl_pathv[i]);
		char comm[64], path[64];

		snprintf(path, sizeof(path), "/proc/%d", pid);
		if (pid < 0 || access(path, F_OK))
			continue; /* the process is gone: a stale socket */
		comm_of(pid, comm, sizeof(comm));
		printf("%8d  %-16s %s\n", pid, comm, g.gl_pathv[i]);
		shown++;
	}
	globfree(&g);
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
	char *text;
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
		fprintf(stderr, "strata metrics: process %d: %s\n", pid,
			err == -ENOENT ? "not running, or not using strata (see strata ps)" : strata_strerror(err));
		return 1;
	}
	fputs(text, stdout);
	free(text);
	return 0;
}
