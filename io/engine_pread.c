/* SPDX-License-Identifier: MIT */
/*
 * io/engine_pread.c — the fallback engine: a pool of threads, each doing
 * one pread(2) per chunk.  Used where io_uring is unavailable (old kernel,
 * a seccomp filter, kernel.io_uring_disabled).  Results go back unchanged,
 * short ones included: the load resubmits the remainder, as for io_uring.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include "base/base.h"
#include "io/load_int.h"

#define MAX_THREADS 16

struct job {
	struct st_chunk *c;
	int fd;
	char *dst;
	size_t len;
	uint64_t off;
	int res;
};

struct st_engine {
	pthread_mutex_t lock;
	pthread_cond_t work, done_cv;
	struct job ring[ST_IO_MAX_DEPTH], done[ST_IO_MAX_DEPTH];
	unsigned head, tail, dhead, dtail; /* free-running counters */
	unsigned nthreads;
	bool stop;
	pthread_t threads[MAX_THREADS];
};

static void *worker(void *arg)
{
	struct st_engine *e = arg;

	pthread_mutex_lock(&e->lock);
	for (;;) {
		struct job j;
		ssize_t r;

		while (e->head == e->tail && !e->stop)
			pthread_cond_wait(&e->work, &e->lock);
		if (e->head == e->tail)
			break;
		j = e->ring[e->head++ % ST_IO_MAX_DEPTH];
		pthread_mutex_unlock(&e->lock);
		do
			r = pread(j.fd, j.dst, j.len, (off_t)j.off);
		while (r < 0 && errno == EINTR);
		j.res = r < 0 ? -errno : (int)r;
		pthread_mutex_lock(&e->lock);
		e->done[e->dtail++ % ST_IO_MAX_DEPTH] = j;
		pthread_cond_signal(&e->done_cv);
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

static void destroy(struct st_engine *e)
{
	unsigned i;

	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_broadcast(&e->work);
	pthread_mutex_unlock(&e->lock);
	for (i = 0; i < e->nthreads; i++)
		pthread_join(e->threads[i], NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->work);
	pthread_cond_destroy(&e->done_cv);
	st_free(e);
}

static int create(struct st_engine **out, unsigned depth, const struct st_io_file *files, unsigned nfiles)
{
	struct st_engine *e = st_calloc(1, sizeof(*e));
	unsigned i, n = ST_MIN(ST_MAX(depth, 1u), (unsigned)MAX_THREADS);

	(void)files;
	(void)nfiles;
	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->work, NULL);
	pthread_cond_init(&e->done_cv, NULL);
	for (i = 0; i < n; i++) {
		if (pthread_create(&e->threads[i], NULL, worker, e))
			break;
		e->nthreads++;
	}
	if (!e->nthreads) {
		destroy(e);
		return -EAGAIN;
	}
	*out = e;
	return 0;
}

static int reg(struct st_engine *e, unsigned slot, void *base, size_t len)
{
	(void)e, (void)slot, (void)base, (void)len;
	return -EOPNOTSUPP;
}

static void unreg(struct st_engine *e, unsigned slot)
{
	(void)e, (void)slot;
}

static int submit(struct st_engine *e, struct st_chunk *c, const struct st_io_file *f, char *dst)
{
	struct job j = { .c = c,
			 .fd = c->direct ? f->fd_direct : f->fd_buffered,
			 .dst = dst + c->done,
			 .len = c->len - c->done,
			 .off = c->off + c->done };

	pthread_mutex_lock(&e->lock);
	e->ring[e->tail++ % ST_IO_MAX_DEPTH] = j;
	pthread_cond_signal(&e->work);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

static int flush(struct st_engine *e)
{
	(void)e;
	return 0;
}

static int wait_one(struct st_engine *e, struct st_chunk **c, int *res)
{
	pthread_mutex_lock(&e->lock);
	while (e->dhead == e->dtail)
		pthread_cond_wait(&e->done_cv, &e->lock);
	*c = e->done[e->dhead % ST_IO_MAX_DEPTH].c;
	*res = e->done[e->dhead % ST_IO_MAX_DEPTH].res;
	e->dhead++;
	pthread_mutex_unlock(&e->lock);
	return 0;
}

const struct st_engine_ops st_engine_pread = {
	.name = "pread",
	.create = create,
	.register_buffer = reg,
	.unregister_buffer = unreg,
	.submit = submit,
	.flush = flush,
	.wait = wait_one,
	.destroy = destroy,
};
