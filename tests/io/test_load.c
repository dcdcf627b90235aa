/* SPDX-License-Identifier: MIT */
/*
 * tests/io/test_load.c — loads through both engines, O_DIRECT and buffered,
 * checked byte for byte against pread; and the faults: short reads (a hook
 * and real ones at the tail), EIO, files truncated before and during a
 * load, io_uring disabled by the sysctl, O_DIRECT refused (tmpfs), a pool
 * out of memory, a budget with backpressure, and cancellation.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "helpers.h"
#include "io/load_int.h"

/* io_uring where this build has it, else the engine every build has. */
#define URING_OR_PREAD (HAVE_LIBURING ? STRATA_IO_URING : STRATA_IO_PREAD)
#include "io/model_files.h"

#define NT 48

static char dir[256], path[300];
static struct strata_pool *pool;
static size_t sizes[NT];

/* A safetensors file of NT U8 tensors with sizes from a few bytes to a few
 * MiB (total ~12 MiB), the header unpadded so nothing is 4 KiB aligned. */
static void write_model(const char *where)
{
	char *json = malloc(128 * NT + 64), *p = json;
	uint64_t off = 0;
	size_t i;

	p += sprintf(p, "{");
	for (i = 0; i < NT; i++) {
		sizes[i] = i % 7 == 0 ? 3 : (i * 2654435761u) % (600u << 10) + (i % 5 == 0 ? (1u << 20) : 1);
		if (i == NT - 1)
			sizes[i] = 0; /* an empty tensor */
		p += sprintf(p, "%s\"layers.%zu.w%zu\":{\"dtype\":\"U8\",\"shape\":[%zu],\"data_offsets\":[%llu,%llu]}",
			     i ? "," : "", i / 4, i % 4, sizes[i], (unsigned long long)off, (unsigned long long)(off + sizes[i]));
		off += sizes[i];
	}
	sprintf(p, "}");
	write_safetensors(where, json, off, 0);
	free(json);
}

static int setup(void **state)
{
	STRATA_POOL_OPTS(popts, .flags = STRATA_POOL_NO_SMALL);

	(void)state;
	scratch_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/m.safetensors", dir);
	write_model(path);
	return rt_setup(state) || strata_pool_create(test_rt, &popts, &pool);
}

static int teardown(void **state)
{
	strata_pool_destroy(pool);
	scratch_remove(dir);
	return rt_teardown(state);
}

static struct strata_model *open_model(const char *p)
{
	const char *paths[] = { p };
	struct strata_model *m;

	assert_int_equal(strata_model_open(paths, 1, NULL, &m), 0);
	return m;
}

/* Every ready tensor holds the file's bytes. */
static size_t verify(struct strata_model *m, struct strata_load *l)
{
	int fd = open(path, O_RDONLY);
	size_t i, ok = 0;

	assert_true(fd >= 0);
	for (i = 0; i < (size_t)strata_model_tensor_count(m); i++) {
		struct strata_tensor_info t;
		void *data;
		char *want;

		assert_int_equal(strata_model_tensor(m, i, &t), 0);
		if (strata_load_tensor_data(l, i, &data))
			continue;
		want = malloc(t.bytes + 1);
		assert_int_equal(pread(fd, want, t.bytes, (off_t)t.offset), (ssize_t)t.bytes);
		if (memcmp(want, data, t.bytes))
			fail_msg("tensor %s differs from the file", t.name);
		free(want);
		ok++;
	}
	close(fd);
	return ok;
}

struct counts {
	pthread_mutex_t lock;
	int calls[NT], ready, failed;
	struct strata_load *release_from; /* release each tensor as it is ready */
};

static void on_ready(void *user, size_t tensor, int status)
{
	struct counts *c = user;

	pthread_mutex_lock(&c->lock);
	c->calls[tensor]++;
	if (status == 0)
		c->ready++;
	else
		c->failed++;
	pthread_mutex_unlock(&c->lock);
	if (status == 0 && c->release_from)
		assert_int_equal(strata_load_release(c->release_from, tensor), 0);
}

