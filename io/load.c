/* SPDX-License-Identifier: MIT */
/*
 * io/load.c — a load: tensors of a model streamed into destination memory.
 *
 * The chosen tensors are put in load order (priority, then file order) and
 * grouped into extents: runs of tensors adjacent in one file, read as one
 * aligned range into one destination buffer, each tensor pointing inside
 * it (no copy when the data is not 4 KiB aligned).  One thread per load
 * issues chunk-sized reads, up to the queue depth in flight, extent after
 * extent; a new extent's buffer is taken only while the bytes held stay
 * within the budget, so a load streams in windows when the consumer
 * releases tensors behind it.
 *
 * Every completion is treated as possibly short: the rest is issued again
 * (for O_DIRECT from the last aligned offset; a remainder smaller than the
 * alignment is finished through the page cache), and a read of 0 bytes is
 * the end of the file — a file that ends before its tensors do fails them
 * with -STRATA_ESTALE.  EINVAL on an O_DIRECT read switches the file to
 * buffered reads.  A tensor is ready when the last read covering it
 * completes; its callback runs then, on the load's thread.
 *
 * Chunk size and queue depth, unless the caller fixes them, are tuned by
 * measurement during the first part of a large load.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "io/load_int.h"

int (*st_io_complete_hook)(uint32_t file, uint64_t off, uint32_t len, bool direct, int res);

#define DEFAULT_CHUNK (1u << 20)
#define DEFAULT_DEPTH 16u
#define EXTENT_MAX (64ULL << 20)
#define COALESCE_GAP (64u << 10) /* read through gaps up to this size */
#define TUNE_MIN_BYTES (256ULL << 20)

static const struct {
	uint32_t chunk, depth;
} tune_steps[] = { { 1u << 20, 16 }, { 2u << 20, 16 }, { 4u << 20, 8 }, { 4u << 20, 16 }, { 8u << 20, 8 }, { 8u << 20, 16 } };
#define NSTEPS (sizeof(tune_steps) / sizeof(tune_steps[0]))
_Static_assert(NSTEPS == ST_LOAD_TUNE_STEPS, "the load keeps a rate per tuning step");


double st_load_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- order and extents -------------------------------------------------------- */

int32_t st_io_layer_priority(const char *name)
{
	static const char *const marks[] = { "blk.", "layers.", "layer.", "h.", "block.", "blocks." };
	size_t i;

	for (i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		const char *p = name;

		while ((p = strstr(p, marks[i]))) {
			const char *d = p + strlen(marks[i]);
			long n = 0;

			if ((p == name || p[-1] == '.') && *d >= '0' && *d <= '9') {
				while (*d >= '0' && *d <= '9' && n < 1000000)
					n = n * 10 + (*d++ - '0');
				if (*d == '.' || *d == '\0')
					return (int32_t)n;
			}
			p++;
		}
	}
	/* No layer: embeddings first, everything else (final norm, head) last. */
	return strstr(name, "embd") || strstr(name, "embed") || strstr(name, "wte") ? -1 : INT32_MAX;
}

