/* SPDX-License-Identifier: MIT */
/*
 * io/load_api.c — the public side of a load: waiting for tensors, their
 * memory, releasing them, cancelling, statistics and destruction.  These
 * run on the caller's threads, under the load's lock; io/load.c is the
 * load's own thread.
 */
#include <errno.h>
#include <time.h>

#include "base/base.h"
#include "io/load_int.h"

static struct st_ltensor *find(struct strata_load *l, size_t tensor)
{
	if (!l || tensor >= l->model->ntensors || l->pos[tensor] == SIZE_MAX)
		return NULL;
	return &l->t[l->pos[tensor]];
}

static void deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int strata_load_wait_tensor(struct strata_load *l, size_t tensor, int timeout_ms)
{
	struct st_ltensor *t = find(l, tensor);
	struct timespec ts;
	int status;

	if (!t)
		return l ? -ENOENT : -EINVAL;
	deadline(&ts, timeout_ms < 0 ? 0 : timeout_ms);
	pthread_mutex_lock(&l->lock);
	while (t->status == 1)
		if (timeout_ms < 0)
			pthread_cond_wait(&l->cv, &l->lock);
		else if (pthread_cond_timedwait(&l->cv, &l->lock, &ts) == ETIMEDOUT && t->status == 1)
			break;
	status = t->status == 1 ? -ETIMEDOUT : t->status;
	pthread_mutex_unlock(&l->lock);
	return status;
}

int strata_load_wait(struct strata_load *l, int timeout_ms)
{
	struct timespec ts;
	int err = 0;
	size_t i;

	if (!l)
		return -EINVAL;
	deadline(&ts, timeout_ms < 0 ? 0 : timeout_ms);
	pthread_mutex_lock(&l->lock);
	while (!l->finished)
		if (timeout_ms < 0)
			pthread_cond_wait(&l->cv, &l->lock);
		else if (pthread_cond_timedwait(&l->cv, &l->lock, &ts) == ETIMEDOUT && !l->finished)
			break;
	if (!l->finished)
		err = -ETIMEDOUT;
	for (i = 0; !err && i < l->nt; i++)
		if (l->t[i].status < 0)
			err = l->t[i].status;
	pthread_mutex_unlock(&l->lock);
	return err;
}

int strata_load_tensor_data(struct strata_load *l, size_t tensor, void **data)
{
	struct st_ltensor *t = find(l, tensor);
	int err = 0;

	if (!t || !data)
		return !l || !data ? -EINVAL : -ENOENT;
	pthread_mutex_lock(&l->lock);
	if (t->status == 1)
		err = -EAGAIN;
	else if (t->status < 0)
		err = t->status;
	else if (t->released)
		err = -EALREADY;
	else
		*data = t->ext->buf + (t->offset - t->ext->off);
	pthread_mutex_unlock(&l->lock);
	return err;
}

int strata_load_release(struct strata_load *l, size_t tensor)
{
	struct st_ltensor *t = find(l, tensor);
	struct st_extent *e;
	bool free_here = false;
	int err = 0;

	if (!t)
		return l ? -ENOENT : -EINVAL;
	e = t->ext;
	pthread_mutex_lock(&l->lock);
	if (t->status == 1)
		err = -EAGAIN;
	else if (t->status < 0)
		err = t->status;
	else if (t->released)
		err = -EALREADY;
	if (!err) {
		t->released = true;
		if (--e->live == 0 && st_extent_issued(e)) {
			if (l->finished)
				free_here = true;
			else
				l->to_free[l->nto_free++] = (size_t)(e - l->ext);
			pthread_cond_broadcast(&l->cv);
		}
	}
	pthread_mutex_unlock(&l->lock);
	if (free_here)
		st_load_free_extent(l, e);
	return err;
}

int strata_load_cancel(struct strata_load *l)
{
	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	l->cancel = true;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int st_load_uring_error(const struct strata_load *l)
{
	return l->uring_err;
}

/* The figures are made whole here and copied out as far as the caller's
 * sz reaches, so a program built against an older, shorter struct gets
 * what it knows of and nothing is written past its end. */
int strata_load_stats(struct strata_load *l, struct strata_load_stats *out)
{
	struct strata_load_stats s;

	if (!l || !out)
		return -EINVAL;
	pthread_mutex_lock(&l->lock);
	s = l->pub;
	s.seconds = (l->finished ? l->t_end : st_load_now()) - l->t_start;
	s.first_tensor_seconds = l->t_first ? l->t_first - l->t_start : 0;
	pthread_mutex_unlock(&l->lock);
	s.sz = sizeof(s);
	s.max_in_flight = s.queue_depth;
	s.gbps = s.seconds > 0 ? (double)s.bytes_read / s.seconds / 1e9 : 0;
	return st_copy_out(out, &s, sizeof(s));
}

void strata_load_destroy(struct strata_load *l)
{
	if (!l)
		return;
	strata_load_cancel(l);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	st_load_free(l);
}

const char *strata_io_engine_name(enum strata_io_engine engine)
{
	switch (engine) {
	case STRATA_IO_URING:
		return "io_uring";
	case STRATA_IO_PREAD:
		return "pread";
	default:
		return "auto";
	}
}
