/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_model.h — what the model-format fuzz harnesses share:
 * hand the input to strata_model_open() as a file (a memfd, reached by its
 * /proc path like any file) and, when it opens, read every tensor and
 * metadata entry back, so a header that passed validation but lied is
 * caught by ASan when its fields are used.  A GGUF file that opens has
 * printable ASCII keys and tensors of at least one dimension.  Warnings
 * (a mutated version 2) go to a callback that drops them.
 */
#ifndef STRATA_FUZZ_MODEL_H
#define STRATA_FUZZ_MODEL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <strata/strata.h>

static void fuzz_model_trap(void)
{
	abort();
}

static void fuzz_model_quiet(enum strata_log_level level, const char *msg, void *user)
{
	(void)level;
	(void)msg;
	(void)user;
}

static int fuzz_model_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int fuzz_model_bytes(const uint8_t *data, size_t size, enum strata_format format)
{
	STRATA_MODEL_OPTS(opts, .format = format);
	struct strata_model *m;
	char path[64], msg[256];
	const char *paths[] = { path };
	int fd = memfd_create("strata-fuzz", MFD_CLOEXEC), err;
	int64_t i, n;

	opts.errbuf = msg;
	opts.errlen = sizeof(msg);
	if (fd < 0)
		return 0;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	strata_log_set_callback(fuzz_model_quiet, NULL);
	err = strata_model_open(paths, 1, &opts, &m);
	strata_log_set_callback(NULL, NULL);
	close(fd);
	if (err) {
		/* Every refusal must say what and where. */
		if (err == -STRATA_EFORMAT && !strstr(msg, "at offset"))
			fuzz_model_trap();
		return 0;
	}
	n = strata_model_tensor_count(m);
	for (i = 0; i < n; i++) {
		struct strata_tensor_info t;
		struct strata_dtype_info d;

		if (strata_model_tensor(m, (size_t)i, &t) || strata_dtype_info(t.dtype, &d) || !t.name[0] ||
		    t.offset + t.bytes > size || t.offset + t.bytes < t.offset)
			fuzz_model_trap();
		if (format == STRATA_FORMAT_GGUF && t.ndim == 0)
			fuzz_model_trap();
	}
	n = strata_model_meta_count(m);
	for (i = 0; i < n; i++) {
		struct strata_meta e;
		uint64_t k, len;
		const char *s;
		double d;

		if (strata_model_meta(m, (size_t)i, &e))
			fuzz_model_trap();
		if (format == STRATA_FORMAT_GGUF && !fuzz_model_printable(e.key))
			fuzz_model_trap();
		if (e.type == STRATA_META_STRING && e.count && (e.v.str[0] == 1 && e.v.str[e.count - 1] == 2))
			msg[0] = 0; /* touch both ends */
		for (k = 0; e.type == STRATA_META_ARRAY && k < e.count; k++) {
			if (e.elem_type == STRATA_META_STRING) {
				if (strata_meta_array_string(&e, k, &s, &len))
					fuzz_model_trap();
				if (len && s[len - 1] == 3)
					msg[0] = 0;
			} else if (strata_meta_array_number(&e, k, &d)) {
				fuzz_model_trap();
			}
		}
	}
	strata_model_close(m);
	return 0;
}

#endif /* STRATA_FUZZ_MODEL_H */
