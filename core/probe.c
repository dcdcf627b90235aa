/* SPDX-License-Identifier: MIT */
/*
 * core/probe.c — when to measure and when to trust the cache, and the
 * public probe API.
 *
 * The whole measurement is budgeted to under a second, shared between the
 * nodes; a failed measurement or an unwritable cache is logged and the
 * runtime carries on without figures (callers fall back to topology-only
 * placement).
 */
#include <errno.h>
#include <string.h>

#include <strata/probe.h>

#include "core/core_int.h"

#define PROBE_BUDGET_S 0.9

static int measure_all(const struct strata_topo *t, struct st_probe_set **out)
{
	struct st_probe_set *set;
	unsigned i;
	int err;

	set = st_calloc(1, sizeof(*set) + t->n_nodes * sizeof(set->node[0]));
	if (!set)
		return -ENOMEM;
	set->n = t->n_nodes;
	for (i = 0; i < t->n_nodes; i++) {
		err = st_probe_measure_node(t, i, PROBE_BUDGET_S / t->n_nodes, &set->node[i]);
		if (err) {
			st_free(set);
			return err;
		}
	}
	*out = set;
	return 0;
}

static int cache_path(const struct strata_rt *rt, const struct st_machine_id *id, char *buf, size_t len)
{
	int n;

	if (!rt->cache_dir)
		return -ENOENT;
	n = st_fmt(buf, len, "%s/probe-%016llx.json", rt->cache_dir, (unsigned long long)id->hash);
	return n >= (int)len ? -ENAMETOOLONG : n;
}

/* Measure, install the figures and write them to the cache. */
static int measure_and_save(struct strata_rt *rt, const struct st_machine_id *id)
{
	struct st_probe_set *set;
	char path[4096];
	int err;

	err = measure_all(rt->topo, &set);
	if (err)
		return err;
	st_free(rt->probe);
	rt->probe = set;
	err = cache_path(rt, id, path, sizeof(path));
	if (err >= 0)
		err = st_probe_cache_save(path, id, set);
	if (err < 0)
		st_warn("probe: figures not cached (%s)", strata_strerror(err));
	return 0;
}

int st_probe_init(struct strata_rt *rt, enum strata_probe_mode mode)
{
	struct st_machine_id id;
	char path[4096] = "";
	int err;

	if (mode == STRATA_PROBE_OFF || !rt->topo->this_machine)
		return 0;
	err = st_machine_id_get(rt->topo, &id);
	if (err)
		return err;
	if (mode == STRATA_PROBE_CACHED) {
		err = cache_path(rt, &id, path, sizeof(path));
		if (err >= 0)
			err = st_probe_cache_load(path, &id, &rt->probe);
		if (err == 0)
			return 0;
		if (err == -ENOENT)
			st_info("probe: no cached figures for this machine; measuring");
		else
			st_warn("probe: ignoring cache %s (%s); measuring again", path, strata_strerror(err));
	}
	return measure_and_save(rt, &id);
}

int strata_probe_node(const struct strata_rt *rt, unsigned idx, struct strata_probe_node *out)
{
	if (!rt || !out)
		return -EINVAL;
	if (!rt->probe)
		return -ENODATA;
	if (idx >= rt->probe->n)
		return -ENOENT;
	return st_copy_out(out, &rt->probe->node[idx], sizeof(rt->probe->node[idx]));
}

int strata_probe_load(struct strata_rt *rt)
{
	struct st_probe_set *set;
	struct st_machine_id id;
	char path[4096];
	int err;

	if (!rt)
		return -EINVAL;
	err = st_machine_id_get(rt->topo, &id);
	if (err)
		return err;
	err = cache_path(rt, &id, path, sizeof(path));
	if (err < 0)
		return err;
	err = st_probe_cache_load(path, &id, &set);
	if (err)
		return err;
	st_free(rt->probe);
	rt->probe = set;
	return 0;
}

int strata_probe_refresh(struct strata_rt *rt)
{
	struct st_machine_id id;
	int err;

	if (!rt)
		return -EINVAL;
	err = st_machine_id_get(rt->topo, &id);
	if (err)
		return err;
	return measure_and_save(rt, &id);
}

int strata_probe_cache_path(const struct strata_rt *rt, char *buf, size_t len)
{
	struct st_machine_id id;
	int err;

	if (!rt || !buf || !len)
		return -EINVAL;
	err = st_machine_id_get(rt->topo, &id);
	if (err)
		return err;
	return cache_path(rt, &id, buf, len);
}
