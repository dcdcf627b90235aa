/* SPDX-License-Identifier: MIT */
/*
 * trace/peer.c — who listens behind a socket in a strata folder, for the
 * readers (the `strata` CLI): finding a process's socket, listing them,
 * removing the stale ones.
 *
 * A socket's name claims a process: ".../4242.sock" says "process 4242
 * listens here".  The name is only a name: whoever may write to a folder
 * can plant one, and root's CLI looks into every user's folder.  So a
 * socket is believed only when its listener's SO_PEERCRED has the pid the
 * name claims and the uid that owns the socket file, and the folder is a
 * real directory (not a symlink) owned by that uid or by root, that no one
 * else may write to.  Nothing here follows a symlink: the folder and the
 * socket are opened with O_PATH | O_NOFOLLOW, and the connection goes
 * through the socket's descriptor (/proc/self/fd/N: procfs is needed), so
 * the socket that was checked is the one connected to.
 *
 * A socket nobody listens on (ECONNREFUSED) was left by a process that
 * died without removing it: stale.  Only its owner may remove it, and only
 * while no process has its pid.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/base.h"
#include "trace/trace_int.h"

_Static_assert(sizeof(((struct strata_trace_peer *)0)->path) == sizeof(((struct sockaddr_un *)0)->sun_path),
	       "a peer's path holds a socket path");

/* The pid a socket's file name claims ("4242.sock"), or -1. */
static int claimed_pid(const char *name)
{
	long pid = 0;
	const char *p;

	for (p = name; *p >= '0' && *p <= '9' && pid <= INT_MAX; p++)
		pid = pid * 10 + (*p - '0');
	return p != name && name[0] != '0' && pid <= INT_MAX && strcmp(p, ".sock") == 0 ? (int)pid : -1;
}

/* A socket opened without following links: its folder and itself (O_PATH
 * descriptors), and what the checks found. */
struct place {
	int dfd, sfd;
	const char *name; /* in the caller's path */
};

static void place_close(struct place *pl)
{
	if (pl->sfd >= 0)
		close(pl->sfd);
	if (pl->dfd >= 0)
		close(pl->dfd);
	pl->dfd = pl->sfd = -1;
}

/* Open @path's folder and socket and check them; fill @p's path, pid and
 * owner.  Return: 0; -EINVAL (not ".../PID.sock", or too long); -ENOTSOCK
 * (a symlink or anything but a socket); -EPERM (the folder is a symlink,
 * writable by others, or owned by a user other than the socket's);
 * -ENOENT, -EACCES... of the lookup. */
static int place_open(const char *path, struct place *pl, struct strata_trace_peer *p)
{
	const char *slash = strrchr(path, '/');
	char dir[sizeof(p->path)];
	struct stat ds, ss;
	int err;

	*pl = (struct place){ .dfd = -1, .sfd = -1 };
	if (!slash || strlen(path) >= sizeof(p->path) || claimed_pid(slash + 1) < 0)
		return -EINVAL;
	pl->name = slash + 1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	if (slash == path)
		strcpy(dir, "/");
	pl->dfd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pl->dfd < 0)
		return errno == ENOTDIR || errno == ELOOP ? -EPERM : -errno;
	if (fstat(pl->dfd, &ds)) {
		err = -errno;
		goto err_close;
	}
	pl->sfd = openat(pl->dfd, pl->name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (pl->sfd < 0) {
		err = -errno;
		goto err_close;
	}
	if (fstat(pl->sfd, &ss)) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISSOCK(ss.st_mode)) {
		err = -ENOTSOCK;
		goto err_close;
	}
	/* Anyone else who may write to the folder could have put the socket
	 * there, or could swap it after the checks. */
	if ((ds.st_mode & (S_IWGRP | S_IWOTH)) || (ds.st_uid != ss.st_uid && ds.st_uid != 0)) {
		err = -EPERM;
		goto err_close;
	}
	memset(p, 0, sizeof(*p));
	memcpy(p->path, path, strlen(path) + 1);
	p->pid = claimed_pid(pl->name);
	p->owner_uid = (uint32_t)ss.st_uid;
	return 0;
