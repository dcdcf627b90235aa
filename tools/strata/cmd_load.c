/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_load.c — `strata load`: stream a model's tensors into a
 * pool, show progress on a terminal, then print the throughput and an
 * xxHash (XXH3-64) checksum of every tensor.  --verify reads each tensor
 * again with plain pread(2) and compares.
 *
 * Tensors are hashed on this thread as the load reports them ready, while
 * later ones are still being read; with --budget each is released once
 * hashed, so the load streams through a bounded window.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <strata/strata.h>
#include <xxhash.h>

#include "cli.h"

struct ready_queue {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	size_t *items, head, tail;
	int *status; /* per model tensor */
};

static void on_ready(void *user, size_t tensor, int status)
{
	struct ready_queue *q = user;

	pthread_mutex_lock(&q->lock);
	q->status[tensor] = status;
	q->items[q->tail++] = tensor;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->lock);
}

/* Next ready tensor, or SIZE_MAX after @ms without one. */
static size_t next_ready(struct ready_queue *q, int ms)
{
	struct timespec ts;
	size_t t = SIZE_MAX;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&q->lock);
	while (q->head == q->tail)
		if (pthread_cond_timedwait(&q->cv, &q->lock, &ts) == ETIMEDOUT)
			break;
	if (q->head < q->tail)
		t = q->items[q->head++];
	pthread_mutex_unlock(&q->lock);
	return t;
}

static void load_usage(FILE *f)
{
	fprintf(f, "usage: strata load [options] PATH...\n\n"
		   "  PATH            safetensors, GGUF, or a model.safetensors.index.json\n"
		   "  --tensors LIST  comma-separated tensor names (default: all)\n"
		   "  --node N        NUMA node of the destination pool (default: local)\n"
		   "  --engine E      auto, uring or pread (default auto)\n"
		   "  --direct D      auto, on or off: O_DIRECT reads (default auto: off when cached)\n"
		   "  --budget BYTES  most bytes held at once; tensors are released once hashed\n"
		   "  --chunk BYTES   read size (default: tuned)       --depth N  reads in flight\n"
		   "  --verify        compare every tensor with a plain pread of the file\n"
		   "  --json          one JSON document instead of text\n"
		   "  --quiet         no per-tensor lines\n");
}

static int parse_choice(const char *arg, const char *const *names, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(arg, names[i]) == 0)
			return i;
	return -1;
}

static int parse_bytes(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 30; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'K': case 'k': v <<= 10; end++; break;
	default: break;
	}
	if (*end && strcmp(end, "iB") && strcmp(end, "B"))
		return -1;
	*out = v;
	return 0;
}

