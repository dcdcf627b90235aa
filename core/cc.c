/* SPDX-License-Identifier: MIT */
/*
 * core/cc.c — find a C compiler that CPU code generation can use, and prove
 * it works end to end: compile a shared object, load it, call into it.
 *
 * The compiler is chosen from $STRATA_CC, then cc, gcc and clang on $PATH.
 * It runs through posix_spawn with its output discarded: the library never
 * prints, and a compiler's chatter is not ours to forward.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/core_int.h"

extern char **environ;

static const char test_source[] = "int strata_cc_probe(int x) { return x * 2 + 1; }\n";

/* Resolve @name on $PATH (or as given when it contains a slash). */
static int which(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(name, '/')) {
		if (access(name, X_OK) < 0)
			return -errno;
		return st_fmt(out, len, "%s", name) < (int)len ? 0 : -ENAMETOOLONG;
	}
	for (p = path; p && *p; p = *end ? end + 1 : end) {
		char cand[4096];

		end = strchrnul(p, ':');
		if (end == p)
			continue;
		if (st_fmt(cand, sizeof(cand), "%.*s/%s", (int)(end - p), p, name) >= (int)sizeof(cand))
			continue;
		if (access(cand, X_OK) == 0)
			return st_fmt(out, len, "%s", cand) < (int)len ? 0 : -ENAMETOOLONG;
	}
	return -ENOENT;
}

int st_cc_spawn(char *const argv[], int out_fd, pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	int err;

	if (posix_spawn_file_actions_init(&fa))
		return -ENOMEM;
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return -err;
}

int st_cc_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

/* Run @argv to the end; its exit status, or a negative errno. */
static int run(char *const argv[], int out_fd)
{
	pid_t pid;
	int err = st_cc_spawn(argv, out_fd, &pid);

	return err ? err : st_cc_wait(pid);
}

static void version_line(char *cc, char *out, size_t len)
{
	char flag[] = "--version";
	char *argv[] = { cc, flag, NULL };
	char buf[512];
	int fds[2];
	ssize_t n;

	st_fmt(out, len, "unknown version");
	if (pipe2(fds, O_CLOEXEC) < 0)
		return;
	/* A version banner is far smaller than a pipe buffer, so reading after
	 * the compiler exits cannot deadlock. */
	if (run(argv, fds[1]) == 0) {
		n = read(fds[0], buf, sizeof(buf) - 1);
		if (n > 0) {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
			st_fmt(out, len, "%s", buf);
		}
	}
	close(fds[0]);
	close(fds[1]);
}

/* Build test_source into a shared object in @dir and call it. */
static int try_compile(char *cc, const char *dir)
{
	char src[4200], so[4200], opt[] = "-O2", shared[] = "-shared", pic[] = "-fPIC", o[] = "-o";
	char *argv[] = { cc, opt, shared, pic, o, so, src, NULL };
	int (*fn)(int);
	void *h;
	FILE *f;
	int rc;

	st_fmt(src, sizeof(src), "%s/probe.c", dir);
	st_fmt(so, sizeof(so), "%s/probe.so", dir);
	f = fopen(src, "we");
	if (!f)
		return -errno;
	fputs(test_source, f);
	if (fclose(f))
		return -EIO;
	rc = run(argv, -1);
	if (rc != 0) {
		rc = rc > 0 ? -ENOEXEC : rc;
		goto out;
	}
	h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		rc = -ENOEXEC;
		goto out;
	}
	*(void **)&fn = dlsym(h, "strata_cc_probe");
	rc = fn && fn(20) == 41 ? 0 : -ENOEXEC;
	dlclose(h);
out:
	unlink(so);
	unlink(src);
	return rc;
}

int st_cc_first(char *path, size_t path_len)
{
	const char *names[] = { getenv("STRATA_CC"), "cc", "gcc", "clang" };
	unsigned i;

	for (i = 0; i < ST_ARRAY_SIZE(names); i++)
		if (names[i] && *names[i] && which(names[i], path, path_len) == 0)
			return 0;
	return -ENOENT;
}

int st_cc_find(char *path, size_t path_len, char *version, size_t version_len)
{
	const char *names[] = { getenv("STRATA_CC"), "cc", "gcc", "clang" };
	const char *tmp = getenv("TMPDIR");
	char dir[4096], found[4096];
	unsigned i;
	int err = -ENOENT;

	if (st_fmt(dir, sizeof(dir), "%s/strata-cc-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (!mkdtemp(dir))
		return -errno;
	for (i = 0; i < ST_ARRAY_SIZE(names); i++) {
		if (!names[i] || !*names[i] || which(names[i], found, sizeof(found)))
			continue;
		err = try_compile(found, dir);
		if (err == 0) {
			st_fmt(path, path_len, "%s", found);
			version_line(found, version, version_len);
			break;
		}
	}
	rmdir(dir);
	return err;
}
