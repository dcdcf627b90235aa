/* SPDX-License-Identifier: MIT */
/*
 * strata/trace.h — the in-process tracer: events into per-thread rings in
 * shared memory that the `strata` CLI reads from outside, live.
 *
 * Producer side: intern a name once (strata_trace_name()), then emit
 * instants, span begins and ends, counters and flows with it.  An emit
 * costs one predictable branch when tracing is off, and a timestamp plus a
 * 32-byte store into the calling thread's ring when it is on: no lock, no
 * system call, no allocation.  Tracing is on while a reader is attached,
 * or always with STRATA_TRACE=on (a flight recorder).
 *
 * Consumer side: strata_trace_attach() connects to a process's socket,
 * receives its ring memory (read-only) and reads records with exact loss
 * accounting.  Every field read from the producer's memory is
 * bounds-checked: a corrupted or hostile producer cannot crash a reader.
 */
#ifndef STRATA_TRACE_H
#define STRATA_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- producer ------------------------------------------------------------------ */

enum strata_trace_type {
	STRATA_TRACE_INSTANT = 1,
	STRATA_TRACE_BEGIN = 2, /* a span on this thread */
	STRATA_TRACE_END = 3,
	STRATA_TRACE_COUNTER = 4, /* arg0: the value */
	STRATA_TRACE_FLOW_BEGIN = 5, /* arg0: flow id (joins a submit to its completion) */
	STRATA_TRACE_FLOW_END = 6,
	STRATA_TRACE_ANCHOR = 7, /* arg0: CLOCK_MONOTONIC ns, arg1: CLOCK_BOOTTIME ns at the timestamp */
};

/* Non-zero while events are recorded.  Read it through STRATA_TRACE_ON()
 * (a relaxed atomic load: a plain load on every CPU strata runs on). */
STRATA_API extern int strata_trace_enabled;

#define STRATA_TRACE_ON() __builtin_expect(__atomic_load_n(&strata_trace_enabled, __ATOMIC_RELAXED) != 0, 0)

/*
 * strata_trace_name() - the id of event name @name (interned: the same
 * name always gives the same id).  Call once and keep the id.
 * Return: an id > 0; -EINVAL; -ENOSPC when the name table is full.
 */
STRATA_API int strata_trace_name(const char *name);

/* Record an event; call through the macros below so that nothing but a
 * branch runs while tracing is off. */
STRATA_API void strata_trace_emit(uint32_t id, enum strata_trace_type type, uint64_t arg0, uint64_t arg1);

#define strata_trace_instant(id, a0, a1) \
	(STRATA_TRACE_ON() ? strata_trace_emit((uint32_t)(id), STRATA_TRACE_INSTANT, (a0), (a1)) : (void)0)
#define strata_trace_begin(id, a0, a1) \
	(STRATA_TRACE_ON() ? strata_trace_emit((uint32_t)(id), STRATA_TRACE_BEGIN, (a0), (a1)) : (void)0)
#define strata_trace_end(id) (STRATA_TRACE_ON() ? strata_trace_emit((uint32_t)(id), STRATA_TRACE_END, 0, 0) : (void)0)
#define strata_trace_counter(id, value) \
	(STRATA_TRACE_ON() ? strata_trace_emit((uint32_t)(id), STRATA_TRACE_COUNTER, (uint64_t)(value), 0) : (void)0)
#define strata_trace_flow_begin(id, flow) \
	(STRATA_TRACE_ON() ? strata_trace_emit((uint32_t)(id), STRATA_TRACE_FLOW_BEGIN, (flow), 0) : (void)0)
#define strata_trace_flow_end(id, flow) \
	(STRATA_TRACE_ON() ? strata_trace_emit((uint32_t)(id), STRATA_TRACE_FLOW_END, (flow), 0) : (void)0)

/* ---- consumer -------------------------------------------------------------------- */

struct strata_trace_session;

/* One event as a reader sees it. */
struct strata_trace_event {
	uint64_t ts_ns; /* CLOCK_MONOTONIC nanoseconds */
	uint32_t tid;
	uint32_t id;
	enum strata_trace_type type;
	uint64_t arg0, arg1;
	const char *name; /* valid until the session is closed; "?" for an unknown id */
};

/* Loss accounting of one producer thread, as of the last read. */
struct strata_trace_thread_stats {
	uint32_t tid;
	uint64_t produced; /* events the thread emitted while its ring was live */
	uint64_t delivered; /* events handed to this reader */
	uint64_t dropped; /* produced - delivered - still unread: overwritten or refused */
};

/*
 * strata_trace_attach() - attach to process @pid's tracer.
 *
 * The socket named after @pid is believed only when its listener is
 * process @pid, as the user who owns the socket (strata_trace_peer_find()).
 * Return: 0; -ENOENT (no such process, it has no strata socket, or its
 * socket is stale); -EPERM (the socket named after @pid is served by
 * another process or user: strata_trace_peer_find() says which); -EACCES
 * (another user's process); -EBUSY (another reader is attached); -EPROTO
 * (the process answered something unexpected); -ENOMEM.
 */