static void load_all(enum strata_io_engine engine, enum strata_io_direct direct, uint32_t chunk)
{
	struct strata_model *m = open_model(path);
	struct counts c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	STRATA_LOAD_OPTS(opts, .pool = pool, .engine = engine, .direct = direct, .chunk_bytes = chunk,
			 .on_ready = on_ready, .user = &c);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	size_t i;

	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(verify(m, l), NT);
	for (i = 0; i < NT; i++)
		assert_int_equal(c.calls[i], 1);
	assert_int_equal(c.ready, NT);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.engine, engine);
	assert_int_equal(st.tensors_ready, NT);
	assert_int_equal(st.tensors_failed, 0);
	assert_true(st.bytes_read >= st.bytes);
	assert_int_equal(st.files_direct + st.files_buffered, 1);
	if (direct == STRATA_DIRECT_ON)
		assert_int_equal(st.files_direct, 1); /* ext4 takes O_DIRECT */
	if (direct == STRATA_DIRECT_OFF)
		assert_int_equal(st.files_buffered, 1);
	if (engine == STRATA_IO_URING)
		assert_true(st.fixed_buffers && st.fixed_files);
	strata_load_destroy(l);
	strata_model_close(m);
}

/* Without liburing an io_uring load is refused with -ENOSYS. */
static void skip_without_uring(void)
{
	struct strata_model *m;
	STRATA_LOAD_OPTS(opts, .pool = pool, .engine = STRATA_IO_URING);
	struct strata_load *l;

	if (HAVE_LIBURING)
		return;
	m = open_model(path);
	assert_int_equal(strata_load_start(m, &opts, &l), -ENOSYS);
	strata_model_close(m);
	TEST_SKIP("built without liburing (io_uring loads return -ENOSYS, checked)");
}

static void uring_direct(void **state)
{
	(void)state;
	skip_without_uring();
	load_all(STRATA_IO_URING, STRATA_DIRECT_ON, 0);
	load_all(STRATA_IO_URING, STRATA_DIRECT_ON, 64 << 10);
}

static void uring_buffered(void **state)
{
	(void)state;
	skip_without_uring();
	load_all(STRATA_IO_URING, STRATA_DIRECT_OFF, 0);
}

static void pread_engine(void **state)
{
	(void)state;
	load_all(STRATA_IO_PREAD, STRATA_DIRECT_ON, 0);
	load_all(STRATA_IO_PREAD, STRATA_DIRECT_OFF, 100 << 10);
}

static void subset_and_getters(void **state)
{
	struct strata_model *m = open_model(path);
	size_t want[3] = { 5, 40, 2 };
	STRATA_LOAD_OPTS(opts, .pool = pool, .tensors = want, .ntensors = 3);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	void *data;

	(void)state;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait_tensor(l, 40, -1), 0);
	assert_int_equal(strata_load_wait(l, 10000), 0);
	assert_int_equal(verify(m, l), 3);
	assert_int_equal(strata_load_tensor_data(l, 6, &data), -ENOENT);
	assert_int_equal(strata_load_wait_tensor(l, 6, 0), -ENOENT);
	assert_int_equal(strata_load_release(l, 5), 0);
	assert_int_equal(strata_load_release(l, 5), -EALREADY);
	assert_int_equal(strata_load_tensor_data(l, 5, &data), -EALREADY);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.tensors, 3);
	assert_int_equal(st.bytes, sizes[5] + sizes[40] + sizes[2]);
	strata_load_destroy(l);
	/* Bad options. */
	want[1] = 5;
	assert_int_equal(strata_load_start(m, &opts, &l), -EINVAL); /* listed twice */
	want[1] = NT;
	assert_int_equal(strata_load_start(m, &opts, &l), -EINVAL); /* out of range */
	opts.pool = NULL;
	assert_int_equal(strata_load_start(m, &opts, &l), -EINVAL);
	strata_model_close(m);
}

/* ---- faults through the completion hook ----------------------------------------- */

