/* SPDX-License-Identifier: MIT */
/*
 * tests/trace/test_trace.c — the tracer from both sides, in one process:
 * this test is the producer and, through its own socket, the reader.
 * Events come back in order with their names, arguments and times; loss
 * accounting is exact under a throttled reader; attach and detach a
 * thousand times (readers killed mid-read among them) while a producer
 * runs flat out, and the process's descriptors, mappings and memory come
 * back to where they were; another user cannot attach; a symlink at the
 * socket path is refused; a second reader gets -EBUSY.
 *
 * The reader's side of the socket (trace/peer.c), with real processes
 * listening: a socket named after one process but served by another is
 * forged, and attach and metrics refuse it (-EPERM); one served as another
 * user than its owner is forged too; one left by a killed process is
 * stale, reads as "not running", and its owner may remove it, not while a
 * process has its pid; symlinks (to a socket, as the folder) are never
 * followed nor removed; a folder others may write to is refused; a
 * listener that accepts nobody does not block the check.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "trace/trace_int.h"

static int id_work, id_seq;

static int setup(void **state)
{
	unsetenv("STRATA_TRACE");
	/* The telemetry sampler allocates as it runs (stdio buffers): it would
	 * move the mapping and RSS baselines the churn test compares. */
	setenv("STRATA_TELEMETRY", "off", 1);
	if (rt_setup(state))
		return -1;
	id_work = strata_trace_name("test.work");
	id_seq = strata_trace_name("test.seq");
	return id_work > 0 && id_seq > 0 ? 0 : -1;
}

