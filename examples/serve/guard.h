/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/guard.h — what one client may hold of the server: how long
 * a connection may take to send its headers and its body, how long it may
 * sit idle between requests, and how many connections there may be.
 *
 * libmicrohttpd gives each connection a thread and has only an inactivity
 * timeout, which a client sending a byte now and then never trips.  The
 * guard keeps its own list of connections with the phase each is in and
 * since when; a watchdog thread shuts down the socket of one past its
 * phase's deadline, and libmicrohttpd then closes it as it would any
 * connection the client dropped.
 */
#ifndef STRATA_SERVE_GUARD_H
#define STRATA_SERVE_GUARD_H

#include <microhttpd.h>
#include <stdbool.h>

#include <strata/strata.h>

struct guard_opts {
	unsigned max_conns; /* past it, a connection is answered 503 */
	unsigned header_s; /* from accept (or the last answer) to the whole header */
	unsigned body_s; /* from the header to the whole body */
	unsigned idle_s; /* between requests on a kept-alive connection */
	/* Series the guard keeps (NULL: none): connections open, refused,
	 * closed for a deadline. */
	struct strata_metric *open, *refused, *timed_out;
};

enum guard_phase {
	GUARD_HEADER, /* waiting for a request's header (a new or kept-alive connection) */
	GUARD_BODY, /* the header is in; the body comes */
	GUARD_BUSY, /* the request is being answered: no deadline */
};

struct guard;

/* Return: 0; -ENOMEM; an error of starting the watchdog. */
int guard_start(const struct guard_opts *opts, struct guard **out);
void guard_stop(struct guard *g);

/* MHD_OPTION_NOTIFY_CONNECTION's callback (@cls: the guard). */
void guard_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		  enum MHD_ConnectionNotificationCode code);

/* Connection @c enters @phase now.  GUARD_HEADER after an answer starts
 * the idle deadline. */
void guard_phase(struct guard *g, struct MHD_Connection *c, enum guard_phase phase);

/* Whether @c came in past the connection limit (answer it 503). */
bool guard_over_limit(struct MHD_Connection *c);


#endif /* STRATA_SERVE_GUARD_H */