static unsigned hook_seed;
static int hook_short(uint32_t file, uint64_t off, uint32_t len, bool direct, int res)
{
	(void)file, (void)off, (void)len, (void)direct;
	if (res > 1 && rand_r(&hook_seed) % 3 == 0)
		return 1 + (int)(rand_r(&hook_seed) % (unsigned)(res - 1));
	return res;
}

static void short_reads(void **state)
{
	struct strata_model *m = open_model(path);
	enum strata_io_direct modes[2] = { STRATA_DIRECT_ON, STRATA_DIRECT_OFF };
	unsigned i;

	(void)state;
	for (i = 0; i < 4; i++) {
		STRATA_LOAD_OPTS(opts, .pool = pool, .engine = i < 2 ? URING_OR_PREAD : STRATA_IO_PREAD,
				 .direct = modes[i % 2], .chunk_bytes = 256 << 10);
		struct strata_load_stats st = { .sz = sizeof(st) };
		struct strata_load *l;

		hook_seed = i + 1;
		st_io_complete_hook = hook_short;
		assert_int_equal(strata_load_start(m, &opts, &l), 0);
		assert_int_equal(strata_load_wait(l, -1), 0);
		st_io_complete_hook = NULL;
		assert_int_equal(verify(m, l), NT);
		assert_int_equal(strata_load_stats(l, &st), 0);
		assert_true(st.short_reads > 0);
		assert_true(st.resubmits >= st.short_reads);
		strata_load_destroy(l);
	}
	strata_model_close(m);
}

static uint64_t eio_at;
static int hook_eio(uint32_t file, uint64_t off, uint32_t len, bool direct, int res)
{
	(void)file, (void)direct;
	return off <= eio_at && eio_at < off + len ? -EIO : res;
}

static void eio(void **state)
{
	struct strata_model *m = open_model(path);
	struct strata_tensor_info t;
	STRATA_LOAD_OPTS(opts, .pool = pool, .chunk_bytes = 64 << 10);
	struct strata_load *l;
	size_t i, bad = 0;
	void *data;

	(void)state;
	assert_int_equal(strata_model_tensor(m, 20, &t), 0);
	eio_at = t.offset + t.bytes / 2;
	st_io_complete_hook = hook_eio;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), -EIO);
	st_io_complete_hook = NULL;
	assert_int_equal(strata_load_wait_tensor(l, 20, 0), -EIO);
	assert_int_equal(strata_load_tensor_data(l, 20, &data), -EIO);
	for (i = 0; i < NT; i++)
		if (strata_load_wait_tensor(l, i, 0) == -EIO)
			bad++;
	/* Only the tensors the failed 64 KiB read touched. */
	assert_true(bad >= 1 && bad <= 3);
	assert_int_equal(verify(m, l), NT - bad);
	strata_load_destroy(l);
	strata_model_close(m);
}

static void truncated_before(void **state)
{
	char p2[320];
	struct strata_model *m;
	STRATA_LOAD_OPTS(opts, .pool = pool);
	struct strata_load *l;

	(void)state;
	snprintf(p2, sizeof(p2), "%s/trunc.safetensors", dir);
	write_model(p2);
	m = open_model(p2);
	assert_int_equal(truncate(p2, 5000), 0);
	assert_int_equal(strata_load_start(m, &opts, &l), -STRATA_ESTALE);
	strata_model_close(m);
}

static const char *trunc_path;
static int trunc_calls;
static int hook_truncate(uint32_t file, uint64_t off, uint32_t len, bool direct, int res)
{
	(void)file, (void)off, (void)len, (void)direct;
	if (trunc_calls++ == 0 && truncate(trunc_path, 3 << 20))
		return -EIO;
	return res;
}