/* Read the tensor with pread(2) and hash it. */
static int reference_hash(struct strata_model *m, const struct strata_tensor_info *t, uint64_t *hash)
{
	const char *path;
	uint64_t done = 0;
	char *buf;
	int fd, err = 0;

	if (strata_model_file_path(m, t->file, &path))
		return -EINVAL;
	/* The model was a regular file when it was opened, but the path may
	 * have been replaced since: O_NONBLOCK keeps the open of a FIFO from
	 * waiting for a writer (pread on it then fails with ESPIPE). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(t->bytes ? t->bytes : 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (done < t->bytes && !err) {
		ssize_t r = pread(fd, buf + done, t->bytes - done, (off_t)(t->offset + done));

		if (r < 0 && errno == EINTR)
			continue;
		err = r < 0 ? -errno : r == 0 ? -EIO : 0;
		done += r > 0 ? (uint64_t)r : 0;
	}
	*hash = XXH3_64bits(buf, t->bytes);
	free(buf);
	close(fd);
	return err;
}

static void progress(const struct strata_load_stats *st, uint64_t hashed_bytes)
{
	fprintf(stderr, "\r  %7.2f / %.2f GiB ready   %llu of %llu tensors   %.2f GB/s   ",
		(double)hashed_bytes / (1 << 30), (double)st->bytes / (1 << 30),
		(unsigned long long)(st->tensors_ready + st->tensors_failed), (unsigned long long)st->tensors, st->gbps);
}

static const char *const engine_names[] = { "auto", "uring", "pread" };
static const char *const direct_names[] = { "auto", "on", "off" };

int cmd_load(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "tensors", required_argument, NULL, 't' }, { "node", required_argument, NULL, 'n' },
		{ "engine", required_argument, NULL, 'e' },  { "direct", required_argument, NULL, 'd' },
		{ "budget", required_argument, NULL, 'b' },  { "chunk", required_argument, NULL, 'c' },
		{ "depth", required_argument, NULL, 'q' },   { "verify", no_argument, NULL, 'v' },
		{ "json", no_argument, NULL, 'j' },	     { "quiet", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },	     { NULL, 0, NULL, 0 },
	};
	STRATA_RT_OPTS(ropts, .probe = STRATA_PROBE_OFF);
	STRATA_LOAD_OPTS(lopts, .engine = STRATA_IO_AUTO);
	STRATA_POOL_OPTS(popts, .flags = STRATA_POOL_HUGEPAGES | STRATA_POOL_NO_SMALL, .decay_ms = STRATA_DECAY_NEVER);
	struct ready_queue q = { .lock = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };
	const char *tensor_list = NULL;
	bool verify = false, json = false, quiet = false, tty = isatty(2);
	struct strata_model *model = NULL;
	struct strata_load_stats st = { .sz = sizeof(st) };
	struct strata_load *load = NULL;
	struct strata_pool *pool = NULL;
	struct strata_rt *rt = NULL;
	uint64_t budget = 0, v, *hashes = NULL, hashed_bytes = 0;
	size_t *sel = NULL, nsel = 0, i, done = 0;
	unsigned mismatches = 0;
	char errbuf[512] = "";
	int64_t ntensors;
	int opt, err, status = 1;
	json_t *out = NULL, *list = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 't':
			tensor_list = optarg;
			break;
		case 'n':
			popts.place = STRATA_PLACE_NODE;
			popts.node = atoi(optarg);
			break;
		case 'e':
			if ((err = parse_choice(optarg, engine_names, 3)) < 0)
				goto usage;
			lopts.engine = (enum strata_io_engine)err;
			break;
		case 'd':
			if ((err = parse_choice(optarg, direct_names, 3)) < 0)
				goto usage;
			lopts.direct = (enum strata_io_direct)err;
			break;
		case 'b':
			if (parse_bytes(optarg, &budget))
				goto usage;
			break;
		case 'c':
			if (parse_bytes(optarg, &v) || v > (1u << 30))
				goto usage;
			lopts.chunk_bytes = (uint32_t)v;
			break;
		case 'q':
			if (parse_bytes(optarg, &v) || v == 0 || v > 128)
				goto usage;
			lopts.queue_depth = (uint32_t)v;
			break;
		case 'v':
			verify = true;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			quiet = true;
			break;
		case 'h':
			load_usage(stdout);
			return 0;
		default:
			goto usage;
		}
	}
	if (optind >= argc)
		goto usage;

	{
		STRATA_MODEL_OPTS(mopts, .errbuf = errbuf, .errlen = sizeof(errbuf));

		err = strata_model_open((const char *const *)argv + optind, (unsigned)(argc - optind), &mopts, &model);
		if (err) {
			fprintf(stderr, "strata load: %s\n", errbuf[0] ? errbuf : strata_strerror(err));
			return 1;
		}
	}
	ntensors = strata_model_tensor_count(model);
	sel = calloc((size_t)ntensors + 1, sizeof(*sel));
	hashes = calloc((size_t)ntensors + 1, sizeof(*hashes));
	q.items = calloc((size_t)ntensors + 1, sizeof(*q.items));
	q.status = calloc((size_t)ntensors + 1, sizeof(*q.status));
	if (!sel || !hashes || !q.items || !q.status)
		goto fail;
	if (tensor_list) {
		char *copy = strdup(tensor_list), *save = NULL, *name;

		for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
			if (strata_model_find(model, name, &sel[nsel])) {
				fprintf(stderr, "strata load: no tensor named '%s'\n", name);
				free(copy);
				goto fail;
			}
			nsel++;
		}
		free(copy);
		lopts.tensors = sel;
		lopts.ntensors = nsel;
	} else {
		for (i = 0; i < (size_t)ntensors; i++)
			sel[nsel++] = i;
	}
	/* Populate the destination before the load starts: faulting it in
	 * during the reads would cost more than the reads. */
	for (i = 0; i < nsel; i++) {
		struct strata_tensor_info info;

		strata_model_tensor(model, sel[i], &info);
		popts.prefill_bytes += info.bytes + 8192; /* each run of tensors is read 4 KiB-aligned */
	}
	if (budget && popts.prefill_bytes > budget)
		popts.prefill_bytes = budget;
	popts.prefill_bytes += 64u << 20;
	err = strata_rt_create(&ropts, &rt);
	if (!err)
		err = strata_pool_create(rt, &popts, &pool);
	if (err) {
		fprintf(stderr, "strata load: cannot create the destination pool: %s\n", strata_strerror(err));
		goto fail;
	}
	lopts.pool = pool;
	lopts.budget_bytes = budget;
	lopts.on_ready = on_ready;
	lopts.user = &q;
	err = strata_load_start(model, &lopts, &load);
	if (err) {
		fprintf(stderr, "strata load: %s\n", strata_strerror(err));
		goto fail;
	}
	/* Hash each tensor as it becomes ready. */
	while (done < nsel) {
		size_t t = next_ready(&q, 200);

		if (tty && !json) {
			strata_load_stats(load, &st);
			progress(&st, hashed_bytes);
		}
		if (t == SIZE_MAX)
			continue;
		done++;
		if (q.status[t] == 0) {
			struct strata_tensor_info info;
			void *data;

			strata_model_tensor(model, t, &info);
			if (strata_load_tensor_data(load, t, &data) == 0)
				hashes[t] = XXH3_64bits(data, info.bytes);
			hashed_bytes += info.bytes;
			if (budget)
				strata_load_release(load, t);
		}
	}
	err = strata_load_wait(load, -1);
	strata_load_stats(load, &st);
	if (tty && !json)
		fprintf(stderr, "\r%*s\r", 78, "");

	out = json_object();
	list = json_array();
	for (i = 0; i < nsel; i++) {
		struct strata_tensor_info info;
		struct strata_dtype_info d;
		uint64_t ref = 0;
		char hex[17], shape[160] = "";
		json_t *dims = json_array(), *entry;
		unsigned k;
		int s = q.status[sel[i]];

		strata_model_tensor(model, sel[i], &info);
		strata_dtype_info(info.dtype, &d);
		for (k = 0; k < info.ndim; k++) {
			json_array_append_new(dims, json_integer((json_int_t)info.shape[k]));
			snprintf(shape + strlen(shape), sizeof(shape) - strlen(shape), "%s%llu", k ? "x" : "",
				 (unsigned long long)info.shape[k]);
		}
		snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)hashes[sel[i]]);
		entry = json_pack("{s:s, s:s, s:o, s:I, s:s}", "name", info.name, "dtype", d.name, "shape", dims, "bytes",
				  (json_int_t)info.bytes, "xxh3", s == 0 ? hex : strata_strerror(s));
		if (verify && s == 0) {
			int rerr = reference_hash(model, &info, &ref);

			json_object_set_new(entry, "verified", json_boolean(!rerr && ref == hashes[sel[i]]));
			if (rerr || ref != hashes[sel[i]])
				mismatches++;
		}
		json_array_append_new(list, entry);
		if (!json && !quiet)
			printf("%-48s %-6s %-20s %12llu  %s%s\n", info.name, d.name, shape[0] ? shape : "scalar",
			       (unsigned long long)info.bytes, s == 0 ? hex : strata_strerror(s),
			       verify && s == 0 ? (ref == hashes[sel[i]] ? "  verified" : "  MISMATCH") : "");
	}
	json_object_set_new(out, "tensors", list);
	json_object_set_new(out, "engine", json_string(strata_io_engine_name(st.engine)));
	json_object_set_new(out, "files_direct", json_integer(st.files_direct));
	json_object_set_new(out, "files_buffered", json_integer(st.files_buffered));
	json_object_set_new(out, "bytes", json_integer((json_int_t)st.bytes));
	json_object_set_new(out, "bytes_read", json_integer((json_int_t)st.bytes_read));
	json_object_set_new(out, "seconds", json_real(st.seconds));
	json_object_set_new(out, "gbps", json_real(st.gbps));
	json_object_set_new(out, "first_tensor_seconds", json_real(st.first_tensor_seconds));
	json_object_set_new(out, "chunk_bytes", json_integer(st.chunk_bytes));
	json_object_set_new(out, "queue_depth", json_integer(st.queue_depth));
	json_object_set_new(out, "short_reads", json_integer((json_int_t)st.short_reads));
	json_object_set_new(out, "failed", json_integer((json_int_t)st.tensors_failed));
	if (verify)
		json_object_set_new(out, "mismatches", json_integer(mismatches));
	if (json) {
		json_dumpf(out, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		printf("loaded %llu tensors, %.3f GB in %.3f s: %.2f GB/s (%s, %u direct / %u buffered files, "
		       "%u KiB reads x %u in flight)%s\n",
		       (unsigned long long)st.tensors_ready, (double)st.bytes / 1e9, st.seconds, st.gbps,
		       strata_io_engine_name(st.engine), st.files_direct, st.files_buffered, st.chunk_bytes >> 10,
		       st.queue_depth, verify ? (mismatches ? "; VERIFY FAILED" : "; verified against pread") : "");
		if (err)
			fprintf(stderr, "strata load: %llu tensors failed: %s\n", (unsigned long long)st.tensors_failed,
				strata_strerror(err));
	}
	status = err || mismatches ? 1 : 0;
fail:
	json_decref(out);
	strata_load_destroy(load);
	strata_pool_destroy(pool);
	strata_rt_destroy(rt);
	strata_model_close(model);
	free(sel);
	free(hashes);
	free(q.items);
	free(q.status);
	return status;
usage:
	load_usage(stderr);
	return EXIT_USAGE;
}