static int order_cmp(const void *a, const void *b)
{
	const struct st_ltensor *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int make_extents(struct strata_load *l)
{
	uint64_t cap = l->cfg.budget ? ST_MIN(EXTENT_MAX, l->cfg.budget / 2) : EXTENT_MAX;
	size_t i, n = 0;

	l->ext = st_calloc(l->nt ? l->nt : 1, sizeof(*l->ext));
	if (!l->ext)
		return -ENOMEM;
	for (i = 0; i < l->nt; i++) {
		struct st_ltensor *t = &l->t[i];
		uint32_t align = l->files[t->file].align;
		uint64_t start = t->offset / align * align, end = t->offset + t->bytes;
		struct st_extent *e = n ? &l->ext[n - 1] : NULL;

		end = (end + align - 1) / align * align;
		/* Join the previous extent when this tensor follows it closely in
		 * the same file and the extent stays within its size cap. */
		if (e && e->file == t->file && start >= e->off && start <= e->off + e->len + COALESCE_GAP &&
		    t->offset >= e->need_end && ST_MAX(end, e->off + e->len) - e->off <= cap) {
			e->len = ST_MAX(end, e->off + e->len) - e->off;
			e->need_end = t->offset + t->bytes;
			e->count++;
		} else {
			e = &l->ext[n++];
			*e = (struct st_extent){ .file = t->file, .off = start, .len = end - start,
						 .need_end = t->offset + t->bytes, .first = i, .count = 1, .slot = -1 };
		}
		t->ext = e;
		e->live++;
	}
	l->next = n;
	return 0;
}

/* ---- tensor completion ---------------------------------------------------------- */

void st_load_free_extent(struct strata_load *l, struct st_extent *e)
{
	unsigned s;

	if (!e->buf)
		return;
	if (l->eng)
		for (s = 0; s < e->nslots; s++) {
			l->ops->unregister_buffer(l->eng, (unsigned)e->slot + s);
			l->slot_used[e->slot + s] = false;
		}
	e->nslots = 0;
	e->slot = -1;
	l->cfg.dest.free(l->cfg.dest.ctx, e->buf);
	e->buf = NULL;
	pthread_mutex_lock(&l->lock);
	l->held -= e->buf_len;
	pthread_mutex_unlock(&l->lock);
}

static void finish_tensor(struct strata_load *l, struct st_ltensor *t, int status)
{
	struct st_extent *e = t->ext;
	bool free_now;

	pthread_mutex_lock(&l->lock);
	t->status = status;
	if (status == 0) {
		l->pub.tensors_ready++;
		if (!l->t_first)
			l->t_first = st_load_now();
	} else {
		l->pub.tensors_failed++;
		e->live--;
	}
	free_now = e->live == 0 && st_extent_issued(e);
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
	st_io_obs_tensor(t->index, status);
	if (l->cfg.on_ready)
		l->cfg.on_ready(l->cfg.user, t->index, status);
	if (free_now)
		st_load_free_extent(l, e);
}

static void fail_extent(struct strata_load *l, struct st_extent *e, int err)
{
	size_t i;

	for (i = e->first; i < e->first + e->count; i++)
		if (l->t[i].status == 1 && (l->t[i].pending == 0 || l->t[i].bytes == 0))
			finish_tensor(l, &l->t[i], err);
}

/* First tensor of @e whose bytes end after @off. */
static size_t first_overlap(const struct strata_load *l, const struct st_extent *e, uint64_t off)
{
	size_t lo = e->first, hi = e->first + e->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->t[mid].offset + l->t[mid].bytes <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void chunk_done(struct strata_load *l, struct st_chunk *c, int err);

/* The engine refused chunk @c: it and the rest of its extent fail; reads
 * of the extent already in flight still complete (and fail their tensors). */
static void abandon(struct strata_load *l, struct st_extent *e, struct st_chunk *c, int err)
{
	size_t i;

	for (i = first_overlap(l, e, c->off); i < e->first + e->count; i++)
		if (!l->t[i].err)
			l->t[i].err = err;
	e->next = e->off + e->len;
	chunk_done(l, c, err);
	fail_extent(l, e, err);
}

/* ---- issuing --------------------------------------------------------------------- */

static int start_extent(struct strata_load *l, struct st_extent *e)
{
	size_t align = l->files[e->file].align, i;
	unsigned s, need;
	int err;

	err = l->cfg.dest.alloc(l->cfg.dest.ctx, e->len ? e->len : align, ST_MAX(align, (size_t)4096), (void **)&e->buf);
	if (err)
		return err;
	e->buf_len = e->len ? e->len : align;
	pthread_mutex_lock(&l->lock);
	l->held += e->buf_len;
	if (l->held > l->pub.peak_held_bytes)
		l->pub.peak_held_bytes = l->held;
	pthread_mutex_unlock(&l->lock);
	/* Register the buffer in slices of at most 1 GiB, in consecutive slots. */
	need = (unsigned)((e->buf_len + ST_IO_SLICE - 1) / ST_IO_SLICE);
	for (s = 0; s + need <= ST_IO_MAX_SLOTS; s++) {
		unsigned k;

		for (k = 0; k < need && !l->slot_used[s + k]; k++)
			;
		if (k == need)
			break;
	}
	if (s + need <= ST_IO_MAX_SLOTS) {
		unsigned k;

		for (k = 0; k < need; k++) {
			uint64_t at = (uint64_t)k * ST_IO_SLICE;

			if (l->ops->register_buffer(l->eng, s + k, e->buf + at, ST_MIN(ST_IO_SLICE, e->buf_len - at)))
				break;
			l->slot_used[s + k] = true;
		}
		if (k == need) {
			e->slot = (int)s;
			e->nslots = need;
			l->stats.fixed_buffers = true;
		} else {
			while (k--) {
				l->ops->unregister_buffer(l->eng, s + k);
				l->slot_used[s + k] = false;
			}
		}
	}
	e->next = e->off;
	/* Empty tensors are ready as soon as their extent has memory. */
	for (i = e->first; i < e->first + e->count; i++)
		if (l->t[i].bytes == 0)
			finish_tensor(l, &l->t[i], 0);
	return 0;
}

static void issue_chunk(struct strata_load *l, struct st_extent *e, struct st_chunk *c)
{
	struct st_io_file *f = &l->files[e->file];
	uint64_t rel = e->next - e->off, slice_end = (rel / ST_IO_SLICE + 1) * ST_IO_SLICE;
	uint64_t len = ST_MIN((uint64_t)l->chunk_bytes, e->len - rel);
	size_t i;
	int err;

	len = ST_MIN(len, slice_end - rel); /* a read stays inside one registered slice */
	*c = (struct st_chunk){ .ext = e, .off = e->next, .len = (uint32_t)len,
				.need_end = ST_MIN(e->next + len, e->need_end), .direct = f->direct,
				.buf_index = e->slot >= 0 ? e->slot + (int)(rel / ST_IO_SLICE) : -1 };
	e->next += len;
	e->chunks_out++;
	for (i = first_overlap(l, e, c->off); i < e->first + e->count && l->t[i].offset < c->off + c->len; i++)
		l->t[i].pending++;
	l->inflight++;
	l->stats.reads++;
	st_io_obs_submit(&l->live, c, l->inflight);
	err = l->ops->submit(l->eng, c, f, e->buf + (c->off - e->off));
	if (err)
		abandon(l, e, c, err);
}

/* ---- completions ------------------------------------------------------------------- */

static void tune_progress(struct strata_load *l)
{
	double t = st_load_now(), window;
	unsigned best = 0, i;

	if (!l->tuning)
		return;
	window = 2.0 * tune_steps[l->step].chunk * tune_steps[l->step].depth;
	if ((double)(l->bytes_done - l->step_bytes0) < ST_MAX(window, 32.0 * (1 << 20)))
		return;
	l->step_rate[l->step] = (double)(l->bytes_done - l->step_bytes0) / (t - l->step_t0);
	if (++l->step < NSTEPS) {
		l->chunk_bytes = tune_steps[l->step].chunk;
		l->depth = tune_steps[l->step].depth;
	} else {
		for (i = 1; i < NSTEPS; i++)
			if (l->step_rate[i] > l->step_rate[best])
				best = i;
		l->chunk_bytes = tune_steps[best].chunk;
		l->depth = tune_steps[best].depth;
		l->tuning = false;
	}
	l->step_bytes0 = l->bytes_done;
	l->step_t0 = t;
	atomic_store_explicit(&l->live.depth, l->depth, memory_order_relaxed);
	atomic_store_explicit(&l->live.chunk, l->chunk_bytes, memory_order_relaxed);
}

/* Copy the load thread's figures for readers (under the lock). */
static void publish(struct strata_load *l)
{
	pthread_mutex_lock(&l->lock);
	l->pub.engine = l->stats.engine;
	l->pub.files_direct = l->stats.files_direct;
	l->pub.files_buffered = l->stats.files_buffered;
	l->pub.tensors = l->stats.tensors;
	l->pub.bytes = l->stats.bytes;
	l->pub.bytes_read = l->stats.bytes_read;
	l->pub.reads = l->stats.reads;
	l->pub.short_reads = l->stats.short_reads;
	l->pub.resubmits = l->stats.resubmits;
	l->pub.direct_refused = l->stats.direct_refused;
	l->pub.fixed_buffers = l->stats.fixed_buffers;
	l->pub.fixed_files = l->stats.fixed_files;
	l->pub.chunk_bytes = l->chunk_bytes;
	l->pub.queue_depth = l->depth;
	pthread_mutex_unlock(&l->lock);
}

static void chunk_done(struct strata_load *l, struct st_chunk *c, int err)
{
	struct st_extent *e = c->ext;
	size_t i;

	st_io_obs_chunk_done(c, err);
	e->chunks_out--;
	for (i = first_overlap(l, e, c->off); i < e->first + e->count && l->t[i].offset < c->off + c->len; i++) {
		struct st_ltensor *t = &l->t[i];

		if (t->bytes == 0 || t->status != 1)
			continue;
		if (err && !t->err)
			t->err = err;
		if (--t->pending == 0 && e->next >= t->offset + t->bytes)
			finish_tensor(l, t, t->err);
	}
	c->next_free = l->free_chunks;
	l->free_chunks = c;
	l->inflight--;
	publish(l);
	/* A read of a gap between tensors may be the last to finish after
	 * every tensor was released. */
	if (st_extent_issued(e)) {
		bool idle;

		pthread_mutex_lock(&l->lock);
		idle = e->live == 0;
		pthread_mutex_unlock(&l->lock);
		if (idle)
			st_load_free_extent(l, e);
	}
}

static void completion(struct strata_load *l, struct st_chunk *c, int res)
{
	struct st_io_file *f = &l->files[c->ext->file];
	uint64_t at = c->off + c->done;
	int err = 0;

	if (st_io_complete_hook)
		res = st_io_complete_hook(c->ext->file, at, c->len - c->done, c->direct, res);
	st_io_obs_complete(&l->live, c, l->ops == &st_engine_uring, res,
			   res > 0 && c->done + (uint32_t)res < c->len && at + (uint64_t)res < c->need_end, l->inflight);
	if (res == -EINTR || res == -EAGAIN)
		goto again;
	if (res == -EINVAL && c->direct) {
		/* The filesystem refuses this O_DIRECT read: the file goes buffered. */
		if (f->direct)
			l->stats.direct_refused++;
		f->direct = false;
		c->direct = false;
		goto again;
	}
	if (res < 0) {
		err = res;
	} else if (res == 0) {
		if (at < c->need_end)
			err = -STRATA_ESTALE; /* the file ended early: truncated during the load */
	} else {
		uint32_t adv = (uint32_t)res;

		l->stats.bytes_read += (uint64_t)res;
		l->bytes_done += (uint64_t)res;
		if (c->done + adv < c->len && at + adv < c->need_end) {
			l->stats.short_reads++;
			if (c->direct) {
				uint32_t aligned = adv / f->align * f->align;

				if (aligned == 0)
					c->direct = false; /* finish the unaligned rest buffered */
				else
					adv = aligned;
			}
			c->done += adv;
			goto again;
		}
	}
	tune_progress(l);
	chunk_done(l, c, err);
	return;
again:
	l->stats.resubmits++;
	err = l->ops->submit(l->eng, c, f, c->ext->buf + (c->off - c->ext->off));
	if (err)
		abandon(l, c->ext, c, err);
}

/* ---- the load thread ----------------------------------------------------------------- */

static void process_frees(struct strata_load *l)
{
	for (;;) {
		struct st_extent *e;

		pthread_mutex_lock(&l->lock);
		if (!l->nto_free) {
			pthread_mutex_unlock(&l->lock);
			return;
		}
		e = &l->ext[l->to_free[--l->nto_free]];
		pthread_mutex_unlock(&l->lock);
		st_load_free_extent(l, e);
	}
}

/* Start extents and issue chunks until the queue is full.  Returns true
 * when waiting for budget is what stops it. */
static bool fill(struct strata_load *l, bool *cancelled)
{
	while (l->inflight < l->depth && l->free_chunks) {
		struct st_extent *e;
		struct st_chunk *c;

		pthread_mutex_lock(&l->lock);
		*cancelled = l->cancel;
		pthread_mutex_unlock(&l->lock);
		if (*cancelled)
			return false;
		if (l->issuing == SIZE_MAX) {
			bool over;
			int err;

			if (l->next_ext >= l->next)
				return false;
			e = &l->ext[l->next_ext];
			pthread_mutex_lock(&l->lock);
			over = l->cfg.budget && l->held && l->held + e->len > l->cfg.budget;
			pthread_mutex_unlock(&l->lock);
			if (over)
				return true;
			l->next_ext++;
			err = start_extent(l, e);
			if (err) {
				e->next = e->off + e->len;
				fail_extent(l, e, err);
				continue;
			}
			l->issuing = (size_t)(e - l->ext);
		}
		e = &l->ext[l->issuing];
		if (e->next >= e->off + e->len) {
			l->issuing = SIZE_MAX;
			continue;
		}
		c = l->free_chunks;
		l->free_chunks = c->next_free;
		issue_chunk(l, e, c);
	}
	return false;
}

static void *load_thread(void *arg)
{
	struct strata_load *l = arg;
	bool cancelled = false, broken = false;
	size_t i;

	st_io_obs_load_begin(&l->live);
	if (l->ops->start && l->ops->start(l->eng))
		broken = true;
	while (!broken) {
		bool blocked;

		process_frees(l);
		blocked = fill(l, &cancelled);
		if (l->inflight == 0) {
			if (!blocked)
				break;
			pthread_mutex_lock(&l->lock);
			while (!l->cancel && !l->nto_free && l->held && l->held + l->ext[l->next_ext].len > l->cfg.budget)
				pthread_cond_wait(&l->cv, &l->lock);
			pthread_mutex_unlock(&l->lock);
			continue;
		}
		{
			struct st_chunk *c;
			int res, err;

			err = l->ops->wait(l->eng, &c, &res);
			if (err)
				break; /* the ring itself failed; reported below */
			completion(l, c, res);
		}
	}
	/* Nothing is in flight now: extents cut short count as issued, so
	 * releasing their tensors gives their memory back. */
	for (i = 0; i < l->next; i++)
		l->ext[i].next = l->ext[i].off + l->ext[i].len;
	/* Whatever was not read: cancelled, or an engine failure. */
	for (i = 0; i < l->nt; i++)
		if (l->t[i].status == 1)
			finish_tensor(l, &l->t[i], cancelled ? -ECANCELED : -EIO);
	if (l->ops->fixed_files)
		l->stats.fixed_files = l->ops->fixed_files(l->eng);
	publish(l);
	/* The engine goes now; buffers still held stay with their tensors. */
	for (i = 0; i < l->next; i++)
		if (l->ext[i].nslots) {
			unsigned s;

			for (s = 0; s < l->ext[i].nslots; s++)
				l->ops->unregister_buffer(l->eng, (unsigned)l->ext[i].slot + s);
			l->ext[i].nslots = 0;
		}
	l->ops->destroy(l->eng);
	st_io_obs_load_end(&l->live);
	pthread_mutex_lock(&l->lock);
	l->eng = NULL;
	l->finished = true;
	l->t_end = st_load_now();
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->lock);
	process_frees(l);
	return NULL;
}

/* ---- start ---------------------------------------------------------------------------- */

void st_load_free(struct strata_load *l)
{
	size_t i;

	if (l->ext)
		for (i = 0; i < l->next; i++)
			if (l->ext[i].buf)
				l->cfg.dest.free(l->cfg.dest.ctx, l->ext[i].buf);
	for (i = 0; l->files && i < l->nfiles; i++)
		st_io_file_close(&l->files[i]);
	st_free(l->files);
	st_free(l->t);
	st_free(l->pos);
	st_free(l->ext);
	st_free(l->to_free);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cv);
	st_free(l);
}

