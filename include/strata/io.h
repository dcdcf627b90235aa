/* SPDX-License-Identifier: MIT */
/*
 * strata/io.h — model files and the prefetch engine.
 *
 * A model is one or more files (safetensors, sharded safetensors with its
 * index, GGUF v3, or raw files with a layout the caller gives) whose
 * headers have been validated strictly; nothing but headers is read when it
 * is opened.  A load streams a chosen set of its tensors into a pool with
 * io_uring (or a thread pool of pread calls where io_uring is unavailable)
 * and reports each tensor as soon as its bytes are in memory, so compute
 * can start on the first layer while later ones are still on disk.
 */
#ifndef STRATA_IO_H
#define STRATA_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strata/common.h>
#include <strata/dtype.h> /* enum strata_dtype, STRATA_MAX_DIMS */

#ifdef __cplusplus
extern "C" {
#endif

struct strata_pool;
struct strata_model;
struct strata_load;

/* ---- models --------------------------------------------------------------- */

enum strata_format {
	STRATA_FORMAT_AUTO = 0, /* GGUF by magic, safetensors by header, index by ".json" */
	STRATA_FORMAT_SAFETENSORS,
	STRATA_FORMAT_GGUF,
	STRATA_FORMAT_RAW, /* needs strata_model_opts.raw */
};

/* One tensor of an opened model.  Shapes are row-major, outermost first
 * (a GGUF tensor's ne[] is reversed into this order). */
struct strata_tensor_info {
	const char *name; /* valid until strata_model_close() */
	enum strata_dtype dtype;
	uint32_t ndim;
	uint64_t shape[STRATA_MAX_DIMS];
	uint32_t file; /* index into the paths the model was opened with (shards: in index order) */
	uint64_t offset; /* absolute byte offset in that file */
	uint64_t bytes;
};

/* A tensor of a raw file, placed by the caller. */
struct strata_raw_tensor {
	const char *name;
	enum strata_dtype dtype;
	uint32_t ndim;
	uint64_t shape[STRATA_MAX_DIMS];
	uint32_t file;
	uint64_t offset;
};

struct strata_model_opts {
	size_t sz;
	enum strata_format format;
	const struct strata_raw_tensor *raw; /* STRATA_FORMAT_RAW: the layout */
	size_t nraw;
	/* Receives a sentence naming the problem and the file offset when the
	 * open fails.  Optional. */
	char *errbuf;
	size_t errlen;
};

#define STRATA_MODEL_OPTS(name_, ...) \
	struct strata_model_opts name_ = { .sz = sizeof(struct strata_model_opts), __VA_ARGS__ }

/*
 * strata_model_open() - open and validate a model.
 * @paths:  @npaths files; for sharded safetensors, the index JSON alone
 *          (the shards are found beside it).
 * @opts:   NULL for defaults (format detected).
 *
 * Every header is validated before anything else is read: bounded lengths,
 * offsets inside the file, sizes equal to elements times type size with
 * overflow checks, no overlaps, unique names.  Every file, shards listed
 * by an index included, must be a regular file: a FIFO, a device, a socket
 * or a directory is refused without the call ever waiting on it.  GGUF
 * version 2 is read as ggml reads it, with a warning through the log
 * callback.
 * Return: 0; -STRATA_EFORMAT (malformed file, or not a regular file: see
 * errbuf); -ENOENT, -EACCES and other errors of open(2); -EINVAL (bad
 * arguments); -ENOMEM.
 */
STRATA_API int strata_model_open(const char *const *paths, unsigned npaths, const struct strata_model_opts *opts,
				 struct strata_model **out);
/* Close a model.  Loads from it must have been destroyed.  NULL is accepted. */
STRATA_API void strata_model_close(struct strata_model *model);

/* strata_model_tensor_count() - how many tensors @model has.
 * Return: the number of tensors (>= 0). */
STRATA_API int64_t strata_model_tensor_count(const struct strata_model *model);
/* strata_model_tensor() - describe tensor @index (0 … count - 1) of @model.
 * Return: 0; -ERANGE for an index past the end. */
STRATA_API int strata_model_tensor(const struct strata_model *model, size_t index, struct strata_tensor_info *out);
/* strata_model_find() - the index of the tensor called @name.
 * Return: 0 and *@index; -ENOENT. */
STRATA_API int strata_model_find(const struct strata_model *model, const char *name, size_t *index);
/* strata_model_format() - the model's format and its number of files.
 * Return: 0. */
STRATA_API int strata_model_format(const struct strata_model *model, enum strata_format *format, unsigned *nfiles);
/* strata_model_file_path() - the path of file @file of @model (valid until
 * strata_model_close()).  Return: 0; -ERANGE. */
STRATA_API int strata_model_file_path(const struct strata_model *model, unsigned file, const char **path);

/* ---- metadata (GGUF key/values; safetensors __metadata__ as strings) ------- */

/* Same numbers as GGUF's value types. */
enum strata_meta_type {
	STRATA_META_U8 = 0,
	STRATA_META_I8 = 1,
	STRATA_META_U16 = 2,
	STRATA_META_I16 = 3,
	STRATA_META_U32 = 4,
	STRATA_META_I32 = 5,
	STRATA_META_F32 = 6,
	STRATA_META_BOOL = 7,
	STRATA_META_STRING = 8,
	STRATA_META_ARRAY = 9,
	STRATA_META_U64 = 10,
	STRATA_META_I64 = 11,
	STRATA_META_F64 = 12,
};

struct strata_meta {
	const char *key;
	enum strata_meta_type type;
	enum strata_meta_type elem_type; /* arrays */
	uint64_t count; /* arrays: elements; strings: bytes */
	union {
		uint64_t u; /* unsigned integers and bool */
		int64_t i; /* signed integers */
		double f; /* F32 and F64 */
		const char *str; /* STRING: @count bytes, not NUL-terminated */
	} v;
	const void *opaque; /* arrays: read with strata_meta_array_*() */
};

/* strata_model_meta_count() - how many metadata entries @model has.
 * Return: the number of entries (>= 0). */
STRATA_API int64_t strata_model_meta_count(const struct strata_model *model);
/* strata_model_meta() - metadata entry @index (0 … count - 1) of @model.
 * Return: 0; -ERANGE. */
STRATA_API int strata_model_meta(const struct strata_model *model, size_t index, struct strata_meta *out);
/* strata_model_meta_find() - the metadata entry with key @key.
 * Return: 0; -ENOENT. */
STRATA_API int strata_model_meta_find(const struct strata_model *model, const char *key, struct strata_meta *out);
/* strata_meta_array_string() - element @i of a string array.
 * Return: 0; -EINVAL (not a string array); -ERANGE. */
STRATA_API int strata_meta_array_string(const struct strata_meta *meta, uint64_t i, const char **str, uint64_t *len);
/* strata_meta_array_number() - element @i of a numeric or bool array,
 * converted.  Return: 0; -EINVAL; -ERANGE. */
STRATA_API int strata_meta_array_number(const struct strata_meta *meta, uint64_t i, double *out);

/* ---- loads -------------------------------------------------------------------- */

enum strata_io_engine {
	STRATA_IO_AUTO = 0, /* io_uring when the probe at start succeeds, else pread */
	STRATA_IO_URING,
	STRATA_IO_PREAD,
};

enum strata_io_direct {
	STRATA_DIRECT_AUTO = 0, /* O_DIRECT unless most of the file is in the page cache */
	STRATA_DIRECT_ON, /* O_DIRECT wherever the filesystem allows it */
	STRATA_DIRECT_OFF,
};

/* Called once per tensor from an I/O thread: @status is 0 (bytes in
 * memory), or a negative errno (-EIO, -ENOMEM, -ECANCELED, -STRATA_ESTALE
 * when the file shrank during the load).  Must not block for long. */
typedef void (*strata_tensor_ready_fn)(void *user, size_t tensor, int status);

struct strata_load_opts {
	size_t sz;
	struct strata_pool *pool; /* destination (host memory); required */
	const size_t *tensors; /* tensor indexes to load; NULL: all */
	size_t ntensors;
	/* Per entry of @tensors (or per tensor of the model): lower loads
	 * first.  NULL: layer order ("blk.N." / "layers.N." in names), then
	 * file order. */
	const int32_t *priority;
	enum strata_io_engine engine;
	enum strata_io_direct direct;
	/* Most bytes of loaded tensors held at once; the load waits for
	 * strata_load_release() beyond it.  0: no limit. */
	uint64_t budget_bytes;
	uint32_t chunk_bytes; /* read size; 0: tuned by measurement during the load */
	uint32_t queue_depth; /* reads in flight; 0: tuned */
	strata_tensor_ready_fn on_ready;
	void *user;
};

#define STRATA_LOAD_OPTS(name_, ...) \
	struct strata_load_opts name_ = { .sz = sizeof(struct strata_load_opts), __VA_ARGS__ }

/*
 * strata_load_start() - start streaming tensors of @model into a pool.
 * Return: 0; -EINVAL (bad options, a tensor larger than the budget);
 * -ENOSYS (STRATA_IO_URING asked for and io_uring unusable); -STRATA_ESTALE
 * (a file is shorter than its header says); -ENOMEM.
 */
STRATA_API int strata_load_start(struct strata_model *model, const struct strata_load_opts *opts,
				 struct strata_load **out);

/*
 * strata_load_wait_tensor() - wait until tensor @tensor (a model index) is
 * ready or failed.  @timeout_ms: -1 waits forever.
 * Return: the tensor's status (0 ready, negative errno failed); -ETIMEDOUT;
 * -ENOENT for a tensor not in this load.
 */
STRATA_API int strata_load_wait_tensor(struct strata_load *load, size_t tensor, int timeout_ms);
/* Wait for every tensor.  Return: 0, the first tensor error, or -ETIMEDOUT. */
STRATA_API int strata_load_wait(struct strata_load *load, int timeout_ms);
/* Where a ready tensor's bytes are.  Return: 0; -EAGAIN (not ready yet);
 * -ENOENT; the tensor's error. */
STRATA_API int strata_load_tensor_data(struct strata_load *load, size_t tensor, void **data);
/* Give a ready tensor's memory back (it counts against the budget until
 * then; its pointer becomes invalid).  Return: 0; -ENOENT; -EALREADY. */
STRATA_API int strata_load_release(struct strata_load *load, size_t tensor);
/* Stop issuing reads; tensors not yet ready fail with -ECANCELED.  Return: 0. */
STRATA_API int strata_load_cancel(struct strata_load *load);

/* A load's figures.  The struct can grow: set .sz = sizeof(struct
 * strata_load_stats) before the call, and the library fills only the
 * fields both sides know. */
struct strata_load_stats {
	size_t sz;
	enum strata_io_engine engine; /* the one in use */
	uint32_t files_direct, files_buffered;
	uint64_t tensors, tensors_ready, tensors_failed;
	uint64_t bytes, bytes_read; /* tensor bytes; bytes read (aligned supersets) */
	uint64_t reads, short_reads, resubmits;
	uint32_t direct_refused; /* files switched to buffered reads by an EINVAL */
	uint32_t chunk_bytes, queue_depth; /* in use at the end (after tuning) */
	uint32_t max_in_flight;
	uint64_t peak_held_bytes; /* most destination bytes held at once */
	bool fixed_buffers, fixed_files; /* io_uring registrations in use */
	double seconds; /* start to last completion (or now) */
	double gbps; /* bytes_read / seconds, 1e9 bytes */
	double first_tensor_seconds;
};

/*
 * strata_load_stats() - how @load is going, or how it went.
 * @out: its @sz set by the caller (sizeof(struct strata_load_stats)); the
 *       fields that fit in @sz are written, the rest left alone.
 * Return: 0; -EINVAL (NULL arguments, or @out->sz smaller than the @sz
 * field itself).
 * Thread safety: any thread, until strata_load_destroy().
 */
STRATA_API int strata_load_stats(struct strata_load *load, struct strata_load_stats *out);
/* Cancel if running, wait for reads in flight, free tensor memory.  NULL is
 * accepted. */
STRATA_API void strata_load_destroy(struct strata_load *load);

/* strata_io_engine_name() - the name of @engine: "io_uring", "pread",
 * "auto"; a static string. */
STRATA_API const char *strata_io_engine_name(enum strata_io_engine engine);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_IO_H */
