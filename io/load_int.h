/* SPDX-License-Identifier: MIT */
/*
 * io/load_int.h — the insides of a load: tensors, extents (one destination
 * buffer per run of adjacent tensors), chunks (one read each) and the
 * engines that carry the reads out.
 */
#ifndef STRATA_IO_LOAD_INT_H
#define STRATA_IO_LOAD_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "io/io_int.h"

#define ST_IO_MAX_DEPTH 128
#define ST_IO_SLICE (1ULL << 30) /* io_uring registers at most 1 GiB per buffer */
#define ST_IO_MAX_SLOTS 64

/* Where destination memory comes from; core/ fills it from a pool.  The
 * memory must be resident (populated) when alloc returns. */
struct st_io_dest {
	void *ctx;
	int (*alloc)(void *ctx, size_t bytes, size_t align, void **out);
	void (*free)(void *ctx, void *ptr);
};

/* Per file, decided when the load starts. */
struct st_io_file {
	int fd_buffered, fd_direct; /* fd_direct -1 when not in use */
	bool direct; /* reads go to fd_direct */
	uint32_t align; /* offset and length alignment of reads */
	double resident; /* fraction of the data in the page cache at start */
};

struct st_extent;

struct st_ltensor {
	size_t index; /* in the model */
	uint32_t file;
	uint64_t offset, bytes;
	int32_t priority;
	struct st_extent *ext;
	unsigned pending; /* chunks still to complete */
	int err; /* first error of a read covering it */
	int status; /* 1: not yet; 0: ready; < 0: failed */
	bool released;
};

struct st_extent {
	uint32_t file;
	uint64_t off, len; /* aligned file range */
	uint64_t need_end; /* bytes up to here must exist in the file */
	size_t first, count; /* tensors in load order */
	char *buf;
	uint64_t buf_len;
	int slot; /* first registered-buffer slot, -1 if none */
	unsigned nslots;
	unsigned live; /* tensors not yet released */
	uint64_t next; /* offset of the next chunk to issue */
	unsigned chunks_out;
};

struct st_chunk {
	struct st_extent *ext;
	double t_submit; /* for the read-latency histogram */
	uint64_t flow; /* trace flow id: submission to completion */
	uint64_t off; /* file offset of the chunk */
	uint32_t len, done;
	uint64_t need_end;
	bool direct;
	int buf_index; /* registered buffer or -1 */
	struct st_chunk *next_free;
};

/* An engine: reads chunks asynchronously and hands back completions. */
struct st_engine;
struct st_engine_ops {
	const char *name;
	int (*create)(struct st_engine **out, unsigned depth, const struct st_io_file *files, unsigned nfiles);
	/* Called on the thread that will submit, before anything else; NULL: nothing to do. */
	int (*start)(struct st_engine *e);
	/* Register [base, base+len) (<= 1 GiB) as buffer @slot: -EOPNOTSUPP where
	 * the engine has no such thing. */
	int (*register_buffer)(struct st_engine *e, unsigned slot, void *base, size_t len);
	void (*unregister_buffer)(struct st_engine *e, unsigned slot);
	/* Queue the unread rest of @c; flush() sends what is queued. */
	int (*submit)(struct st_engine *e, struct st_chunk *c, const struct st_io_file *f, char *dst);
	int (*flush)(struct st_engine *e);
	/* Block for one completion: its chunk and result (bytes or -errno). */
	int (*wait)(struct st_engine *e, struct st_chunk **c, int *res);
	void (*destroy)(struct st_engine *e);
	bool (*fixed_files)(struct st_engine *e); /* NULL: never */
};

extern const struct st_engine_ops st_engine_uring, st_engine_pread;

/* Test hook on the completion path: may change a read's result (a short
 * read, -EIO).  NULL in production. */
extern int (*st_io_complete_hook)(uint32_t file, uint64_t off, uint32_t len, bool direct, int res);

