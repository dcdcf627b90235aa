/* SPDX-License-Identifier: MIT */
/*
 * core/probe_cache.c — probe figures on disk, as JSON.
 *
 * The file names the machine it was measured on and carries a format
 * number; a mismatch in either makes it stale rather than wrong.  It is
 * written to a temporary file and renamed, so a crash or two processes
 * probing at once never leave half a file behind, and every value is
 * checked on the way in: a cache is input like any other.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/core_int.h"

#define CACHE_FORMAT 1

static json_t *machine_json(const struct st_machine_id *id)
{
	char hash[17];

	st_fmt(hash, sizeof(hash), "%016llx", (unsigned long long)id->hash);
	return json_pack("{s:s, s:I, s:s, s:i, s:s}", "cpu", id->cpu, "mem_kib", (json_int_t)id->mem_kib,
			 "kernel", id->kernel, "nodes", (int)id->nodes, "hash", hash);
}

static bool machine_matches(json_t *m, const struct st_machine_id *id)
{
	json_t *want = machine_json(id);
	bool same = want && json_equal(m, want);

	json_decref(want);
	return same;
}

static bool positive(double v)
{
	return isfinite(v) && v > 0;
}

static int parse_node(json_t *o, unsigned idx, struct strata_probe_node *out)
{
	json_int_t node = -1, threads = 0, bytes = 0, at = 0;
	double rd = 0, cp = 0, tr = 0, lat = 0;

	if (json_unpack(o, "{s:I, s:F, s:F, s:F, s:F, s:I, s:I, s:I}", "node", &node, "read_gbps", &rd,
			"copy_gbps", &cp, "triad_gbps", &tr, "latency_ns", &lat, "threads", &threads,
			"array_bytes", &bytes, "measured_at", &at))
		return -STRATA_EFORMAT;
	if (node != (json_int_t)idx || !positive(rd) || !positive(cp) || !positive(tr) || !positive(lat) ||
	    threads <= 0 || bytes <= 0 || at <= 0)
		return -STRATA_EFORMAT;
	*out = (struct strata_probe_node){
		.sz = sizeof(*out),
		.node = idx,
		.read_gbps = rd,
		.copy_gbps = cp,
		.triad_gbps = tr,
		.latency_ns = lat,
		.threads = (unsigned)threads,
		.array_bytes = (uint64_t)bytes,
		.measured_at = (int64_t)at,
		.from_cache = true,
	};
	return 0;
}

int st_probe_cache_load(const char *path, const struct st_machine_id *id, struct st_probe_set **out)
{
	json_error_t jerr;
	json_t *root, *machine, *nodes;
	struct st_probe_set *set = NULL;
	json_int_t format = 0;
	unsigned i;
	int err;

	if (access(path, R_OK) < 0)
		return -errno;
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return -STRATA_EFORMAT;
	err = -STRATA_EFORMAT;
	if (json_unpack(root, "{s:I, s:o, s:o}", "format", &format, "machine", &machine, "nodes", &nodes) ||
	    !json_is_array(nodes))
		goto out;
	err = -STRATA_ESTALE;
	if (format != CACHE_FORMAT || !machine_matches(machine, id) || json_array_size(nodes) != id->nodes)
		goto out;
	err = -ENOMEM;
	set = st_calloc(1, sizeof(*set) + id->nodes * sizeof(set->node[0]));
	if (!set)
		goto out;
	set->n = id->nodes;
	for (i = 0; i < set->n; i++) {
		err = parse_node(json_array_get(nodes, i), i, &set->node[i]);
		if (err)
			goto out;
	}
	*out = set;
	set = NULL;
	err = 0;
out:
	st_free(set);
	json_decref(root);
	return err;
}

/* mkdir -p for the cache folder (0700: it lives in the user's home). */
static int make_dirs(const char *path)
{
	char buf[4096], *p;

	if (st_fmt(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	p = strrchr(buf, '/');
	if (!p || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static json_t *nodes_json(const struct st_probe_set *set)
{
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; arr && i < set->n; i++) {
		const struct strata_probe_node *n = &set->node[i];
		json_t *o = json_pack("{s:i, s:f, s:f, s:f, s:f, s:i, s:I, s:I}", "node", (int)n->node,
				      "read_gbps", n->read_gbps, "copy_gbps", n->copy_gbps, "triad_gbps",
				      n->triad_gbps, "latency_ns", n->latency_ns, "threads", (int)n->threads,
				      "array_bytes", (json_int_t)n->array_bytes, "measured_at",
				      (json_int_t)n->measured_at);

		if (!o || json_array_append_new(arr, o)) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int st_probe_cache_save(const char *path, const struct st_machine_id *id, const struct st_probe_set *set)
{
	char tmp[4200];
	json_t *root;
	int err;

	err = make_dirs(path);
	if (err)
		return err;
	if (st_fmt(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	root = json_pack("{s:i, s:o, s:o}", "format", CACHE_FORMAT, "machine", machine_json(id), "nodes",
			 nodes_json(set));
	if (!root)
		return -ENOMEM;
	if (json_dump_file(root, tmp, JSON_INDENT(2)) < 0) {
		err = errno ? -errno : -EIO;
		unlink(tmp);
	} else if (rename(tmp, path) < 0) {
		err = -errno;
		unlink(tmp);
	}
	json_decref(root);
	return err;
}
