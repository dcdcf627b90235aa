/* SPDX-License-Identifier: MIT */
/*
 * io/io_int.h — what the files of io/ share: the model behind
 * struct strata_model, the parsers' entry points and error reporting.
 */
#ifndef STRATA_IO_INT_H
#define STRATA_IO_INT_H

#include <stdarg.h>
#include <stdint.h>

#include <strata/io.h>

/* Hard bounds on what a header may declare (the reference loaders'). */
#define ST_SAFETENSORS_MAX_HEADER 100000000ULL /* safetensors MAX_HEADER_SIZE */
#define ST_GGUF_MAX_STRING (1ULL << 30) /* GGUF_MAX_STRING_LENGTH */
#define ST_GGUF_MAX_ARRAY (1ULL << 30)
#define ST_GGUF_MAX_NAME 64 /* GGML_MAX_NAME, terminating NUL included */
#define ST_GGUF_MAX_DIMS 4
#define ST_MAX_TENSORS (1ULL << 24)

struct st_model_file {
	char *path;
	int fd; /* O_RDONLY, kept open so a rename cannot swap the file under a load */
	uint64_t size; /* at open; loads check it again */
	uint64_t data_start; /* first byte of the data section */
};

/* A metadata entry; arrays point into the copy of the header they came from. */
struct st_meta {
	char *key;
	enum strata_meta_type type, elem_type;
	uint64_t count;
	union {
		uint64_t u;
		int64_t i;
		double f;
		const char *str;
	} v;
	const uint8_t *array; /* arrays of numbers: little-endian elements */
	const uint64_t *str_offsets; /* arrays of strings: offset of each length field in @array */
};

struct strata_model {
	enum strata_format format;
	unsigned nfiles;
	struct st_model_file *files;
	size_t ntensors, cap_tensors;
	struct strata_tensor_info *tensors;
	size_t *by_name; /* tensor indexes sorted by name */
	size_t nmeta, cap_meta;
	struct st_meta *meta;
	void **blobs; /* memory owned by the model (header copies, names) */
	size_t nblobs, cap_blobs;
	char *errbuf;
	size_t errlen;
};

/* Report a format error at @file offset @off into the model's error buffer;
 * returns -STRATA_EFORMAT so parsers can `return st_bad(...)`. */
int st_bad(struct strata_model *m, unsigned file, uint64_t off, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Model building blocks used by the parsers. */
int st_model_keep(struct strata_model *m, void *blob); /* frees @blob on failure */
char *st_model_strndup(struct strata_model *m, const char *s, size_t len);
int st_model_add_tensor(struct strata_model *m, const struct strata_tensor_info *t);
struct st_meta *st_model_add_meta(struct strata_model *m);
/* Read exactly @len bytes at @off of file @file (header reads). */
int st_model_pread(struct strata_model *m, unsigned file, void *buf, size_t len, uint64_t off);
/* Open file @path as file index @file of the model. */
int st_model_open_file(struct strata_model *m, unsigned file, const char *path);

/* Parsers: validate the header of file @file and add its tensors. */
int st_safetensors_parse(struct strata_model *m, unsigned file);
int st_safetensors_index_parse(struct strata_model *m, const char *index_path);
int st_gguf_parse(struct strata_model *m, unsigned file);
int st_raw_parse(struct strata_model *m, const struct strata_raw_tensor *raw, size_t nraw);

/* Types. */
enum strata_dtype st_dtype_from_ggml(uint32_t type);
/* Bytes of a tensor: -EOVERFLOW, -EDOM (not whole blocks), -EINVAL (type). */
int st_dtype_bytes(enum strata_dtype dtype, const uint64_t *shape, uint32_t ndim, uint64_t *bytes);

#endif /* STRATA_IO_INT_H */