err_close:
	place_close(pl);
	return err;
}

/* Connect to the socket behind @pl->sfd and judge its listener into @p.
 * With @fd, a connection to a listener judged OK is handed over there.
 * Return: 0 (any verdict); -EAGAIN (its backlog is full: it accepts
 * nobody); -EACCES, ... of connect(2). */
static int judge(const struct place *pl, struct strata_trace_peer *p, int *fd)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int s, err = 0;

	st_fmt(addr.sun_path, sizeof(addr.sun_path), "/proc/self/fd/%d", pl->sfd);
	/* Non-blocking: a listener that never accepts must not hold us up
	 * (a full backlog makes connect(2) wait otherwise). */
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr))) {
		err = -errno;
		close(s);
		if (err != -ECONNREFUSED)
			return err;
		p->state = STRATA_TRACE_PEER_STALE;
		return 0;
	}
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		err = -errno;
		close(s);
		return err;
	}
	p->peer_pid = cred.pid;
	p->peer_uid = cred.uid;
	p->state = cred.pid == p->pid && cred.uid == p->owner_uid ? STRATA_TRACE_PEER_OK : STRATA_TRACE_PEER_FORGED;
	if (!fd || p->state != STRATA_TRACE_PEER_OK) {
		close(s);
		return 0;
	}
	/* Blocking again: the requests poll before they wait. */
	if (fcntl(s, F_SETFL, 0)) {
		err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

static int check(const char *path, struct strata_trace_peer *out, int *fd)
{
	struct strata_trace_peer p;
	struct place pl;
	int err = place_open(path, &pl, &p);

	if (err)
		return err;
	err = judge(&pl, &p, fd);
	place_close(&pl);
	if (!err)
		*out = p;
	return err;
}

int strata_trace_peer_check(const char *path, struct strata_trace_peer *out)
{
	if (!path || !out)
		return -EINVAL;
	return check(path, out, NULL);
}

/* ---- where readers look ------------------------------------------------------------ */

struct paths {
	char **v;
	size_t n, cap;
};

static int paths_add(struct paths *ps, const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *s;

	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;
		char **v = realloc(ps->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ps->v = v;
		ps->cap = cap;
	}
	s = malloc(len);
	if (!s)
		return -ENOMEM;
	st_fmt(s, len, "%s/%s", dir, name);
	ps->v[ps->n++] = s;
	return 0;
}

static void paths_free(struct paths *ps)
{
	while (ps->n)
		free(ps->v[--ps->n]);
	free(ps->v);
}

/* The sockets named after a pid in folder @dir: all of them (@pid 0), or
 * @pid's, which is listed when it exists, or always with @always. */
static int scan(struct paths *ps, const char *dir, int pid, bool always)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int err = 0;

	if (pid) {
		char name[32], path[PATH_MAX];

		st_fmt(name, sizeof(name), "%d.sock", pid);
		st_fmt(path, sizeof(path), "%s/%s", dir, name);
		return always || lstat(path, &st) == 0 ? paths_add(ps, dir, name) : 0;
	}
	d = opendir(dir);
	if (!d)
		return 0;
	while (!err && (e = readdir(d)))
		if (claimed_pid(e->d_name) > 0)
			err = paths_add(ps, dir, e->d_name);
	closedir(d);
	return err;
}

/* The folders a reader looks in: its own first (for @pid, its socket there
 * is listed even if it cannot be seen: the lookup's error is the one to
 * report), then, for root, every user's: root may read a user's process. */
