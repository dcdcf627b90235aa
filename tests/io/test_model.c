/* SPDX-License-Identifier: MIT */
/*
 * tests/io/test_model.c — what strata_model_open() accepts as a model
 * file: a regular file (also through a symlink), and nothing else.  A FIFO
 * (which would block open(2) until a writer came), a directory, a
 * character device and a socket are refused promptly with -STRATA_EFORMAT
 * and a message naming the path and what it is, whichever way the file is
 * reached: GGUF, safetensors, the index of a sharded model or a shard it
 * lists, a raw layout.  A path that turns into a FIFO between the check
 * and the open (stat(2) is interposed here to play that race) is opened
 * without blocking and refused; the descriptor kept is a blocking one.
 *
 * Every test runs under an alarm: a call that blocks fails the test
 * instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers.h"
#include "io/io_int.h"
#include "io/model_files.h"

static char dir[256];

/* ---- interposed system calls ---------------------------------------------------
 * The test binary's definitions win over libc's for the library linked
 * into it: stat() can claim that one path is a regular file (the path was
 * swapped for a FIFO after the check), and fcntl(F_SETFL) can fail. */

static const char *stat_says_regular;
static bool setfl_fails;

int stat(const char *restrict path, struct stat *restrict st)
{
	int r = fstatat(AT_FDCWD, path, st, 0);

	if (r == 0 && stat_says_regular && strcmp(path, stat_says_regular) == 0)
		st->st_mode = (st->st_mode & ~(mode_t)S_IFMT) | S_IFREG;
	return r;
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	if (cmd == F_SETFL && setfl_fails) {
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

/* ---- helpers ---------------------------------------------------------------------- */

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: strata_model_open() blocked (alarm after 10 s)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

static int setup(void **state)
{
	(void)state;
	signal(SIGALRM, on_alarm);
	scratch_dir(dir, sizeof(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	scratch_remove(dir);
	return 0;
}

static int arm(void **state)
{
	(void)state;
	alarm(10);
	return 0;
}

static int disarm(void **state)
{
	(void)state;
	alarm(0);
	stat_says_regular = NULL;
	setfl_fails = false;
	return 0;
}

static long open_fds(void)
{
	long n = 0;
	int fd;

	for (fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

static const char *at(const char *name)
{
	static char buf[4][300];
	static unsigned k;

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s", dir, name);
	return buf[k];
}

/* Open @path as @format (a raw layout of one tensor for RAW) and expect
 * the refusal of a non-regular file: -STRATA_EFORMAT, a message naming
 * @named (the path at fault) and @kind, nothing left open. */
static void expect_refused(const char *path, enum strata_format format, const char *named, const char *kind)
{
	static const struct strata_raw_tensor raw = { .name = "t", .dtype = STRATA_DTYPE_U8, .ndim = 1, .shape = { 4 } };
	STRATA_MODEL_OPTS(opts, .format = format);
	const char *paths[] = { path };
	struct strata_model *m = NULL;
	char msg[512], want[400];
	long fds = open_fds();
	int err;

	if (format == STRATA_FORMAT_RAW) {
		opts.raw = &raw;
		opts.nraw = 1;
	}
	opts.errbuf = msg;
	opts.errlen = sizeof(msg);
	err = strata_model_open(paths, 1, &opts, &m);
	snprintf(want, sizeof(want), "%s: is %s, not a regular file", named, kind);
	if (err != -STRATA_EFORMAT || !strstr(msg, want))
		fail_msg("%s (format %d): err %d, message '%s', expected '%s'", path, (int)format, err, msg, want);
	assert_null(m);
	assert_int_equal(open_fds(), fds);
}

static void expect_refused_everyhow(const char *path, const char *kind)
{
	expect_refused(path, STRATA_FORMAT_AUTO, path, kind);
	expect_refused(path, STRATA_FORMAT_GGUF, path, kind);
	expect_refused(path, STRATA_FORMAT_SAFETENSORS, path, kind);
	expect_refused(path, STRATA_FORMAT_RAW, path, kind);
}

/* An index listing one shard, @shard. */
static const char *index_naming(const char *shard)
{
	char json[300];
	const char *index = at("model.safetensors.index.json");

	snprintf(json, sizeof(json), "{\"weight_map\":{\"t\":\"%s\"}}", shard);
	write_file(index, json, strlen(json));
	return index;
}

/* ---- tests ------------------------------------------------------------------------ */

static void fifo_refused(void **state)
{
	const char *fifo = at("fifo.gguf"), *json = at("fifo.json");

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(mkfifo(json, 0600), 0);
	expect_refused_everyhow(fifo, "a FIFO");
	/* As the index, and as a shard an index lists. */
	expect_refused(json, STRATA_FORMAT_AUTO, json, "a FIFO");
	expect_refused(index_naming("fifo.gguf"), STRATA_FORMAT_AUTO, fifo, "a FIFO");
	/* Through a symlink: what it points to counts. */
	assert_int_equal(symlink(fifo, at("link.gguf")), 0);
	expect_refused(at("link.gguf"), STRATA_FORMAT_AUTO, at("link.gguf"), "a FIFO");
	unlink(fifo);
	unlink(json);
	unlink(at("link.gguf"));
}

static void directory_refused(void **state)
{
	const char *d = at("model.safetensors"), *dj = at("d.json");

	(void)state;
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(mkdir(dj, 0700), 0);
	expect_refused_everyhow(d, "a directory");
	expect_refused(dj, STRATA_FORMAT_AUTO, dj, "a directory");
	expect_refused(index_naming("model.safetensors"), STRATA_FORMAT_AUTO, d, "a directory");
	rmdir(d);
	rmdir(dj);
}

static void character_device_refused(void **state)
{
	(void)state;
	expect_refused_everyhow("/dev/null", "a character device");
}

static void socket_refused(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", at("s.safetensors"));
	if (strlen(sa.sun_path) != strlen(at("s.safetensors")))
		TEST_SKIP("the scratch folder's path is too long for a socket: set TMPDIR to a shorter folder");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	expect_refused_everyhow(sa.sun_path, "a socket");
	expect_refused(index_naming("s.safetensors"), STRATA_FORMAT_AUTO, sa.sun_path, "a socket");
	close(fd);
	unlink(sa.sun_path);
}

/* The path is a FIFO by the time it is opened, though stat() said it was
 * a regular file: the open must not wait for a writer (there is none),
 * and what was opened is refused. */
static void fifo_after_the_check(void **state)
{
	const char *fifo = at("late.gguf");

	(void)state;
	assert_int_equal(mkfifo(fifo, 0600), 0);
	stat_says_regular = fifo;
	expect_refused(fifo, STRATA_FORMAT_AUTO, fifo, "a FIFO");
	expect_refused(index_naming("late.gguf"), STRATA_FORMAT_AUTO, fifo, "a FIFO");
	unlink(fifo);
}

/* A regular file, also through a symlink, opens; the descriptor kept for
 * the loads is a blocking one (io_uring would answer EAGAIN instead of
 * waiting for the disk on a non-blocking one). */
static void regular_file_opens_blocking(void **state)
{
	const char *file = at("ok.safetensors"), *link = at("ok-link.safetensors");
	struct strata_model *m;
	const char *paths[] = { link };
	int flags;

	(void)state;
	write_safetensors(file, "{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, 1);
	assert_int_equal(symlink(file, link), 0);
	assert_int_equal(strata_model_open(paths, 1, NULL, &m), 0);
	assert_int_equal(strata_model_tensor_count(m), 1);
	flags = fcntl(m->files[0].fd, F_GETFL);
	assert_true(flags >= 0);
	assert_int_equal(flags & O_NONBLOCK, 0);
	strata_model_close(m);
	unlink(link);
	unlink(file);
}

/* Clearing O_NONBLOCK fails: the open fails with that error, the path
 * named, nothing left open. */
static void nonblock_not_cleared(void **state)
{
	const char *file = at("ok.safetensors");
	const char *paths[] = { file };
	struct strata_model *m = NULL;
	char msg[512];
	STRATA_MODEL_OPTS(opts, .errbuf = msg, .errlen = sizeof(msg));
	long fds;

	(void)state;
	write_safetensors(file, "{\"t\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4, 1);
	fds = open_fds();
	setfl_fails = true;
	assert_int_equal(strata_model_open(paths, 1, &opts, &m), -EIO);
	setfl_fails = false;
	assert_null(m);
	assert_non_null(strstr(msg, file));
	assert_int_equal(open_fds(), fds);
	unlink(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(fifo_refused, arm, disarm),
		cmocka_unit_test_setup_teardown(directory_refused, arm, disarm),
		cmocka_unit_test_setup_teardown(character_device_refused, arm, disarm),
		cmocka_unit_test_setup_teardown(socket_refused, arm, disarm),
		cmocka_unit_test_setup_teardown(fifo_after_the_check, arm, disarm),
		cmocka_unit_test_setup_teardown(regular_file_opens_blocking, arm, disarm),
		cmocka_unit_test_setup_teardown(nonblock_not_cleared, arm, disarm),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
