/* SPDX-License-Identifier: MIT */
/*
 * io/model.c — opening a model: files, format detection, the checks every
 * format shares (bounds, overlaps, unique names) and the tensor table and
 * metadata getters.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "io/io_int.h"

int st_bad(struct strata_model *m, unsigned file, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (m->errbuf && m->errlen)
		st_fmt(m->errbuf, m->errlen, "%s: at offset %llu: %s",
		       file < m->nfiles && m->files[file].path ? m->files[file].path : "(model)",
		       (unsigned long long)off, msg);
	return -STRATA_EFORMAT;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = st_realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

int st_model_keep(struct strata_model *m, void *blob)
{
	if (grow((void **)&m->blobs, &m->cap_blobs, m->nblobs + 1, sizeof(void *))) {
		st_free(blob);
		return -ENOMEM;
	}
	m->blobs[m->nblobs++] = blob;
	return 0;
}

char *st_model_strndup(struct strata_model *m, const char *s, size_t len)
{
	char *c = st_malloc(len + 1);

	if (!c)
		return NULL;
	memcpy(c, s, len);
	c[len] = '\0';
	return st_model_keep(m, c) ? NULL : c;
}

int st_model_add_tensor(struct strata_model *m, const struct strata_tensor_info *t)
{
	if (m->ntensors >= ST_MAX_TENSORS)
		return st_bad(m, t->file, t->offset, "more than %llu tensors", (unsigned long long)ST_MAX_TENSORS);
	if (grow((void **)&m->tensors, &m->cap_tensors, m->ntensors + 1, sizeof(*t)))
		return -ENOMEM;
	m->tensors[m->ntensors++] = *t;
	return 0;
}

struct st_meta *st_model_add_meta(struct strata_model *m)
{
	if (grow((void **)&m->meta, &m->cap_meta, m->nmeta + 1, sizeof(struct st_meta)))
		return NULL;
	memset(&m->meta[m->nmeta], 0, sizeof(struct st_meta));
	return &m->meta[m->nmeta++];
}

int st_model_pread(struct strata_model *m, unsigned file, void *buf, size_t len, uint64_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(m->files[file].fd, (char *)buf + done, len - done, (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return st_bad(m, file, off + done, "file ends %zu bytes early", len - done);
		done += (size_t)r;
	}
	return 0;
}

static const char *file_kind(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "a FIFO";
	case S_IFDIR:
		return "a directory";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFSOCK:
		return "a socket";
	default:
		return "of another type";
	}
}

/* A model file must be a regular file: a FIFO or a terminal would block
 * open(2) or read(2) for as long as nobody writes, and a device or a
 * directory has no size to check headers against (fstat gives 0 for a
 * block device).  Refused as a format error whose message names the path
 * and what it is. */
static int not_regular(struct strata_model *m, const char *path, mode_t mode)
{
	if (m->errbuf && m->errlen)
		st_fmt(m->errbuf, m->errlen, "%s: is %s, not a regular file", path, file_kind(mode));
	return -STRATA_EFORMAT;
}