static int candidates(struct paths *ps, int pid)
{
	char dir[sizeof(((struct strata_trace_peer *)0)->path)], user[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int err = 0;

	memset(ps, 0, sizeof(*ps));
	if (strata_trace_socket_dir(dir, sizeof(dir)) == 0)
		err = scan(ps, dir, pid, true);
	if (err || geteuid() != 0)
		return err;
	d = opendir("/run/user");
	if (!d)
		return 0;
	while (!err && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		st_fmt(user, sizeof(user), "/run/user/%s/strata", e->d_name);
		err = scan(ps, user, pid, false);
	}
	closedir(d);
	return err;
}

/* Rank of a verdict when several sockets claim one pid: the listener that
 * is what its name says wins; else a forged one is worth reporting. */
static int rank(const struct strata_trace_peer *p)
{
	return p->state == STRATA_TRACE_PEER_OK ? 3 : p->state == STRATA_TRACE_PEER_FORGED ? 2 : 1;
}

/* The best verdict on the sockets that claim @pid; connected (in *@fd)
 * when it is OK and @fd is given. */
static int find(int pid, struct strata_trace_peer *out, int *fd)
{
	struct strata_trace_peer best, p;
	struct paths ps;
	bool found = false;
	size_t i;
	int err, first_err = -ENOENT;

	if (pid <= 0)
		return -EINVAL;
	err = candidates(&ps, pid);
	for (i = 0; !err && i < ps.n && (!found || rank(&best) < 3); i++) {
		int e = check(ps.v[i], &p, fd);

		if (e) {
			/* A socket that is not there is not a lookup error. */
			if (first_err == -ENOENT)
				first_err = e;
			continue;
		}
		if (!found || rank(&p) > rank(&best))
			best = p;
		found = true;
	}
	paths_free(&ps);
	if (err)
		return err;
	if (!found)
		return first_err;
	*out = best;
	return 0;
}

int strata_trace_peer_find(int pid, struct strata_trace_peer *out)
{
	if (!out)
		return -EINVAL;
	return find(pid, out, NULL);
}

int st_trace_connect(int pid, int *fd)
{
	struct strata_trace_peer p;
	int s = -1, err = find(pid, &p, &s);

	if (err)
		return err;
	if (p.state == STRATA_TRACE_PEER_STALE)
		return -ENOENT;
	if (p.state == STRATA_TRACE_PEER_FORGED)
		return -EPERM;
	*fd = s;
	return 0;
}

static int by_pid(const void *a, const void *b)
{
	const struct strata_trace_peer *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return strcmp(x->path, y->path);
}

int strata_trace_peer_list(struct strata_trace_peer **out, size_t *n)
{
	struct strata_trace_peer *list = NULL;
	struct paths ps;
	size_t i, k = 0;
	int err;

	if (!out || !n)
		return -EINVAL;
	err = candidates(&ps, 0);
	if (!err && ps.n) {
		list = malloc(ps.n * sizeof(*list));
		err = list ? 0 : -ENOMEM;
	}
	/* What is not a socket (a symlink, a file), or sits in a folder others
	 * may write to, is no process's: left out. */
	for (i = 0; !err && i < ps.n; i++)
		if (check(ps.v[i], &list[k], NULL) == 0)
			k++;
	paths_free(&ps);
	if (err) {
		free(list);
		return err;
	}
	if (k)
		qsort(list, k, sizeof(*list), by_pid);
	*out = list;
	*n = k;
	return 0;
}

int strata_trace_peer_remove(const char *path)
{
	struct strata_trace_peer p;
	struct place pl;
	int err;

	if (!path)
		return -EINVAL;
	err = place_open(path, &pl, &p);
	if (err)
		return err;
	err = judge(&pl, &p, NULL);
	if (!err && p.state != STRATA_TRACE_PEER_STALE)
		err = -EBUSY;
	if (!err && p.owner_uid != (uint32_t)geteuid())
		err = -EPERM;
	/* A process with that pid may be the socket's, between its bind(2)
	 * and its listen(2). */
	if (!err && (kill(p.pid, 0) == 0 || errno != ESRCH))
		err = -EBUSY;
	/* unlinkat(2) does not follow the name, and the folder is the one
	 * checked: only the caller, its owner, could have swapped the socket. */
	if (!err && unlinkat(pl.dfd, pl.name, 0))
		err = -errno;
	place_close(&pl);
	return err;
}