STRATA_API int strata_trace_attach(int pid, struct strata_trace_session **out);

/*
 * strata_trace_read() - hand every new event of every thread to @fn, at
 * most @max events (0: no limit).  Events of one thread come in order.
 * Return: the number of events delivered (>= 0); -EPROTO when the
 * producer's memory is inconsistent (the session is unusable).
 */
STRATA_API int64_t strata_trace_read(struct strata_trace_session *s,
				     void (*fn)(void *user, const struct strata_trace_event *e), void *user,
				     uint64_t max);

/* Accounting per producer thread; @n in: room in @out, out: threads.
 * Return: 0; -ENOSPC when @out is too small (@n says how many). */
STRATA_API int strata_trace_thread_stats(struct strata_trace_session *s, struct strata_trace_thread_stats *out,
					 size_t *n);

/* Detach; the process goes back to not tracing.  NULL is accepted. */
STRATA_API void strata_trace_detach(struct strata_trace_session *s);

/*
 * strata_trace_fetch_metrics() - the Prometheus text of process @pid,
 * through its socket.  *@text is malloc'ed; free() it.
 * Return: 0; the errors of strata_trace_attach().
 */
STRATA_API int strata_trace_fetch_metrics(int pid, char **text);

/* The folder where processes put their sockets: $XDG_RUNTIME_DIR/strata,
 * or /run/strata for root.  Return: 0; -ERANGE; -ENOENT (no runtime dir). */
STRATA_API int strata_trace_socket_dir(char *buf, size_t len);

/* ---- who is behind a socket -------------------------------------------------------- */

/*
 * A socket's name, ".../PID.sock", only claims a process: anyone who may
 * write to a folder can plant one, and root's readers also look into every
 * user's folder (/run/user/UID/strata).  A socket is believed when its
 * listener (SO_PEERCRED) is the process its name claims, running as the
 * user who owns the socket file, in a folder that is no symlink, belongs to
 * that user or root and that no one else may write to.  Symlinks are never
 * followed.  The text a process sends is the process's own: print it
 * through a filter for terminal escapes.
 */
enum strata_trace_peer_state {
	STRATA_TRACE_PEER_OK = 0, /* its listener is what the name claims */
	STRATA_TRACE_PEER_STALE = 1, /* nobody listens: its process died without removing it */
	STRATA_TRACE_PEER_FORGED = 2, /* another process, or another user, listens */
};

struct strata_trace_peer {
	char path[108]; /* the socket (the size of sockaddr_un's sun_path) */
	int pid; /* the process its name claims */
	uint32_t owner_uid; /* of the socket file */
	enum strata_trace_peer_state state;
	int peer_pid; /* the listener's, from SO_PEERCRED (0 when STALE) */
	uint32_t peer_uid;
};

/*
 * strata_trace_peer_check() - connect to socket @path and judge its
 * listener.
 * Return: 0 and *@out (whatever the verdict); -EINVAL (not a ".../PID.sock"
 * path); -ENOTSOCK (a symlink or anything but a socket); -EPERM (its folder
 * is a symlink, writable by others, or owned by someone other than the
 * socket's owner and root); -EAGAIN (its listener's backlog is full);
 * -ENOENT, -EACCES and other errors of the lookup and connect(2).
 */
STRATA_API int strata_trace_peer_check(const char *path, struct strata_trace_peer *out);

/*
 * strata_trace_peer_find() - the socket that claims process @pid, in the
 * caller's folder (strata_trace_socket_dir()) and, for root, in every
 * user's; where several do, the one whose verdict is OK, else a FORGED one.
 * Return: 0 and *@out; -ENOENT (none); the errors of
 * strata_trace_peer_check() for the caller's own folder.
 */
STRATA_API int strata_trace_peer_find(int pid, struct strata_trace_peer *out);

/*
 * strata_trace_peer_list() - every socket named after a pid in the folders
 * strata_trace_peer_find() looks in, judged, sorted by pid.  What
 * strata_trace_peer_check() refuses (symlinks, files, unsafe folders) is
 * left out.  *@out is malloc'ed (NULL when *@n is 0); free() it.
 * Return: 0; -ENOMEM.
 */
STRATA_API int strata_trace_peer_list(struct strata_trace_peer **out, size_t *n);

/*
 * strata_trace_peer_remove() - remove stale socket @path: nobody listens
 * on it, no process has the pid it claims, and the caller owns it.  The
 * link itself is never followed.
 * Return: 0; -EBUSY (something listens, or a process has that pid: it may
 * be starting); -EPERM (another user's socket, or an unsafe folder); the
 * errors of strata_trace_peer_check().
 */
STRATA_API int strata_trace_peer_remove(const char *path);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_TRACE_H */
