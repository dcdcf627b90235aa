/* SPDX-License-Identifier: MIT */
/*
 * trace/listen.c — the process's socket: where the `strata` CLI attaches.
 *
 * The socket lives in a private folder ($XDG_RUNTIME_DIR/strata, or
 * /run/strata for root) that must be a real directory of ours with mode
 * 0700; a symlink or foreign file where the socket goes is refused, never
 * followed or removed.  Each connection is checked with SO_PEERCRED (same
 * user, or root) and asks one thing:
 *
 *   METRICS\n  the Prometheus text, then the connection closes;
 *   ATTACH\n   "OK 1\n" and two descriptors (SCM_RIGHTS): the ring memory
 *              (sealed memfd, read-only for the reader's purposes) and the
 *              reader-cursor page.  Tracing is on until the connection
 *              closes.  A second reader gets "BUSY\n".
 *
 * One thread serves it, blocked in poll(): nothing runs while nobody is
 * attached.  While a reader is attached it wakes once a second to write a
 * clock anchor.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "trace/trace_int.h"

static struct {
	pthread_t thread;
	bool running;
	int listen_fd, stop_fd, session_fd, cursor_fd;
	struct st_trace_cursors *cursors;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	bool always_on;
} L = { .listen_fd = -1, .stop_fd = -1, .session_fd = -1, .cursor_fd = -1 };

_Atomic uint64_t st_trace_listener_cpu_ns, st_trace_attaches, st_trace_refused;

int strata_trace_socket_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (!buf)
		return -EINVAL;
	if (geteuid() == 0)
		return st_fmt(buf, len, "/run/strata") < 0 ? -ERANGE : 0;
	if (!xdg || xdg[0] != '/')
		return -ENOENT;
	return st_fmt(buf, len, "%s/strata", xdg) < 0 ? -ERANGE : 0;
}

/* The folder exists, is a directory (not a link), is ours and 0700. */
static int private_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	if (lstat(dir, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 077))
		return -EPERM;
	return 0;
}

