/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/guard.c — connection deadlines and the connection limit.
 *
 * shutdown(2) on the socket, not close(2): the descriptor stays the
 * connection's until libmicrohttpd closes it, so the watchdog can never
 * hit a descriptor reused by another connection.  A connection leaves the
 * list (under the lock) before libmicrohttpd closes its socket.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "guard.h"

#define TICK_MS 200
#define OVER_LIMIT_S 1 /* a connection past the limit gets this long to ask */

struct gconn {
	int fd;
	enum guard_phase phase;
	double since;
	bool first; /* no request answered yet: the header deadline, else idle */
	bool over_limit, shut;
	struct gconn *prev, *next;
};

struct guard {
	struct guard_opts o;
	pthread_mutex_t lock;
	pthread_cond_t stop_cv;
	bool stopping;
	pthread_t watchdog;
	struct gconn *head;
	unsigned open;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double deadline_s(const struct guard *g, const struct gconn *k)
{
	if (k->over_limit)
		return OVER_LIMIT_S;
	switch (k->phase) {
	case GUARD_HEADER: return k->first ? g->o.header_s : g->o.idle_s;
	case GUARD_BODY: return g->o.body_s;
	default: return 0;
	}
}

static void *watch(void *arg)
{
	struct guard *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stopping) {
		struct timespec ts;
		double t = now();

		for (struct gconn *k = g->head; k; k = k->next) {
			double limit = deadline_s(g, k);

			if (limit > 0 && !k->shut && t - k->since > limit) {
				shutdown(k->fd, SHUT_RDWR);
				k->shut = true;
				strata_metric_add(g->o.timed_out, 1);
			}
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&g->stop_cv, &g->lock, &ts);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int guard_start(const struct guard_opts *opts, struct guard **out)
{
	struct guard *g = calloc(1, sizeof(*g));
	int e;

	if (!g)
		return -ENOMEM;
	g->o = *opts;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->stop_cv, NULL);
	if ((e = pthread_create(&g->watchdog, NULL, watch, g))) {
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->stop_cv);
		free(g);
		return -e;
	}
	*out = g;
	return 0;
}

void guard_stop(struct guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->lock);
	g->stopping = true;
	pthread_cond_signal(&g->stop_cv);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->watchdog, NULL);
	while (g->head) { /* connections libmicrohttpd never reported closed */
		struct gconn *k = g->head;

		g->head = k->next;
		free(k);
	}
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->stop_cv);
	free(g);
}

void guard_notify(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct guard *g = cls;
	struct gconn *k = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (!ci || !(k = calloc(1, sizeof(*k))))
			return; /* unguarded: the limit and deadlines do not see it */
		k->fd = ci->connect_fd;
		k->phase = GUARD_HEADER;
		k->first = true;
		k->since = now();
		pthread_mutex_lock(&g->lock);
		k->over_limit = g->open >= g->o.max_conns;
		g->open++;
		strata_metric_set(g->o.open, g->open);
		if (k->over_limit)
			strata_metric_add(g->o.refused, 1);
		k->next = g->head;
		if (g->head)
			g->head->prev = k;
		g->head = k;
		pthread_mutex_unlock(&g->lock);
		*socket_context = k;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED && k) {
		pthread_mutex_lock(&g->lock);
		if (k->prev)
			k->prev->next = k->next;
		else
			g->head = k->next;
		if (k->next)
			k->next->prev = k->prev;
		g->open--;
		strata_metric_set(g->o.open, g->open);
		pthread_mutex_unlock(&g->lock);
		free(k);
		*socket_context = NULL;
	}
}

static struct gconn *of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void guard_phase(struct guard *g, struct MHD_Connection *c, enum guard_phase phase)
{
	struct gconn *k = of(c);

	if (!k)
		return;
	pthread_mutex_lock(&g->lock);
	if (phase == GUARD_HEADER && k->phase == GUARD_BUSY)
		k->first = false; /* an answer went out: now it is idle */
	k->phase = phase;
	k->since = now();
	pthread_mutex_unlock(&g->lock);
}

bool guard_over_limit(struct MHD_Connection *c)
{
	struct gconn *k = of(c);

	return k && k->over_limit;
}