static long rss_bytes(void)
{
	long pages = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

struct collected {
	uint32_t only_tid; /* 0: every thread */
	uint64_t n, first_seq, last_seq, seqs, gaps, bad_order, first_ts, last_ts;
	bool any;
	int types[8];
	char names[4][32];
};

static void collect(void *user, const struct strata_trace_event *e)
{
	struct collected *c = user;

	if (c->only_tid && e->tid != c->only_tid)
		return;
	if (e->id == (uint32_t)id_seq) {
		if (c->any && e->arg0 <= c->last_seq)
			c->bad_order++;
		if (c->any && e->arg0 > c->last_seq + 1)
			c->gaps += e->arg0 - c->last_seq - 1;
		if (!c->any)
			c->first_seq = e->arg0;
		c->last_seq = e->arg0;
		c->seqs++;
		c->any = true;
	}
	if (e->type < 8)
		c->types[e->type]++;
	if (c->n < 4)
		snprintf(c->names[c->n], sizeof(c->names[0]), "%s", e->name);
	if (!c->first_ts)
		c->first_ts = e->ts_ns;
	c->last_ts = e->ts_ns;
	c->n++;
}

static void names(void **state)
{
	char longname[80];

	(void)state;
	assert_int_equal(strata_trace_name("test.work"), id_work);
	assert_int_not_equal(id_work, id_seq);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(strata_trace_name(longname), -EINVAL);
	assert_int_equal(strata_trace_name(""), -EINVAL);
	assert_int_equal(strata_trace_name(NULL), -EINVAL);
}

static void events_round_trip(void **state)
{
	struct strata_trace_session *s, *second;
	struct collected c = { 0 };
	uint64_t t0, t1, i;

	(void)state;
	assert_int_equal(__atomic_load_n(&strata_trace_enabled, __ATOMIC_RELAXED), 0); /* nobody attached: off */
	assert_int_equal(strata_trace_attach(getpid(), &s), 0);
	assert_int_not_equal(__atomic_load_n(&strata_trace_enabled, __ATOMIC_RELAXED), 0);
	assert_int_equal(strata_trace_attach(getpid(), &second), -EBUSY);
	strata_trace_read(s, collect, &c, 0); /* the anchor written at attach */
	memset(&c, 0, sizeof(c));
	t0 = mono_ns();
	strata_trace_begin(id_work, 7, 8);
	for (i = 1; i <= 100; i++)
		strata_trace_instant(id_seq, i, 0);
	strata_trace_counter(id_work, 42);
	strata_trace_flow_begin(id_work, 99);
	strata_trace_flow_end(id_work, 99);
	strata_trace_end(id_work);
	t1 = mono_ns();
	assert_int_equal(strata_trace_read(s, collect, &c, 0), 105);
	assert_int_equal(c.n, 105);
	assert_string_equal(c.names[0], "test.work");
	assert_string_equal(c.names[1], "test.seq");
	assert_int_equal(c.types[STRATA_TRACE_BEGIN], 1);
	assert_int_equal(c.types[STRATA_TRACE_END], 1);
	assert_int_equal(c.types[STRATA_TRACE_INSTANT], 100);
	assert_int_equal(c.types[STRATA_TRACE_COUNTER], 1);
	assert_int_equal(c.types[STRATA_TRACE_FLOW_BEGIN], 1);
	assert_int_equal(c.types[STRATA_TRACE_FLOW_END], 1);
	assert_int_equal(c.gaps, 0);
	assert_int_equal(c.bad_order, 0);
	/* Times are CLOCK_MONOTONIC: within the window, give or take the
	 * calibration (a microsecond or two). */
	assert_true(c.first_ts + 20000 >= t0 && c.last_ts <= t1 + 20000);
	assert_true(c.last_ts >= c.first_ts);
	assert_int_equal(strata_trace_read(s, collect, &c, 0), 0);
	strata_trace_detach(s);
	/* The listener notices the detach within its poll. */
	for (i = 0; i < 1000 && __atomic_load_n(&strata_trace_enabled, __ATOMIC_RELAXED); i++)
		usleep(1000);
	assert_int_equal(__atomic_load_n(&strata_trace_enabled, __ATOMIC_RELAXED), 0);
}

/* ---- a producer thread at full speed ------------------------------------------------ */

struct producer {
	pthread_t t;
	_Atomic uint32_t tid;
	_Atomic bool stop;
	_Atomic uint64_t emitted;
	uint64_t limit;
	unsigned pause_every;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	uint64_t i = 0;

	atomic_store(&p->tid, (uint32_t)syscall(SYS_gettid));
	while (!atomic_load_explicit(&p->stop, memory_order_relaxed) && (!p->limit || i < p->limit)) {
		strata_trace_emit((uint32_t)id_seq, STRATA_TRACE_INSTANT, ++i, 0);
		atomic_store_explicit(&p->emitted, i, memory_order_relaxed);
		if (p->pause_every && i % p->pause_every == 0)
			usleep(50);
	}
	return NULL;
}

static void exact_accounting(void **state)
{
	struct producer p = { .limit = 3000000 };
	struct strata_trace_thread_stats st[8];
	struct strata_trace_session *s;
	struct collected c = { 0 };
	size_t n = 8, i;
	uint64_t produced = 0, delivered = 0, dropped = 0;

	(void)state;
	assert_int_equal(strata_trace_attach(getpid(), &s), 0);
	pthread_create(&p.t, NULL, produce, &p);
	while (!atomic_load(&p.tid))
		usleep(100);
	c.only_tid = atomic_load(&p.tid); /* the rings also hold earlier tests' events */
	/* A slow reader: 200 events every millisecond, far below the rate
	 * (even under a sanitizer). */
	while (atomic_load(&p.emitted) < p.limit) {
		strata_trace_read(s, collect, &c, 200);
		usleep(1000);
	}
	pthread_join(p.t, NULL);
	while (strata_trace_read(s, collect, &c, 0) > 0)
		;
	assert_int_equal(strata_trace_thread_stats(s, st, &n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(st[i].produced, st[i].delivered + st[i].dropped);
		produced += st[i].produced;
		delivered += st[i].delivered;
		dropped += st[i].dropped;
	}
	/* The producer's events: every one produced is delivered or dropped,
	 * none twice, none torn, in order; gaps are exactly the drops. */
	assert_true(dropped > 0);
	assert_int_equal(c.bad_order, 0);
	assert_int_equal(c.last_seq, p.limit);
	assert_int_equal(c.seqs + c.gaps + (c.first_seq - 1), p.limit);
	assert_true(produced >= p.limit);
	assert_int_equal(produced, delivered + dropped);
	strata_trace_detach(s);
}

/* ---- churn -------------------------------------------------------------------------- */

static long count_dir(const char *path)
{
	DIR *d = opendir(path);
	long n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "r");
	long n = 0;
	int ch;

	while (f && (ch = fgetc(f)) != EOF)
		n += ch == '\n';
	if (f)
		fclose(f);
	return n;
}

static void discard(void *user, const struct strata_trace_event *e)
{
	(void)user, (void)e;
}

static void attach_detach_churn(void **state)
{
	struct producer p = { .pause_every = 0 };
	long fds0, maps0, rss0, cycle;
	pid_t me = getpid();
	unsigned seed = 1;
	uint64_t stalls = 0;

	(void)state;
	pthread_create(&p.t, NULL, produce, &p);
	usleep(20000);
	fds0 = count_dir("/proc/self/fd");
	maps0 = count_lines("/proc/self/maps");
	rss0 = rss_bytes();
	for (cycle = 0; cycle < 1000; cycle++) {
		uint64_t before = atomic_load(&p.emitted), t_start = mono_ns();
		pid_t child = fork();
		int status;

		if (child == 0) {
			struct strata_trace_session *s;
			int k;

			/* The previous reader's detach may still be in flight. */
			for (k = 0; k < 200 && strata_trace_attach(me, &s) == -EBUSY; k++)
				usleep(500);
			if (k == 200)
				_exit(3);
			for (k = 0; k < 3; k++)
				strata_trace_read(s, discard, NULL, 50000);
			strata_trace_detach(s);
			_exit(0);
		}
		if (rand_r(&seed) % 10 == 0) {
			usleep(rand_r(&seed) % 3000);
			kill(child, SIGKILL);
		}
		assert_int_equal(waitpid(child, &status, 0), child);
		if (!(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)))
			fail_msg("cycle %ld: reader exited with %d", cycle, WEXITSTATUS(status));
		/* The producer never waits for a reader: a cycle long enough for
		 * the scheduler to have run it (20 ms on 2 cores) shows progress. */
		if (atomic_load(&p.emitted) == before && mono_ns() - t_start > 20000000)
			stalls++;
	}
	/* Let the last detach land. */
	for (cycle = 0; cycle < 1000 && atomic_load(&st_trace_shm.hdr->readers); cycle++)
		usleep(1000);
	atomic_store(&p.stop, true);
	pthread_join(p.t, NULL);
	assert_int_equal(stalls, 0);
	assert_int_equal(count_dir("/proc/self/fd"), fds0);
	assert_int_equal(count_lines("/proc/self/maps"), maps0);
	/* The rings fill once (the producer wrote all along); nothing grows per attach. */
	assert_true(rss_bytes() < rss0 + (8L << 20));
	assert_int_equal(__atomic_load_n(&strata_trace_enabled, __ATOMIC_RELAXED), 0);
}