static void truncated_during(void **state)
{
	char p2[320];
	struct strata_model *m;
	STRATA_LOAD_OPTS(opts, .pool = pool, .engine = STRATA_IO_PREAD, .direct = STRATA_DIRECT_OFF,
			 .chunk_bytes = 128 << 10, .queue_depth = 1);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	size_t i, stale = 0, ready = 0;

	(void)state;
	snprintf(p2, sizeof(p2), "%s/trunc2.safetensors", dir);
	write_model(p2);
	m = open_model(p2);
	trunc_path = p2;
	trunc_calls = 0;
	st_io_complete_hook = hook_truncate;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), -STRATA_ESTALE);
	st_io_complete_hook = NULL;
	for (i = 0; i < NT; i++) {
		int s = strata_load_wait_tensor(l, i, 0);

		stale += s == -STRATA_ESTALE;
		ready += s == 0;
	}
	assert_true(stale > 0 && ready > 0);
	assert_int_equal(stale + ready, NT);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.tensors_failed, stale);
	strata_load_destroy(l);
	strata_model_close(m);
}

/* ---- memory: budget, cancellation, a pool out of memory ------------------------------ */

static void budget_streams(void **state)
{
	struct strata_model *m = open_model(path);
	struct counts c = { .lock = PTHREAD_MUTEX_INITIALIZER };
	STRATA_LOAD_OPTS(opts, .pool = pool, .budget_bytes = 3 << 20, .on_ready = on_ready, .user = &c);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;

	(void)state;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	c.release_from = l; /* the first callback cannot run before the load is started... */
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.tensors_ready, NT);
	assert_true(st.peak_held_bytes <= (3 << 20));
	strata_load_destroy(l);
	strata_model_close(m);
}

static void cancel_blocked(void **state)
{
	struct strata_model *m = open_model(path);
	STRATA_LOAD_OPTS(opts, .pool = pool, .budget_bytes = 2 << 20);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	size_t i, cancelled = 0;

	(void)state;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	/* Nobody releases: the load stops at the budget and waits. */
	assert_int_equal(strata_load_wait(l, 200), -ETIMEDOUT);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_true(st.tensors_ready > 0 && st.tensors_ready < NT);
	assert_true(st.peak_held_bytes <= (2 << 20));
	assert_int_equal(strata_load_cancel(l), 0);
	assert_int_equal(strata_load_wait(l, -1), -ECANCELED);
	for (i = 0; i < NT; i++)
		cancelled += strata_load_wait_tensor(l, i, 0) == -ECANCELED;
	assert_int_equal(cancelled + st.tensors_ready, NT);
	assert_int_equal(verify(m, l), st.tensors_ready);
	/* Releasing what did load gives all the load's memory back, also of
	 * extents the cancel cut short. */
	for (i = 0; i < NT; i++)
		if (strata_load_wait_tensor(l, i, 0) == 0)
			assert_int_equal(strata_load_release(l, i), 0);
	{
		struct strata_pool_stats ps = { .sz = sizeof(ps) };

		assert_int_equal(strata_pool_stats(pool, &ps), 0);
		assert_int_equal(ps.bytes_in_use, 0);
	}
	strata_load_destroy(l);
	/* A budget smaller than one extent cannot work. */
	opts.budget_bytes = 4096;
	assert_int_equal(strata_load_start(m, &opts, &l), -EINVAL);
	/* Destroy while running. */
	opts.budget_bytes = 0;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	strata_load_destroy(l);
	strata_model_close(m);
}

static void pool_out_of_memory(void **state)
{
	STRATA_POOL_OPTS(popts, .flags = STRATA_POOL_NO_SMALL, .limit_bytes = 4 << 20, .grow_bytes = 2 << 20);
	struct strata_model *m = open_model(path);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_pool *small;
	struct strata_load *l;
	size_t i;

	(void)state;
	assert_int_equal(strata_pool_create(test_rt, &popts, &small), 0);
	{
		STRATA_LOAD_OPTS(opts, .pool = small, .engine = URING_OR_PREAD);

		assert_int_equal(strata_load_start(m, &opts, &l), 0);
	}
	assert_int_equal(strata_load_wait(l, -1), -ENOMEM);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_true(st.tensors_failed > 0);
	assert_int_equal(st.tensors_ready + st.tensors_failed, NT);
	for (i = 0; i < NT; i++) {
		int s = strata_load_wait_tensor(l, i, 0);

		assert_true(s == 0 || s == -ENOMEM);
	}
	/* Ready ones are whole; failed ones have no data. */
	assert_int_equal(verify(m, l), st.tensors_ready);
	strata_load_destroy(l);
	strata_pool_destroy(small);
	strata_model_close(m);
}