/* Files: choose direct or buffered reads and their alignment. */
int st_io_file_open(const struct st_model_file *mf, enum strata_io_direct mode, struct st_io_file *out);
void st_io_file_close(struct st_io_file *f);
/* Fraction of [off, off+len) of @fd in the page cache (cachestat, else mincore). */
double st_io_resident(int fd, uint64_t off, uint64_t len);

/* Parse a layer number out of a tensor name ("blk.12.", "layers.3."). */
int32_t st_io_layer_priority(const char *name);

struct st_load_cfg {
	const struct st_engine_ops *engine; /* NULL: io_uring, else pread */
	enum strata_io_direct direct;
	struct st_io_dest dest;
	uint64_t budget;
	uint32_t chunk_bytes, queue_depth;
	strata_tensor_ready_fn on_ready;
	void *user;
};

int st_load_start(struct strata_model *m, const size_t *tensors, size_t ntensors, const int32_t *priority,
		  const struct st_load_cfg *cfg, struct strata_load **out);

/* A load in progress, as the metrics collector sees it (io/observe.c). */
struct st_io_live {
	_Atomic uint32_t inflight, depth, chunk;
	struct st_io_live *next;
};

void st_io_obs_load_begin(struct st_io_live *l);
void st_io_obs_load_end(struct st_io_live *l);
void st_io_obs_submit(struct st_io_live *l, struct st_chunk *c, unsigned inflight);
void st_io_obs_complete(struct st_io_live *l, struct st_chunk *c, bool uring, int res, bool is_short,
			unsigned inflight);
void st_io_obs_chunk_done(struct st_chunk *c, int err);
void st_io_obs_tensor(size_t index, int status);

#define ST_LOAD_TUNE_STEPS 6 /* settings the tuner measures (io/load.c) */

/* A load: io/load.c runs its thread, io/load_api.c its public side. */
struct strata_load {
	struct strata_model *model;
	struct st_load_cfg cfg;
	const struct st_engine_ops *ops;
	struct st_engine *eng;
	struct st_io_file *files;
	unsigned nfiles;
	struct st_ltensor *t; /* load order */
	size_t nt;
	size_t *pos; /* model index -> load position, SIZE_MAX if absent */
	struct st_extent *ext;
	size_t next; /* extents started so far */
	size_t next_ext, issuing; /* next extent to start; the one being issued (SIZE_MAX: none) */
	struct st_chunk chunks[ST_IO_MAX_DEPTH], *free_chunks;
	int uring_err; /* why io_uring was not used, when chosen automatically */
	struct st_io_live live; /* for the metrics collector */
	unsigned inflight;
	uint32_t chunk_bytes, depth;
	bool slot_used[ST_IO_MAX_SLOTS];

	/* tuning */
	bool tuning;
	unsigned step;
	uint64_t step_bytes0;
	double step_t0, step_rate[ST_LOAD_TUNE_STEPS];
	uint64_t bytes_done;

	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	pthread_cond_t cv;
	/* under lock */
	bool cancel, finished;
	uint64_t held;
	size_t *to_free; /* extents to free, by the load thread */
	size_t nto_free;
	struct strata_load_stats stats; /* the load thread's own, unlocked */
	struct strata_load_stats pub; /* a copy for strata_load_stats(), under the lock */
	double t_start, t_end, t_first;
};

static inline bool st_extent_issued(const struct st_extent *e)
{
	return e->next >= e->off + e->len && e->chunks_out == 0;
}

double st_load_now(void);
/* Give an extent's buffer back to the destination (and its slots). */
void st_load_free_extent(struct strata_load *l, struct st_extent *e);
/* Free a load whose thread has ended (or never started). */
void st_load_free(struct strata_load *l);

/* Why io_uring was passed over for an automatic choice (0: it was not). */
int st_load_uring_error(const struct strata_load *l);

#endif /* STRATA_IO_LOAD_INT_H */
