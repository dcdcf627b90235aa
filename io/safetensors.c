/* SPDX-License-Identifier: MIT */
/*
 * io/safetensors.c — validate safetensors headers, single files and shards
 * listed by a model.safetensors.index.json.
 *
 * Layout: u64 little-endian N; N bytes of UTF-8 JSON (an object, maybe
 * padded with spaces) mapping tensor names to {"dtype", "shape",
 * "data_offsets": [begin, end]} plus an optional "__metadata__" object of
 * strings; then the data, offsets relative to its start.  The checks are
 * the reference loader's (safetensors/src/tensor.rs) and those its Rust
 * types give for free: N bounded, integers non-negative and exact, two
 * offsets, known dtype, size = elements x dtype size without overflow, and
 * the tensors tiling the data exactly: no overlap, no hole, no trailing
 * bytes.  JSON is parsed by jansson with duplicate keys rejected.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "io/io_int.h"

#define MAX_EXACT_INT (1LL << 53) /* beyond this a JSON number may have been rounded */
#define MAX_INDEX_BYTES (64u << 20)

static int integer(json_t *v, uint64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return -1;
	i = json_integer_value(v);
	if (i < 0 || i > MAX_EXACT_INT)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int add_metadata(struct strata_model *m, unsigned file, json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return st_bad(m, file, 8, "__metadata__ is not an object");
	json_object_foreach(obj, key, v) {
		struct st_meta *e;

		if (!json_is_string(v))
			return st_bad(m, file, 8, "__metadata__ value of '%s' is not a string", key);
		e = st_model_add_meta(m);
		if (!e)
			return -ENOMEM;
		e->key = st_model_strndup(m, key, strlen(key));
		e->v.str = st_model_strndup(m, json_string_value(v), json_string_length(v));
		if (!e->key || !e->v.str)
			return -ENOMEM;
		e->type = STRATA_META_STRING;
		e->count = json_string_length(v);
	}
	return 0;
}

static int add_tensor(struct strata_model *m, unsigned file, const char *name, json_t *obj, uint64_t data_start)
{
	json_t *dtype = json_object_get(obj, "dtype"), *shape = json_object_get(obj, "shape");
	json_t *offs = json_object_get(obj, "data_offsets"), *v;
	struct strata_tensor_info t = { .file = file };
	uint64_t begin, end;
	size_t i;
	int err;

	if (!*name)
		return st_bad(m, file, 8, "a tensor has an empty name");
	if (!json_is_object(obj))
		return st_bad(m, file, 8, "tensor '%s' is not an object", name);
	if (!json_is_string(dtype) || strata_dtype_from_name(json_string_value(dtype), &t.dtype) ||
	    t.dtype > STRATA_DTYPE_F6_E3M2)
		return st_bad(m, file, 8, "tensor '%s' has %s dtype%s%s", name, json_is_string(dtype) ? "an unknown" : "no",
			      json_is_string(dtype) ? " " : "", json_is_string(dtype) ? json_string_value(dtype) : "");
	if (!json_is_array(shape) || json_array_size(shape) > STRATA_MAX_DIMS)
		return st_bad(m, file, 8, "tensor '%s': shape must be an array of at most %d integers", name,
			      STRATA_MAX_DIMS);
	json_array_foreach(shape, i, v)
		if (integer(v, &t.shape[i]))
			return st_bad(m, file, 8, "tensor '%s': shape[%zu] is not a non-negative integer below 2^53", name, i);
	t.ndim = (uint32_t)json_array_size(shape);
	if (!json_is_array(offs) || json_array_size(offs) != 2 || integer(json_array_get(offs, 0), &begin) ||
	    integer(json_array_get(offs, 1), &end))
		return st_bad(m, file, 8, "tensor '%s': data_offsets must be two non-negative integers below 2^53", name);
	if (end < begin)
		return st_bad(m, file, data_start + begin, "tensor '%s': data_offsets end %llu is before begin %llu", name,
			      (unsigned long long)end, (unsigned long long)begin);
	err = st_dtype_bytes(t.dtype, t.shape, t.ndim, &t.bytes);
	if (err == -EOVERFLOW)
		return st_bad(m, file, data_start + begin, "tensor '%s': size overflows", name);
	if (err)
		return st_bad(m, file, data_start + begin, "tensor '%s': elements do not fill whole bytes of %s", name,
			      json_string_value(dtype));
	if (end - begin != t.bytes)
		return st_bad(m, file, data_start + begin, "tensor '%s': data_offsets span %llu bytes but shape x dtype is %llu",
			      name, (unsigned long long)(end - begin), (unsigned long long)t.bytes);
	t.offset = data_start + begin;
	t.name = st_model_strndup(m, name, strlen(name));
	if (!t.name)
		return -ENOMEM;
	return st_model_add_tensor(m, &t);
}

static int by_offset(const void *a, const void *b, void *model)
{
	const struct strata_model *m = model;
	const struct strata_tensor_info *x = &m->tensors[*(const size_t *)a], *y = &m->tensors[*(const size_t *)b];

	if (x->offset != y->offset)
		return x->offset < y->offset ? -1 : 1;
	return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

/* The data must be tiled exactly: sorted, each tensor starts where the
 * previous ended, the last ends at the end of the file. */
static int check_tiling(struct strata_model *m, unsigned file, size_t first, uint64_t data_start)
{
	size_t n = m->ntensors - first, i, *order = st_malloc((n ? n : 1) * sizeof(size_t));
	uint64_t at = data_start;
	int err = 0;

	if (!order)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		order[i] = first + i;
	qsort_r(order, n, sizeof(size_t), by_offset, m);
	for (i = 0; i < n && !err; i++) {
		const struct strata_tensor_info *t = &m->tensors[order[i]];

		if (t->offset > at)
			err = st_bad(m, file, at, "%llu bytes before tensor '%s' belong to no tensor",
				     (unsigned long long)(t->offset - at), t->name);
		else if (t->offset < at)
			err = st_bad(m, file, t->offset, "tensor '%s' overlaps the tensor before it", t->name);
		at = t->offset + t->bytes;
	}
	st_free(order);
	if (!err && at != m->files[file].size)
		err = at > m->files[file].size ?
			      st_bad(m, file, m->files[file].size, "file ends %llu bytes before its last tensor does",
				     (unsigned long long)(at - m->files[file].size)) :
			      st_bad(m, file, at, "%llu trailing bytes belong to no tensor",
				     (unsigned long long)(m->files[file].size - at));
	return err;
}

int st_safetensors_parse(struct strata_model *m, unsigned file)
{
	struct st_model_file *f = &m->files[file];
	size_t first = m->ntensors;
	unsigned char lenbuf[8];
	uint64_t n = 0, data_start;
	json_error_t jerr;
	const char *key;
	json_t *root, *v;
	char *hdr;
	int err, i;

	if (f->size < 8)
		return st_bad(m, file, 0, "file of %llu bytes is too short for a safetensors header",
			      (unsigned long long)f->size);
	err = st_model_pread(m, file, lenbuf, 8, 0);
	if (err)
		return err;
	for (i = 7; i >= 0; i--)
		n = (n << 8) | lenbuf[i];
	if (n > ST_SAFETENSORS_MAX_HEADER)
		return st_bad(m, file, 0, "header length %llu exceeds the limit of %llu", (unsigned long long)n,
			      ST_SAFETENSORS_MAX_HEADER);
	if (n + 8 > f->size)
		return st_bad(m, file, 0, "header length %llu runs past the end of the file (%llu bytes)",
			      (unsigned long long)n, (unsigned long long)f->size);
	if (n < 2)
		return st_bad(m, file, 8, "header of %llu bytes cannot hold a JSON object", (unsigned long long)n);
	data_start = 8 + n;
	f->data_start = data_start;
	hdr = st_malloc(n);
	if (!hdr)
		return -ENOMEM;
	err = st_model_pread(m, file, hdr, n, 8);
	if (err) {
		st_free(hdr);
		return err;
	}
	if (hdr[0] != '{') {
		st_free(hdr);
		return st_bad(m, file, 8, "header does not start with '{'");
	}
	root = json_loadb(hdr, n, JSON_REJECT_DUPLICATES, &jerr);
	st_free(hdr);
	if (!root)
		return st_bad(m, file, 8 + (uint64_t)(jerr.position > 0 ? jerr.position : 0), "header JSON: %s", jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return st_bad(m, file, 8, "header is not a JSON object");
	}
	json_object_foreach(root, key, v) {
		err = strcmp(key, "__metadata__") == 0 ? add_metadata(m, file, v) : add_tensor(m, file, key, v, data_start);
		if (err)
			break;
	}
	json_decref(root);
	return err ? err : check_tiling(m, file, first, data_start);
}

/* ---- sharded: model.safetensors.index.json ------------------------------------ */

static int shard_of(json_t *files, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(files, i, v)
		if (strcmp(json_string_value(v), name) == 0)
			return (int)i;
	return -1;
}

int st_safetensors_index_parse(struct strata_model *m, const char *index_path)
{
	json_t *root = NULL, *map, *files = NULL, *v;
	const char *slash = strrchr(index_path, '/'), *key;
	size_t dirlen = slash ? (size_t)(slash - index_path) + 1 : 0, i;
	struct st_model_file idx = { .fd = -1 };
	json_error_t jerr;
	int err;

	/* Read the index through the model's file table as entry 0 first, so
	 * errors name it, then replace the table by the shards. */
	m->files = &idx;
	m->nfiles = 1;
	err = st_model_open_file(m, 0, index_path);
	if (!err && idx.size > MAX_INDEX_BYTES)
		err = st_bad(m, 0, 0, "index of %llu bytes is larger than %u", (unsigned long long)idx.size, MAX_INDEX_BYTES);
	if (!err) {
		char *text = st_malloc(idx.size + 1);

		err = text ? st_model_pread(m, 0, text, idx.size, 0) : -ENOMEM;
		if (!err) {
			root = json_loadb(text, idx.size, JSON_REJECT_DUPLICATES, &jerr);
			if (!root)
				err = st_bad(m, 0, (uint64_t)(jerr.position > 0 ? jerr.position : 0), "index JSON: %s",
					     jerr.text);
		}
		st_free(text);
	}
	map = root ? json_object_get(root, "weight_map") : NULL;
	if (!err && !json_is_object(map))
		err = st_bad(m, 0, 0, "index has no \"weight_map\" object");
	if (!err)
		files = json_array();
	if (!err && !files)
		err = -ENOMEM;
	if (!err)
		json_object_foreach(map, key, v) {
			const char *name = json_string_value(v);

			if (!name || !*name || strchr(name, '/') || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
				err = st_bad(m, 0, 0, "weight_map entry '%s' does not name a file beside the index", key);
				break;
			}
			if (shard_of(files, name) < 0 && json_array_append(files, v)) {
				err = -ENOMEM;
				break;
			}
		}
	if (!err && json_array_size(files) == 0)
		err = st_bad(m, 0, 0, "weight_map lists no tensors");
	if (idx.fd >= 0)
		close(idx.fd);
	st_free(idx.path);
	m->files = NULL;
	m->nfiles = 0;
	if (!err) {
		m->files = st_calloc(json_array_size(files), sizeof(*m->files));
		err = m->files ? 0 : -ENOMEM;
	}
	json_array_foreach(files, i, v) {
		char *path;

		if (err)
			break;
		m->files[i].fd = -1;
		m->nfiles = (unsigned)i + 1;
		path = st_malloc(dirlen + json_string_length(v) + 1);
		if (!path) {
			err = -ENOMEM;
			break;
		}
		memcpy(path, index_path, dirlen);
		strcpy(path + dirlen, json_string_value(v));
		err = st_model_open_file(m, (unsigned)i, path);
		st_free(path);
		if (!err)
			err = st_safetensors_parse(m, (unsigned)i);
	}
	/* Each shard holds exactly the tensors the map gives it. */
	for (i = 0; !err && i < m->ntensors; i++) {
		const struct strata_tensor_info *t = &m->tensors[i];
		json_t *want = json_object_get(map, t->name);

		if (!want || shard_of(files, json_string_value(want)) != (int)t->file)
			err = st_bad(m, t->file, t->offset, "tensor '%s' is %s", t->name,
				     want ? "in another shard than the index says" : "not in the index's weight_map");
	}
	if (!err && json_object_size(map) != m->ntensors)
		err = st_bad(m, 0, 0, "the index lists %zu tensors but the shards hold %zu", json_object_size(map),
			     m->ntensors);
	json_decref(files);
	json_decref(root);
	return err;
}