/* ---- the machine: tmpfs, page cache, the io_uring sysctl ------------------------------ */

static void tmpfs_direct(void **state)
{
	char shm[] = "/dev/shm/strata-io-test.safetensors";
	struct strata_model *m;
	STRATA_LOAD_OPTS(opts, .pool = pool, .direct = STRATA_DIRECT_ON);
	struct strata_load *l;

	(void)state;
	if (access("/dev/shm", W_OK))
		TEST_SKIP("no writable tmpfs at /dev/shm");
	write_model(shm);
	m = open_model(shm);
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	strcpy(path + strlen(path), ""); /* verify() reads @path: same bytes */
	assert_int_equal(verify(m, l), NT);
	strata_load_destroy(l);
	strata_model_close(m);
	unlink(shm);
}

/* A filesystem that opens with O_DIRECT but refuses the reads (EINVAL, as
 * FUSE without direct_io or a misaligned device does): the file goes
 * buffered and the load completes. */
static int hook_refuse_direct(uint32_t file, uint64_t off, uint32_t len, bool direct, int res)
{
	(void)file, (void)off, (void)len;
	return direct ? -EINVAL : res;
}

static void direct_refused(void **state)
{
	struct strata_model *m = open_model(path);
	enum strata_io_engine engines[2] = { URING_OR_PREAD, STRATA_IO_PREAD };
	unsigned e;

	(void)state;
	for (e = 0; e < 2; e++) {
		STRATA_LOAD_OPTS(opts, .pool = pool, .engine = engines[e], .direct = STRATA_DIRECT_ON);
		struct strata_load_stats st = { .sz = sizeof(st) };
		struct strata_load *l;

		st_io_complete_hook = hook_refuse_direct;
		assert_int_equal(strata_load_start(m, &opts, &l), 0);
		assert_int_equal(strata_load_wait(l, -1), 0);
		st_io_complete_hook = NULL;
		assert_int_equal(strata_load_stats(l, &st), 0);
		assert_int_equal(st.files_direct, 1);
		assert_int_equal(st.direct_refused, 1);
		assert_int_equal(verify(m, l), NT);
		strata_load_destroy(l);
	}
	strata_model_close(m);
}

static void page_cache_choice(void **state)
{
	struct strata_model *m = open_model(path);
	STRATA_LOAD_OPTS(opts, .pool = pool);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	char buf[1 << 16];
	int fd = open(path, O_RDONLY);

	(void)state;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.files_buffered, 1); /* warm: through the page cache */
	strata_load_destroy(l);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.files_direct, 1); /* cold: O_DIRECT */
	assert_int_equal(verify(m, l), NT);
	strata_load_destroy(l);
	strata_model_close(m);
}

static void uring_disabled(void **state)
{
	const char *knob = "/proc/sys/kernel/io_uring_disabled";
	struct strata_model *m;
	STRATA_LOAD_OPTS(opts, .pool = pool);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	char old[8] = "0";
	FILE *f;
	int err;

	(void)state;
	if (!HAVE_LIBURING)
		TEST_SKIP("built without liburing: there is no io_uring to disable");
	m = open_model(path); /* before the switch: no assertion may fail while it is set */
	f = fopen(knob, "r");
	if (!f) {
		strata_model_close(m);
		TEST_SKIP("kernel has no %s", knob);
	}
	if (!fgets(old, sizeof(old), f))
		strcpy(old, "0");
	fclose(f);
	f = fopen(knob, "w");
	if (!f || fputs("2", f) < 0 || fclose(f)) {
		if (f)
			fclose(f);
		strata_model_close(m);
		TEST_SKIP("cannot write %s (needs root)", knob);
	}
	err = strata_load_start(m, &opts, &l);
	if (err == 0) {
		err = strata_load_wait(l, -1);
		strata_load_stats(l, &st);
		if (err == 0)
			err = verify(m, l) == NT ? 0 : -EIO;
		strata_load_destroy(l);
	}
	opts.engine = STRATA_IO_URING;
	{
		int forced = strata_load_start(m, &opts, &l);

		f = fopen(knob, "w"); /* restore before any assertion can stop us */
		if (f) {
			fputs(old, f);
			fclose(f);
		}
		if (forced == 0)
			strata_load_destroy(l);
		assert_int_equal(forced, -EPERM);
	}
	assert_int_equal(err, 0);
	assert_int_equal(st.engine, STRATA_IO_PREAD);
	strata_model_close(m);
}

