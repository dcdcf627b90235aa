/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cli.h — the strata command's subcommands.  Each returns the
 * process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef STRATA_CLI_H
#define STRATA_CLI_H

#include <stdbool.h>
#include <stddef.h>

#define EXIT_USAGE 2

int cmd_info(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_ps(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_metrics(int argc, char **argv);
int cmd_telemetry(int argc, char **argv);
int cmd_gen_model(int argc, char **argv);

/* A process id argument.  Return: 0, or -1 when it is not one. */
int cli_parse_pid(const char *arg, int *pid);

/* Remove from @text, in place, what a terminal would act on: escape
 * sequences, control characters (newline and tab stay when @keep_lines),
 * DEL, C1 controls and bytes that are not UTF-8 (sanitize.c).  Everything
 * another process supplied goes through it before it is printed.
 * Return: @text. */
char *cli_sanitize(char *text, bool keep_lines);

/* Why attaching to (or reading the metrics of) process @pid failed with
 * @err, in words, into @buf; for a forged socket (-EPERM), whose it is.
 * Return: @buf. */
const char *cli_attach_error(int pid, int err, char *buf, size_t len);

/* Print the top-level usage to @to_stderr ? stderr : stdout. */
void cli_usage(int to_stderr);

#endif /* STRATA_CLI_H */
