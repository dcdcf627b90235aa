/* SPDX-License-Identifier: MIT */
/*
 * core/rt.c — the runtime context: create it from options, own what it
 * discovers, destroy it in reverse order.
 *
 * Every failure unwinds through one exit path, and every allocation made
 * here goes through the bookkeeping hook, so tests can fail each one in
 * turn and check that nothing leaks.
 */
#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strata/rt.h>

#include "core/core_int.h"
#include "core/sched.h"
#include "mm/mm_int.h"

/* $XDG_CACHE_HOME/strata, else $HOME/.cache/strata, else the passwd entry's
 * home.  A relative XDG_CACHE_HOME is ignored, as the XDG spec requires. */
static int default_cache_dir(char **out)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char buf[4096];
	int n;

	if (xdg && xdg[0] == '/') {
		n = st_fmt(buf, sizeof(buf), "%s/strata", xdg);
	} else {
		if (!home || home[0] != '/') {
			struct passwd *pw = getpwuid(getuid());

			home = pw ? pw->pw_dir : NULL;
		}
		if (!home || home[0] != '/') {
			*out = NULL;
			return 0;
		}
		n = st_fmt(buf, sizeof(buf), "%s/.cache/strata", home);
	}
	if (n >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	*out = st_strdup(buf);
	return *out ? 0 : -ENOMEM;
}

static int check_opts(const struct strata_rt_opts *opts)
{
	if (!st_opts_valid(opts, sizeof(*opts)))
		return -EINVAL;
	if (ST_OPT(opts, flags, 0u) != 0)
		return -EINVAL;
	if ((unsigned)ST_OPT(opts, probe, STRATA_PROBE_CACHED) > STRATA_PROBE_OFF)
		return -EINVAL;
	if (ST_OPT(opts, topology_xml, NULL) && ST_OPT(opts, topology_synthetic, NULL))
		return -EINVAL;
	return 0;
}

int strata_rt_create(const struct strata_rt_opts *opts, struct strata_rt **out)
{
	const char *cache_dir;
	struct strata_rt *rt;
	int err;

	if (!out)
		return -EINVAL;
	err = check_opts(opts);
	if (err)
		return err;

	st_alloc_pin();
	rt = st_calloc(1, sizeof(*rt));
	if (!rt) {
		err = -ENOMEM;
		goto err_unpin;
	}
	pthread_mutex_init(&rt->sched_lock, NULL);
	err = st_topo_create(ST_OPT(opts, topology_xml, NULL), ST_OPT(opts, topology_synthetic, NULL), &rt->topo);
	if (err) {
		st_error("topology discovery failed: %s", strata_strerror(err));
		goto err_free_rt;
	}
	cache_dir = ST_OPT(opts, cache_dir, NULL);
	if (cache_dir) {
		rt->cache_dir = st_strdup(cache_dir);
		err = rt->cache_dir ? 0 : -ENOMEM;
	} else {
		err = default_cache_dir(&rt->cache_dir);
	}
	if (err)
		goto err_free_topo;
	err = st_domain_create(rt->topo->n_nodes, &rt->mm);
	if (err)
		goto err_free_cache_dir;

	/* The probe is an optimisation: without figures, placement falls back
	 * to topology alone, so a failure is reported but not fatal. */
	err = st_probe_init(rt, ST_OPT(opts, probe, STRATA_PROBE_CACHED));
	if (err)
		st_warn("bandwidth probe unavailable: %s", strata_strerror(err));

	st_observe_start(ST_OPT(opts, metrics_addr, NULL));
	err = st_telemetry_start(rt);
	if (err)
		st_warn("telemetry unavailable: %s", strata_strerror(err));
	st_debug("runtime created: %u node(s), %u core(s), %u device(s)", rt->topo->n_nodes, rt->topo->cores,
		 rt->topo->n_devices);
	*out = rt;
	return 0;

err_free_cache_dir:
	st_free(rt->cache_dir);
err_free_topo:
	st_topo_destroy(rt->topo);
err_free_rt:
	pthread_mutex_destroy(&rt->sched_lock);
	st_free(rt);
err_unpin:
	st_alloc_unpin();
	return err;
}

void strata_rt_destroy(struct strata_rt *rt)
{
	if (!rt)
		return;
	st_telemetry_stop(rt);
	st_observe_stop();
	st_sched_destroy(rt->sched);
	pthread_mutex_destroy(&rt->sched_lock);
	st_domain_destroy(rt->mm);
	st_free(rt->probe);
	st_free(rt->cache_dir);
	st_topo_destroy(rt->topo);
	st_free(rt);
	st_alloc_unpin();
}

int st_rt_sched(struct strata_rt *rt, unsigned threads, struct st_sched **out)
{
	unsigned cores = rt->topo->cores ? rt->topo->cores : 1;
	int err = 0;

	pthread_mutex_lock(&rt->sched_lock);
	/* At least one worker per core, so that a later program asking for
	 * every core finds them pinned. */
	if (!rt->sched)
		err = st_sched_create(rt->topo, threads > cores ? threads : cores, &rt->sched);
	else if (threads > st_sched_threads(rt->sched))
		err = st_sched_reserve(rt->sched, threads);
	pthread_mutex_unlock(&rt->sched_lock);
	if (!err)
		*out = rt->sched;
	return err;
}

bool strata_rt_is_this_machine(const struct strata_rt *rt)
{
	return rt && rt->topo->this_machine;
}