static void real_tail_short_read(void **state)
{
	/* The file's size is not a multiple of 4 KiB: the last O_DIRECT read
	 * comes back short at the end of the file. */
	struct strata_model *m = open_model(path);
	size_t last = NT - 2;
	STRATA_LOAD_OPTS(opts, .pool = pool, .tensors = &last, .ntensors = 1, .direct = STRATA_DIRECT_ON);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;

	(void)state;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.files_direct, 1);
	assert_int_equal(verify(m, l), 1);
	strata_load_destroy(l);
	strata_model_close(m);
}

/* Tensors complete in priority order when reads go one at a time. */
struct order_log {
	size_t seen[NT], n;
};

static void log_order(void *user, size_t tensor, int status)
{
	struct order_log *o = user;

	if (status == 0 && sizes[tensor])
		o->seen[o->n++] = tensor;
}

static void priorities_and_coalescing(void **state)
{
	struct strata_model *m = open_model(path);
	struct order_log o = { .n = 0 };
	int32_t prio[NT];
	STRATA_LOAD_OPTS(opts, .pool = pool, .priority = prio, .queue_depth = 1, .on_ready = log_order, .user = &o);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	size_t i, nonempty = 0;

	(void)state;
	for (i = 0; i < NT; i++) {
		prio[i] = (int32_t)(NT - i); /* last tensor of the file first */
		nonempty += sizes[i] != 0;
	}
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(o.n, nonempty);
	for (i = 1; i < o.n; i++)
		assert_true(o.seen[i] < o.seen[i - 1]);
	strata_load_destroy(l);
	/* In file order, adjacent tensors share reads: far fewer reads than tensors. */
	opts.priority = NULL;
	opts.on_ready = NULL;
	opts.queue_depth = 0;
	opts.chunk_bytes = 4 << 20;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_true(st.reads < NT / 4);
	assert_int_equal(verify(m, l), NT);
	strata_load_destroy(l);
	strata_model_close(m);
}

/* Two files in one model: both read, each tensor from its own file. */
static void several_files(void **state)
{
	char p2[320];
	const char *paths[] = { path, p2 };
	STRATA_MODEL_OPTS(mopts, .format = STRATA_FORMAT_SAFETENSORS);
	struct strata_model *m;
	struct strata_tensor_info t;
	STRATA_LOAD_OPTS(opts, .pool = pool, .direct = STRATA_DIRECT_ON);
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *l;
	const char *json = "{\"other.w\":{\"dtype\":\"U8\",\"shape\":[100000],\"data_offsets\":[0,100000]}}";
	void *data;
	size_t i;
	int fd;
	char *want = malloc(100000);

	(void)state;
	snprintf(p2, sizeof(p2), "%s/second.safetensors", dir);
	write_safetensors(p2, json, 100000, 1);
	assert_int_equal(strata_model_open(paths, 2, &mopts, &m), 0);
	assert_int_equal(strata_model_tensor_count(m), NT + 1);
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &st), 0);
	assert_int_equal(st.files_direct + st.files_buffered, 2);
	assert_int_equal(strata_model_find(m, "other.w", &i), 0);
	assert_int_equal(strata_model_tensor(m, i, &t), 0);
	assert_int_equal(t.file, 1);
	assert_int_equal(strata_load_tensor_data(l, i, &data), 0);
	fd = open(p2, O_RDONLY);
	assert_int_equal(pread(fd, want, 100000, (off_t)t.offset), 100000);
	close(fd);
	assert_memory_equal(want, data, 100000);
	free(want);
	strata_load_destroy(l);
	strata_model_close(m);
}