int st_model_open_file(struct strata_model *m, unsigned file, const char *path)
{
	struct st_model_file *f = &m->files[file];
	struct stat st;
	int flags;

	f->path = st_strdup(path);
	if (!f->path)
		return -ENOMEM;
	/* stat(2) first: it never blocks, and a socket, which open(2) refuses
	 * with a bare ENXIO, is named for what it is. */
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return not_regular(m, path, st.st_mode);
	/* The path may be replaced between the stat and the open: O_NONBLOCK
	 * keeps open(2) of a FIFO from waiting for a writer (and of a serial
	 * line for its carrier), and the descriptor is checked again. */
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (f->fd < 0)
		return -errno;
	if (fstat(f->fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return not_regular(m, path, st.st_mode);
	/* Plain blocking I/O from here on: the loads read through this
	 * descriptor (pread, io_uring). */
	flags = fcntl(f->fd, F_GETFL);
	if (flags < 0 || fcntl(f->fd, F_SETFL, flags & ~O_NONBLOCK))
		return -errno;
	f->size = (uint64_t)st.st_size;
	return 0;
}

/* ---- checks shared by every format ------------------------------------------ */

static int by_name_cmp(const void *a, const void *b, void *model)
{
	const struct strata_model *m = model;

	return strcmp(m->tensors[*(const size_t *)a].name, m->tensors[*(const size_t *)b].name);
}

static int by_place_cmp(const void *a, const void *b, void *model)
{
	const struct strata_model *m = model;
	const struct strata_tensor_info *x = &m->tensors[*(const size_t *)a];
	const struct strata_tensor_info *y = &m->tensors[*(const size_t *)b];

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

static int check_table(struct strata_model *m)
{
	size_t i, *order;
	int err = 0;

	m->by_name = st_malloc((m->ntensors ? m->ntensors : 1) * sizeof(size_t));
	order = st_malloc((m->ntensors ? m->ntensors : 1) * sizeof(size_t));
	if (!m->by_name || !order) {
		st_free(order);
		return -ENOMEM;
	}
	for (i = 0; i < m->ntensors; i++) {
		const struct strata_tensor_info *t = &m->tensors[i];
		uint64_t end;

		m->by_name[i] = order[i] = i;
		if (__builtin_add_overflow(t->offset, t->bytes, &end) || end > m->files[t->file].size) {
			err = st_bad(m, t->file, t->offset, "tensor '%s' (%llu bytes) ends past the end of the file (%llu bytes)",
				     t->name, (unsigned long long)t->bytes, (unsigned long long)m->files[t->file].size);
			goto out;
		}
	}
	qsort_r(m->by_name, m->ntensors, sizeof(size_t), by_name_cmp, m);
	qsort_r(order, m->ntensors, sizeof(size_t), by_place_cmp, m);
	for (i = 1; i < m->ntensors && !err; i++) {
		const struct strata_tensor_info *a = &m->tensors[m->by_name[i - 1]], *b = &m->tensors[m->by_name[i]];
		const struct strata_tensor_info *p = &m->tensors[order[i - 1]], *q = &m->tensors[order[i]];

		if (strcmp(a->name, b->name) == 0)
			err = st_bad(m, b->file, b->offset, "tensor name '%s' appears twice", b->name);
		else if (p->file == q->file && p->offset + p->bytes > q->offset && p->bytes && q->bytes)
			err = st_bad(m, q->file, q->offset, "tensor '%s' overlaps tensor '%s'", q->name, p->name);
	}
out:
	st_free(order);
	return err;
}

/* ---- open / close -------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int parse_file(struct strata_model *m, unsigned file, enum strata_format format)
{
	unsigned char magic[4];
	int err;

	if (format == STRATA_FORMAT_AUTO) {
		if (m->files[file].size < 4)
			return st_bad(m, file, 0, "file too short (%llu bytes) for any model format",
				      (unsigned long long)m->files[file].size);
		err = st_model_pread(m, file, magic, 4, 0);
		if (err)
			return err;
		format = memcmp(magic, "GGUF", 4) == 0 ? STRATA_FORMAT_GGUF : STRATA_FORMAT_SAFETENSORS;
	}
	if (m->format == STRATA_FORMAT_AUTO)
		m->format = format;
	else if (m->format != format)
		return st_bad(m, file, 0, "files of different formats in one model");
	return format == STRATA_FORMAT_GGUF ? st_gguf_parse(m, file) : st_safetensors_parse(m, file);
}

int strata_model_open(const char *const *paths, unsigned npaths, const struct strata_model_opts *opts,
		      struct strata_model **out)
{
	static const struct strata_model_opts defaults = { .sz = sizeof(defaults) };
	struct strata_model *m;
	unsigned i;
	int err = 0;

	if (!opts)
		opts = &defaults;
	if (!paths || !npaths || !out || !st_opts_valid(opts, sizeof(*opts)) ||
	    (unsigned)opts->format > STRATA_FORMAT_RAW || (opts->format == STRATA_FORMAT_RAW) != (opts->raw != NULL))
		return -EINVAL;
	for (i = 0; i < npaths; i++)
		if (!paths[i])
			return -EINVAL;
	m = st_calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->errbuf = opts->errbuf;
	m->errlen = opts->errlen;
	if (m->errbuf && m->errlen)
		m->errbuf[0] = '\0';
	if (npaths == 1 && opts->format != STRATA_FORMAT_RAW && ends_with(paths[0], ".json")) {
		m->format = STRATA_FORMAT_SAFETENSORS;
		err = st_safetensors_index_parse(m, paths[0]);
	} else {
		m->files = st_calloc(npaths, sizeof(*m->files));
		err = m->files ? 0 : -ENOMEM;
		for (i = 0; i < npaths && !err; i++) {
			m->files[i].fd = -1;
			m->nfiles = i + 1;
			err = st_model_open_file(m, i, paths[i]);
			if (err == 0 && opts->format != STRATA_FORMAT_RAW)
				err = parse_file(m, i, opts->format);
		}
		if (!err && opts->format == STRATA_FORMAT_RAW) {
			m->format = STRATA_FORMAT_RAW;
			err = st_raw_parse(m, opts->raw, opts->nraw);
		}
	}
	if (!err)
		err = check_table(m);
	if (err && err != -STRATA_EFORMAT && m->errbuf && m->errlen && !m->errbuf[0])
		st_fmt(m->errbuf, m->errlen, "%s: %s", paths[0], strata_strerror(err));
	if (err) {
		m->errbuf = NULL;
		strata_model_close(m);
		return err;
	}
	m->errbuf = NULL;
	*out = m;
	return 0;
}

void strata_model_close(struct strata_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nfiles; i++) {
		if (m->files[i].fd >= 0)
			close(m->files[i].fd);
		st_free(m->files[i].path);
	}
	for (i = 0; i < m->nblobs; i++)
		st_free(m->blobs[i]);
	st_free(m->files);
	st_free(m->tensors);
	st_free(m->by_name);
	st_free(m->meta);
	st_free(m->blobs);
	st_free(m);
}

/* ---- getters ------------------------------------------------------------------- */

int64_t strata_model_tensor_count(const struct strata_model *m)
{
	return m ? (int64_t)m->ntensors : -EINVAL;
}

int strata_model_tensor(const struct strata_model *m, size_t index, struct strata_tensor_info *out)
{
	if (!m || !out)
		return -EINVAL;
	if (index >= m->ntensors)
		return -ERANGE;
	*out = m->tensors[index];
	return 0;
}

int strata_model_find(const struct strata_model *m, const char *name, size_t *index)
{
	size_t lo = 0, hi;

	if (!m || !name || !index)
		return -EINVAL;
	hi = m->ntensors;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->tensors[m->by_name[mid]].name, name);

		if (c == 0) {
			*index = m->by_name[mid];
			return 0;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -ENOENT;
}

int strata_model_format(const struct strata_model *m, enum strata_format *format, unsigned *nfiles)
{
	if (!m)
		return -EINVAL;
	if (format)
		*format = m->format;
	if (nfiles)
		*nfiles = m->nfiles;
	return 0;
}

int strata_model_file_path(const struct strata_model *m, unsigned file, const char **path)
{
	if (!m || !path)
		return -EINVAL;
	if (file >= m->nfiles)
		return -ERANGE;
	*path = m->files[file].path;
	return 0;
}