static void send_text(int fd, const char *text, size_t len)
{
	while (len) {
		ssize_t w = send(fd, text, len, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		text += w;
		len -= (size_t)w;
	}
}

static int send_fds(int fd, const char *msg, int a, int b)
{
	char ctrl[CMSG_SPACE(2 * sizeof(int))] = { 0 }, text[16];
	struct iovec iov = { .iov_base = text, .iov_len = strlen(msg) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl, .msg_controllen = sizeof(ctrl) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	int fds[2] = { a, b };

	memcpy(text, msg, ST_MIN(strlen(msg) + 1, sizeof(text)));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Read one request line within a second. */
static int read_request(int fd, char *buf, size_t len)
{
	struct timespec start, now;
	size_t have = 0;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (have + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		/* One second for the whole request, however it trickles in. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec >= 1 || poll(&p, 1, 1000) <= 0)
			return -ETIMEDOUT;
		r = recv(fd, buf + have, len - 1 - have, 0);
		if (r <= 0)
			return -EPROTO;
		have += (size_t)r;
		buf[have] = '\0';
		if (memchr(buf, '\n', have))
			return 0;
	}
	return -EPROTO;
}

static void end_session(void);

static void start_session(int fd)
{
	struct st_trace_header *h = st_trace_shm.hdr;
	unsigned s;

	/* Reader cursors start at the oldest record still in each ring. */
	for (s = 0; s < h->nslots && s < ST_TRACE_SLOTS; s++) {
		uint64_t head = atomic_load(&st_trace_ring_at(h, s)->head);

		atomic_store(&L.cursors->slot[s].tail, head > h->ring_records - 1 ? head - (h->ring_records - 1) : 0);
		atomic_store(&L.cursors->dropped_base[s], atomic_load(&st_trace_ring_at(h, s)->dropped));
	}
	/* On before the reader hears back: its first read sees events. */
	L.session_fd = fd;
	atomic_store(&h->readers, 1);
	if (h->policy == ST_TRACE_DROP_NEWEST)
		atomic_store(&st_trace_cursors, L.cursors);
	atomic_fetch_add(&st_trace_session_gen, 1);
	__atomic_store_n(&strata_trace_enabled, 1, __ATOMIC_RELAXED);
	st_trace_anchor();
	if (send_fds(fd, "OK 1\n", st_trace_shm.fd, L.cursor_fd)) {
		end_session();
		return;
	}
	atomic_fetch_add(&st_trace_attaches, 1);
}

static void end_session(void)
{
	__atomic_store_n(&strata_trace_enabled, L.always_on, __ATOMIC_RELAXED);
	atomic_store(&st_trace_cursors, NULL);
	atomic_fetch_add(&st_trace_session_gen, 1);
	atomic_store(&st_trace_shm.hdr->readers, 0);
	close(L.session_fd);
	L.session_fd = -1;
}

static void serve(int fd)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char req[64];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) || (cred.uid != geteuid() && cred.uid != 0)) {
		atomic_fetch_add(&st_trace_refused, 1);
		close(fd);
		return;
	}
	if (read_request(fd, req, sizeof(req))) {
		close(fd);
		return;
	}
	if (strcmp(req, ST_TRACE_REQ_METRICS) == 0) {
		char *text = NULL;
		size_t len = 0;

		if (st_metrics_render(&text, &len) == 0)
			send_text(fd, text, len);
		free(text);
		close(fd);
	} else if (strcmp(req, ST_TRACE_REQ_ATTACH) == 0) {
		/* A reader that just left may not have been noticed yet. */
		if (L.session_fd >= 0) {
			struct pollfd p = { .fd = L.session_fd, .events = POLLIN };

			if (poll(&p, 1, 0) > 0)
				end_session();
		}
		if (L.session_fd >= 0) {
			send_text(fd, "BUSY\n", 5);
			close(fd);
		} else {
			start_session(fd);
		}
	} else {
		send_text(fd, "ERR unknown request\n", 20);
		close(fd);
	}
}

static void *listener(void *arg)
{
	(void)arg;
	for (;;) {
		struct pollfd p[3] = { { .fd = L.stop_fd, .events = POLLIN },
				       { .fd = L.listen_fd, .events = POLLIN },
				       { .fd = L.session_fd, .events = POLLIN } };
		struct timespec cpu;
		int n = poll(p, L.session_fd >= 0 ? 3 : 2, L.session_fd >= 0 ? 1000 : -1);

		if (n < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break;
		/* The reader sends nothing after ATTACH: data or EOF both end it. */
		if (L.session_fd >= 0 && p[2].revents)
			end_session();
		if (p[1].revents & POLLIN) {
			int fd = accept4(L.listen_fd, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				/* One slow or stuck client may not hold the only thread. */
				struct timeval tv = { .tv_sec = 1 };

				setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
				setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
				serve(fd);
			}
		}
		if (n == 0 && L.session_fd >= 0)
			st_trace_anchor();
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
		atomic_store(&st_trace_listener_cpu_ns, (uint64_t)cpu.tv_sec * 1000000000ULL + (uint64_t)cpu.tv_nsec);
	}
	if (L.session_fd >= 0)
		end_session();
	return NULL;
}

int st_trace_listen_start(void)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *mode = getenv("STRATA_TRACE");
	char dir[sizeof(addr.sun_path) - 16];
	struct stat st;
	int err;

	if (L.running)
		return 0;
	err = st_trace_shm_init(mode && strcmp(mode, "drop") == 0 ? ST_TRACE_DROP_NEWEST : ST_TRACE_OVERWRITE);
	if (err)
		return err;
	/* Names may have been interned (and the memory made) before: the
	 * policy is this start's, no reader being attached yet. */
	st_trace_shm.hdr->policy = mode && strcmp(mode, "drop") == 0 ? ST_TRACE_DROP_NEWEST : ST_TRACE_OVERWRITE;
	err = strata_trace_socket_dir(dir, sizeof(dir));
	if (!err)
		err = private_dir(dir);
	if (err)
		return err;
	st_fmt(L.path, sizeof(L.path), "%s/%d.sock", dir, (int)getpid());
	if (lstat(L.path, &st) == 0) {
		/* A socket of ours left by an earlier process with this pid may go;
		 * anything else (a symlink, a file) is refused untouched. */
		if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid())
			return -EEXIST;
		unlink(L.path);
	}
	memcpy(addr.sun_path, L.path, strlen(L.path) + 1);
	if (L.cursor_fd < 0) {
		L.cursor_fd = memfd_create("strata-trace-cursors", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (L.cursor_fd >= 0 && ftruncate(L.cursor_fd, (off_t)ST_TRACE_CURSOR_BYTES) == 0 &&
		    fcntl(L.cursor_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) == 0)
			L.cursors = mmap(NULL, ST_TRACE_CURSOR_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, L.cursor_fd, 0);
		if (L.cursor_fd < 0 || !L.cursors || L.cursors == MAP_FAILED) {
			err = -errno;
			if (L.cursor_fd >= 0)
				close(L.cursor_fd);
			L.cursor_fd = -1;
			L.cursors = NULL;
			return err ? err : -ENOMEM;
		}
	}
	L.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	L.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (L.listen_fd < 0 || L.stop_fd < 0) {
		err = -errno;
		goto fail;
	}
	if (bind(L.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) || chmod(L.path, 0600) ||
	    listen(L.listen_fd, 8)) {
		err = -errno;
		unlink(L.path);
		goto fail;
	}
	L.always_on = mode && (strcmp(mode, "on") == 0 || strcmp(mode, "drop") == 0);
	__atomic_store_n(&strata_trace_enabled, L.always_on, __ATOMIC_RELAXED);
	err = pthread_create(&L.thread, NULL, listener, NULL);
	if (err) {
		err = -err;
		unlink(L.path);
		goto fail;
	}
	L.running = true;
	return 0;
fail:
	if (L.listen_fd >= 0)
		close(L.listen_fd);
	if (L.stop_fd >= 0)
		close(L.stop_fd);
	L.listen_fd = L.stop_fd = -1;
	return err;
}

void st_trace_listen_stop(void)
{
	uint64_t one = 1;

	if (!L.running)
		return;
	if (write(L.stop_fd, &one, sizeof(one)) != sizeof(one))
		return;
	pthread_join(L.thread, NULL);
	close(L.listen_fd);
	close(L.stop_fd);
	L.listen_fd = L.stop_fd = -1;
	unlink(L.path);
	L.running = false;
	__atomic_store_n(&strata_trace_enabled, 0, __ATOMIC_RELAXED);
}