/* The stats struct grows by sz: an older program's shorter struct gets the
 * fields it knows and nothing past them; a sz that cannot even hold itself
 * is refused without a write; a newer, longer one gets everything. */
static void stats_by_size(void **state)
{
	struct strata_model *m = open_model(path);
	STRATA_LOAD_OPTS(opts, .pool = pool, .engine = STRATA_IO_PREAD);
	struct strata_load_stats full = { .sz = sizeof(full) }, part;
	struct {
		struct strata_load_stats st;
		unsigned char newer[16];
	} big;
	size_t cut = offsetof(struct strata_load_stats, tensors_ready);
	struct strata_load *l;

	(void)state;
	assert_int_equal(strata_load_start(m, &opts, &l), 0);
	assert_int_equal(strata_load_wait(l, -1), 0);
	assert_int_equal(strata_load_stats(l, &full), 0);
	assert_int_equal(full.sz, sizeof(full));
	assert_int_equal(full.tensors, NT);

	memset(&part, 0xa5, sizeof(part));
	part.sz = cut;
	assert_int_equal(strata_load_stats(l, &part), 0);
	assert_int_equal(part.sz, cut);
	assert_int_equal(part.engine, STRATA_IO_PREAD);
	assert_int_equal(part.tensors, NT);
	assert_int_equal(part.tensors_ready, 0xa5a5a5a5a5a5a5a5ULL); /* past sz: untouched */

	memset(&part, 0xa5, sizeof(part));
	part.sz = sizeof(size_t) - 1;
	assert_int_equal(strata_load_stats(l, &part), -EINVAL);
	assert_int_equal(part.tensors, 0xa5a5a5a5a5a5a5a5ULL);
	part.sz = 0;
	assert_int_equal(strata_load_stats(l, &part), -EINVAL);
	assert_int_equal(strata_load_stats(l, NULL), -EINVAL);
	assert_int_equal(strata_load_stats(NULL, &full), -EINVAL);

	memset(&big, 0x5a, sizeof(big));
	big.st.sz = sizeof(big);
	assert_int_equal(strata_load_stats(l, &big.st), 0);
	assert_int_equal(big.st.sz, sizeof(big));
	assert_int_equal(big.st.tensors_ready, NT);
	assert_int_equal(big.newer[0], 0x5a); /* the library writes only what it knows */
	assert_int_equal(big.newer[15], 0x5a);

	strata_load_destroy(l);
	strata_model_close(m);
}

static void layer_priority(void **state)
{
	(void)state;
	assert_int_equal(st_io_layer_priority("blk.12.attn_q.weight"), 12);
	assert_int_equal(st_io_layer_priority("model.layers.3.mlp.up_proj.weight"), 3);
	assert_int_equal(st_io_layer_priority("token_embd.weight"), -1);
	assert_int_equal(st_io_layer_priority("model.embed_tokens.weight"), -1);
	assert_int_equal(st_io_layer_priority("output_norm.weight"), INT32_MAX);
	assert_int_equal(st_io_layer_priority("xblk.3.w"), INT32_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uring_direct),
		cmocka_unit_test(uring_buffered),
		cmocka_unit_test(pread_engine),
		cmocka_unit_test(subset_and_getters),
		cmocka_unit_test(short_reads),
		cmocka_unit_test(eio),
		cmocka_unit_test(truncated_before),
		cmocka_unit_test(truncated_during),
		cmocka_unit_test(budget_streams),
		cmocka_unit_test(cancel_blocked),
		cmocka_unit_test(pool_out_of_memory),
		cmocka_unit_test(tmpfs_direct),
		cmocka_unit_test(direct_refused),
		cmocka_unit_test(page_cache_choice),
		cmocka_unit_test(uring_disabled),
		cmocka_unit_test(real_tail_short_read),
		cmocka_unit_test(priorities_and_coalescing),
		cmocka_unit_test(several_files),
		cmocka_unit_test(stats_by_size),
		cmocka_unit_test(layer_priority),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