/* ---- permissions ---------------------------------------------------------------------- */

static void other_user_refused(void **state)
{
	char dir[256], sock[300];
	pid_t me = getpid(), child;
	int status, round;

	(void)state;
	if (geteuid() != 0)
		TEST_SKIP("switching to another user needs root: run the tests as root (CI does)");
	assert_int_equal(strata_trace_socket_dir(dir, sizeof(dir)), 0);
	snprintf(sock, sizeof(sock), "%s/%d.sock", dir, (int)me);
	for (round = 0; round < 2; round++) {
		/* Round 0: as installed (0700 folder).  Round 1: folder and socket
		 * opened to everyone, so only SO_PEERCRED stands in the way. */
		if (round == 1) {
			assert_int_equal(chmod(dir, 0755), 0);
			assert_int_equal(chmod(sock, 0777), 0);
		}
		child = fork();
		if (child == 0) {
			struct strata_trace_session *s;
			char *text;

			/* As that user the socket is looked for where root keeps it. */
			setenv("XDG_RUNTIME_DIR", "/run", 1);
			if (setgid(65534) || setuid(65534))
				_exit(10);
			status = strata_trace_attach(me, &s);
			if (status != -EACCES)
				_exit(100 + (status < 0 ? -status : 99) % 100);
			if (strata_trace_fetch_metrics(me, &text) != -EACCES)
				_exit(12);
			_exit(0);
		}
		waitpid(child, &status, 0);
		if (round == 1) {
			chmod(dir, 0700);
			chmod(sock, 0600);
		}
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
}

/* Ring memory that could shrink under the reader (a plain file, not a
 * sealed memfd) is refused before it is read. */
static void unsealed_memory_refused(void **state)
{
	char path[] = "/tmp/strata-trace-unsealed-XXXXXX";
	struct strata_trace_session *s;
	int fd = mkstemp(path), cur;

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, (off_t)st_trace_shm.bytes), 0);
	assert_int_equal(pwrite(fd, st_trace_shm.hdr, 4096, 0), 4096);
	cur = memfd_create("cursors", MFD_ALLOW_SEALING);
	assert_int_equal(ftruncate(cur, 4096), 0);
	assert_int_equal(fcntl(cur, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW), 0);
	assert_int_equal(st_trace_session_open(fd, cur, -1, &s), -EPROTO);
}