int st_load_start(struct strata_model *m, const size_t *tensors, size_t ntensors, const int32_t *priority,
		  const struct st_load_cfg *cfg, struct strata_load **out)
{
	struct strata_load *l;
	uint64_t total = 0;
	size_t i;
	int err;

	if (!tensors)
		ntensors = m->ntensors;
	if (ntensors > m->ntensors)
		return -EINVAL; /* more than the model has: some would repeat */
	l = st_calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cv, NULL);
	l->model = m;
	l->cfg = *cfg;
	l->ops = cfg->engine ? cfg->engine : &st_engine_uring;
	l->issuing = SIZE_MAX;
	l->nfiles = m->nfiles;
	l->files = st_calloc(m->nfiles, sizeof(*l->files));
	l->t = st_calloc(ntensors ? ntensors : 1, sizeof(*l->t));
	l->pos = st_malloc((m->ntensors ? m->ntensors : 1) * sizeof(size_t));
	l->to_free = st_malloc((ntensors ? ntensors : 1) * sizeof(size_t));
	for (i = 0; l->files && i < m->nfiles; i++)
		l->files[i].fd_direct = -1; /* before anything can fail: load_free closes them */
	err = l->files && l->t && l->pos && l->to_free ? 0 : -ENOMEM;
	for (i = 0; !err && i < m->nfiles; i++)
		err = st_io_file_open(&m->files[i], cfg->direct, &l->files[i]);
	for (i = 0; !err && i < m->ntensors; i++)
		l->pos[i] = SIZE_MAX;
	for (i = 0; !err && i < ntensors; i++) {
		size_t idx = tensors ? tensors[i] : i;
		const struct strata_tensor_info *ti;

		if (idx >= m->ntensors || l->pos[idx] != SIZE_MAX) {
			err = -EINVAL; /* out of range, or listed twice */
			break;
		}
		l->pos[idx] = 0;
		ti = &m->tensors[idx];
		l->t[i] = (struct st_ltensor){ .index = idx, .file = ti->file, .offset = ti->offset, .bytes = ti->bytes,
					       .priority = priority ? priority[i] : st_io_layer_priority(ti->name),
					       .status = 1 };
		total += ti->bytes;
	}
	l->nt = ntensors;
	if (!err) {
		qsort(l->t, l->nt, sizeof(*l->t), order_cmp);
		for (i = 0; i < l->nt; i++)
			l->pos[l->t[i].index] = i;
		err = make_extents(l);
	}
	for (i = 0; !err && i < l->next; i++)
		if (cfg->budget && l->ext[i].len > cfg->budget)
			err = -EINVAL; /* a tensor larger than the budget can never load */
	if (!err) {
		for (i = 0; i < ST_IO_MAX_DEPTH; i++) {
			l->chunks[i].next_free = l->free_chunks;
			l->free_chunks = &l->chunks[i];
		}
		l->chunk_bytes = cfg->chunk_bytes ? cfg->chunk_bytes : DEFAULT_CHUNK;
		l->depth = ST_MIN(cfg->queue_depth ? cfg->queue_depth : DEFAULT_DEPTH, (uint32_t)ST_IO_MAX_DEPTH);
		l->tuning = !cfg->chunk_bytes && !cfg->queue_depth && total >= TUNE_MIN_BYTES;
		if (l->tuning) {
			l->chunk_bytes = tune_steps[0].chunk;
			l->depth = tune_steps[0].depth;
		}
		l->chunk_bytes = (uint32_t)ST_MAX(l->chunk_bytes / 4096 * 4096, 4096u);
		atomic_store(&l->live.depth, l->depth);
		atomic_store(&l->live.chunk, l->chunk_bytes);
		err = l->ops->create(&l->eng, ST_IO_MAX_DEPTH, l->files, l->nfiles);
		if (err && !cfg->engine) {
			/* Automatic choice: io_uring failed to set up (ENOSYS on an old
			 * kernel, EPERM from seccomp or kernel.io_uring_disabled). */
			l->uring_err = err;
			l->ops = &st_engine_pread;
			err = l->ops->create(&l->eng, ST_IO_MAX_DEPTH, l->files, l->nfiles);
		}
	}
	if (err) {
		st_load_free(l);
		return err;
	}
	l->stats.engine = l->ops == &st_engine_uring ? STRATA_IO_URING : STRATA_IO_PREAD;
	for (i = 0; i < l->nfiles; i++) {
		if (l->files[i].direct)
			l->stats.files_direct++;
		else
			l->stats.files_buffered++;
	}
	l->stats.tensors = l->nt;
	l->stats.bytes = total;
	l->pub.tensors_ready = l->pub.tensors_failed = 0;
	publish(l);
	l->t_start = l->step_t0 = st_load_now();
	err = pthread_create(&l->thread, NULL, load_thread, l);
	if (err) {
		l->ops->destroy(l->eng);
		st_load_free(l);
		return -err;
	}
	l->thread_started = true;
	*out = l;
	return 0;
}