static void symlink_refused(void **state)
{
	char dir[256], sock[300], target[] = "/tmp/strata-trace-target-XXXXXX";
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(strata_trace_socket_dir(dir, sizeof(dir)), 0);
	snprintf(sock, sizeof(sock), "%s/%d.sock", dir, (int)getpid());
	fd = mkstemp(target);
	assert_true(fd >= 0);
	close(fd);
	st_trace_listen_stop();
	assert_int_equal(symlink(target, sock), 0);
	assert_int_equal(st_trace_listen_start(), -EEXIST);
	/* Neither the link nor its target was touched. */
	assert_int_equal(lstat(sock, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(target, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	unlink(sock);
	unlink(target);
	assert_int_equal(st_trace_listen_start(), 0);
}

/* ---- who is behind a socket ------------------------------------------------------------ */

struct listener {
	pid_t pid;
	char path[108];
};

/* In a child: go when the test does, even when it fails half-way. */
static void die_with_parent(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(120);
}

/* A child process listening (backlog @backlog) on "@dir/@claim.sock", or
 * on "@dir/<its own pid>.sock" when @claim is 0. */
static void spawn_listener(struct listener *l, const char *dir, pid_t claim, int backlog)
{
	int ready[2];
	char c;

	assert_int_equal(pipe(ready), 0);
	l->pid = fork();
	assert_true(l->pid >= 0);
	if (l->pid == 0) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		die_with_parent();
		snprintf(a.sun_path, sizeof(a.sun_path), "%s/%d.sock", dir, claim ? (int)claim : (int)getpid());
		if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, backlog) || write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	snprintf(l->path, sizeof(l->path), "%s/%d.sock", dir, claim ? (int)claim : (int)l->pid);
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
}

static void stop(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* A process that only waits: a live pid that has no socket. */
static pid_t spawn_sleeper(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		die_with_parent();
		for (;;)
			pause();
	}
	return pid;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void peer_own_socket(void **state)
{
	struct strata_trace_peer p, *list;
	char dir[256], sock[300];
	size_t n, i;
	bool listed = false;

	(void)state;
	assert_int_equal(strata_trace_socket_dir(dir, sizeof(dir)), 0);
	snprintf(sock, sizeof(sock), "%s/%d.sock", dir, (int)getpid());
	assert_int_equal(strata_trace_peer_check(sock, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_OK);
	assert_int_equal(p.pid, getpid());
	assert_int_equal(p.peer_pid, getpid());
	assert_int_equal(p.peer_uid, geteuid());
	assert_int_equal(p.owner_uid, geteuid());
	assert_string_equal(p.path, sock);
	memset(&p, 0, sizeof(p));
	assert_int_equal(strata_trace_peer_find(getpid(), &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_OK);
	assert_string_equal(p.path, sock);
	assert_int_equal(strata_trace_peer_list(&list, &n), 0);
	for (i = 0; i < n; i++)
		listed |= list[i].pid == getpid() && list[i].state == STRATA_TRACE_PEER_OK;
	free(list);
	assert_true(listed);
	assert_int_equal(strata_trace_peer_check(NULL, &p), -EINVAL);
	assert_int_equal(strata_trace_peer_find(0, &p), -EINVAL);
	assert_int_equal(strata_trace_peer_find(getpid(), NULL), -EINVAL);
	assert_int_equal(strata_trace_peer_list(NULL, &n), -EINVAL);
	assert_int_equal(strata_trace_peer_remove(NULL), -EINVAL);
}

/* Another process listens on a socket named after a live process (the
 * victim) in the caller's own folder: it is reported, never believed. */
static void peer_forged(void **state)
{
	struct strata_trace_peer p, *list;
	struct strata_trace_session *s;
	struct listener l;
	char dir[256], *text;
	pid_t victim = spawn_sleeper();
	size_t n, i;
	bool seen = false;

	(void)state;
	assert_int_equal(strata_trace_socket_dir(dir, sizeof(dir)), 0);
	spawn_listener(&l, dir, victim, 8);
	assert_int_equal(strata_trace_peer_check(l.path, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_FORGED);
	assert_int_equal(p.pid, victim);
	assert_int_equal(p.peer_pid, l.pid);
	assert_int_equal(p.peer_uid, geteuid());
	assert_int_equal(strata_trace_peer_find(victim, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_FORGED);
	assert_int_equal(p.peer_pid, l.pid);
	assert_int_equal(strata_trace_attach(victim, &s), -EPERM);
	assert_int_equal(strata_trace_fetch_metrics(victim, &text), -EPERM);
	assert_int_equal(strata_trace_peer_list(&list, &n), 0);
	for (i = 0; i < n; i++)
		if (list[i].pid == victim) {
			assert_int_equal(list[i].state, STRATA_TRACE_PEER_FORGED);
			seen = true;
		}
	free(list);
	assert_true(seen);
	/* Something listens: not stale, not removed. */
	assert_int_equal(strata_trace_peer_remove(l.path), -EBUSY);
	assert_true(exists(l.path));
	stop(l.pid);
	stop(victim);
	unlink(l.path);
}

/* The right pid, but the socket belongs to another user than the one the
 * listener runs as. */
static void peer_wrong_owner(void **state)
{
	char dir[256];
	struct strata_trace_peer p;
	struct listener l;

	(void)state;
	if (geteuid() != 0)
		TEST_SKIP("giving a socket to another user needs root: run the tests as root (CI does)");
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	spawn_listener(&l, dir, 0, 8);
	assert_int_equal(strata_trace_peer_check(l.path, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_OK);
	assert_int_equal(chown(l.path, 65534, 65534), 0);
	assert_int_equal(strata_trace_peer_check(l.path, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_FORGED);
	assert_int_equal(p.pid, l.pid);
	assert_int_equal(p.peer_pid, l.pid);
	assert_int_equal(p.owner_uid, 65534);
	assert_int_equal(p.peer_uid, 0);
	stop(l.pid);
	/* Stale now, but another user's: left alone. */
	assert_int_equal(strata_trace_peer_check(l.path, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_STALE);
	assert_int_equal(strata_trace_peer_remove(l.path), -EPERM);
	assert_true(exists(l.path));
	unlink(l.path);
	rmdir(dir);
}

/* Sockets left by killed processes. */
static void peer_stale(void **state)
{
	char dir[256], sockdir[256];
	struct strata_trace_session *s;
	struct strata_trace_peer p;
	struct listener l, alive;
	pid_t sleeper = spawn_sleeper();
	char *text;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	spawn_listener(&l, dir, 0, 8);
	stop(l.pid);
	assert_true(exists(l.path));
	assert_int_equal(strata_trace_peer_check(l.path, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_STALE);
	assert_int_equal(p.pid, l.pid);
	assert_int_equal(p.peer_pid, 0);
	assert_int_equal(strata_trace_peer_remove(l.path), 0);
	assert_false(exists(l.path));
	assert_int_equal(strata_trace_peer_remove(l.path), -ENOENT);
	/* Stale, but a process has the pid it names: it may be starting. */
	spawn_listener(&alive, dir, sleeper, 8);
	stop(alive.pid);
	assert_int_equal(strata_trace_peer_check(alive.path, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_STALE);
	assert_int_equal(strata_trace_peer_remove(alive.path), -EBUSY);
	assert_true(exists(alive.path));
	unlink(alive.path);
	/* In the caller's own folder: attach and metrics say "not running". */
	assert_int_equal(strata_trace_socket_dir(sockdir, sizeof(sockdir)), 0);
	spawn_listener(&l, sockdir, 0, 8);
	stop(l.pid);
	assert_int_equal(strata_trace_peer_find(l.pid, &p), 0);
	assert_int_equal(p.state, STRATA_TRACE_PEER_STALE);
	assert_int_equal(strata_trace_attach(l.pid, &s), -ENOENT);
	assert_int_equal(strata_trace_fetch_metrics(l.pid, &text), -ENOENT);
	assert_int_equal(strata_trace_peer_remove(l.path), 0);
	assert_int_equal(strata_trace_peer_find(l.pid, &p), -ENOENT);
	stop(sleeper);
	rmdir(dir);
}

/* Symlinks are never followed, whether the socket or its folder is one;
 * files and names that claim no pid are not sockets of a process; a
 * folder others may write to is not believed. */
static void peer_not_followed(void **state)
{
	char dir[256], sub[300], link[300], linkdir[300], via[350], file[300], bad[300];
	struct strata_trace_peer p;
	struct listener l;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	spawn_listener(&l, sub, 0, 8);
	stop(l.pid);
	/* A symlink named like a socket, to a stale socket. */
	snprintf(link, sizeof(link), "%s/%d.sock", dir, (int)l.pid);
	assert_int_equal(symlink(l.path, link), 0);
	assert_int_equal(strata_trace_peer_check(link, &p), -ENOTSOCK);
	assert_int_equal(strata_trace_peer_remove(link), -ENOTSOCK);
	assert_true(exists(link));
	assert_true(exists(l.path));
	/* A symlink as the folder. */
	snprintf(linkdir, sizeof(linkdir), "%s/linkdir", dir);
	assert_int_equal(symlink(sub, linkdir), 0);
	snprintf(via, sizeof(via), "%s/%d.sock", linkdir, (int)l.pid);
	assert_int_equal(strata_trace_peer_check(via, &p), -EPERM);
	assert_int_equal(strata_trace_peer_remove(via), -EPERM);
	assert_true(exists(l.path));
	/* A file, and names that claim no pid. */
	snprintf(file, sizeof(file), "%s/77.sock", dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(strata_trace_peer_check(file, &p), -ENOTSOCK);
	snprintf(bad, sizeof(bad), "%s/0.sock", dir);
	assert_int_equal(strata_trace_peer_check(bad, &p), -EINVAL);
	snprintf(bad, sizeof(bad), "%s/12.sock.old", dir);
	assert_int_equal(strata_trace_peer_check(bad, &p), -EINVAL);
	snprintf(bad, sizeof(bad), "%s/x12.sock", dir);
	assert_int_equal(strata_trace_peer_check(bad, &p), -EINVAL);
	snprintf(bad, sizeof(bad), "%s/99999999999.sock", dir);
	assert_int_equal(strata_trace_peer_check(bad, &p), -EINVAL);
	assert_int_equal(strata_trace_peer_check("12.sock", &p), -EINVAL);
	/* A folder others may write to. */
	assert_int_equal(strata_trace_peer_check(l.path, &p), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	assert_int_equal(strata_trace_peer_check(l.path, &p), -EPERM);
	assert_int_equal(strata_trace_peer_remove(l.path), -EPERM);
	assert_true(exists(l.path));
	unlink(l.path);
	unlink(link);
	unlink(linkdir);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

/* A listener whose backlog is full (it never accepts) answers -EAGAIN at
 * once instead of holding the reader in connect(2). */
static void peer_backlog_full(void **state)
{
	char dir[256];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct strata_trace_peer p;
	struct listener l;
	int fd;

	(void)state;
	snprintf(dir, sizeof(dir), "%s", make_tmpdir());
	spawn_listener(&l, dir, 0, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", l.path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	alarm(10);
	assert_int_equal(strata_trace_peer_check(l.path, &p), -EAGAIN);
	alarm(0);
	close(fd);
	stop(l.pid);
	unlink(l.path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names),
		cmocka_unit_test(events_round_trip),
		cmocka_unit_test(exact_accounting),
		cmocka_unit_test(attach_detach_churn),
		cmocka_unit_test(other_user_refused),
		cmocka_unit_test(unsealed_memory_refused),
		cmocka_unit_test(symlink_refused),
		cmocka_unit_test(peer_own_socket),
		cmocka_unit_test(peer_forged),
		cmocka_unit_test(peer_wrong_owner),
		cmocka_unit_test(peer_stale),
		cmocka_unit_test(peer_not_followed),
		cmocka_unit_test(peer_backlog_full),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, rt_teardown);
}
