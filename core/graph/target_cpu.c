/* SPDX-License-Identifier: MIT */
/*
 * core/graph/target_cpu.c — the CPU target (target.h): each kernel as C
 * (emit.c), compiled by the system's C compiler for this CPU into a shared
 * object (kcache.c keeps them on disk, keyed by the source and the
 * toolchain's identity), loaded with dlopen and called directly.
 *
 * Kernels with the same source share one object; the objects missing from
 * the cache are compiled in parallel, one compiler per core.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core_int.h"
#include "core/graph/compile_int.h"
#include "core/graph/kcache.h"
#include "core/graph/target.h"

#define DEFAULT_CACHE_BYTES (256ull << 20)

struct cpu_state {
	struct st_toolchain tc;
	char dir[4096];
	bool private_dir; /* made for this program, removed after */
	void **objects; /* dlopen handles */
	unsigned nobjects;
};

static int kernel_dir(struct strata_program *p, const struct strata_compile_opts *opts, char *dir, size_t len,
		      bool *private_dir)
{
	const char *want = ST_OPT(opts, cache_dir, NULL);
	const char *tmp = getenv("TMPDIR");

	*private_dir = false;
	if (want && *want) {
		st_fmt(dir, len, "%s", want);
	} else if (!want && p->src->rt->cache_dir) {
		st_fmt(dir, len, "%s/kernels", p->src->rt->cache_dir);
	} else {
		*private_dir = true;
	}
	if (!*private_dir) {
		/* The runtime's folder may not exist yet: make every level. */
		char part[4096];
		char *slash;

		st_fmt(part, sizeof(part), "%s", dir);
		for (slash = strchr(part + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			mkdir(part, 0700);
			*slash = '/';
		}
		if (mkdir(dir, 0700) == 0 || errno == EEXIST)
			return 0;
		st_warn("kernel cache %s cannot be made (%s): kernels are built in a private folder", dir,
			strerror(errno));
		*private_dir = true;
	}
	if (st_fmt(dir, len, "%s/strata-kernels-XXXXXX", tmp && *tmp ? tmp : "/tmp") >= (int)len || !mkdtemp(dir))
		return st_program_fail(p, -errno ? -errno : -ENAMETOOLONG, "no folder to build kernels in");
	return 0;
}

struct object {
	uint64_t key;
	const char *source;
	char path[4200];
	bool ready;
	struct st_kbuild build;
};

/* Build every object not in the cache, up to one compiler per CPU at once. */
static int build_missing(struct strata_program *p, const struct st_toolchain *tc, const char *dir,
			 struct object *obj, unsigned n)
{
	unsigned cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN), started = 0, waited = 0, i;
	unsigned *queue = st_malloc((n ? n : 1) * sizeof(*queue)), nq = 0;
	int err = 0;

	if (!queue)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (!obj[i].ready)
			queue[nq++] = i;
	while (waited < nq) {
		while (!err && started < nq && started - waited < (cpus ? cpus : 1)) {
			struct object *o = &obj[queue[started]];

			err = st_kcache_build_start(tc, dir, o->key, o->source, &o->build);
			if (err) {
				st_program_fail(p, err, "cannot start %s: %s", tc->cc, strerror(-err));
				break;
			}
			started++;
		}
		if (waited == started)
			break;
		{
			struct object *o = &obj[queue[waited++]];
			int e = st_kcache_build_finish(&o->build);

			if (e && !err)
				err = st_program_fail(p, e, "kernel %016llx did not compile with %s (%s); its source is "
							    "kept at %s",
						      (unsigned long long)o->key, tc->cc, strerror(-e), o->build.src);
			if (!e) {
				st_fmt(o->path, sizeof(o->path), "%s", o->build.path);
				o->ready = true;
				p->info.compiled++;
			}
		}
	}
	st_free(queue);
	return err;
}

/* Load object @o; a cached object that will not load is built again. */
static int load(struct strata_program *p, const struct st_toolchain *tc, const char *dir, struct object *o,
		void **handle)
{
	*handle = dlopen(o->path, RTLD_NOW | RTLD_LOCAL);
	if (!*handle) {
		st_warn("kernel %s does not load (%s): building it again", o->path, dlerror());
		unlink(o->path);
		o->ready = false;
		if (build_missing(p, tc, dir, o, 1))
			return -ENOEXEC;
		*handle = dlopen(o->path, RTLD_NOW | RTLD_LOCAL);
		if (!*handle)
			return st_program_fail(p, -ENOEXEC, "kernel %s does not load: %s", o->path, dlerror());
	}
	return 0;
}

/* Find or build every kernel's object (one per distinct source), load it. */
static int cpu_build(struct strata_program *p, const struct strata_compile_opts *opts)
{
	struct cpu_state *st = p->target_state;
	const struct st_toolchain *tc = &st->tc;
	const char *dir = st->dir;
	const bool private_dir = st->private_dir;
	struct st_fusion *f = &p->f;
	struct object *obj = st_calloc(f->nk ? f->nk : 1, sizeof(*obj));
	unsigned n = 0, i, k, removed;
	int err = 0;

	if (!obj)
		return -ENOMEM;
	for (k = 0; k < f->nk && !err; k++) {
		for (i = 0; i < n && obj[i].key != f->k[k].hash; i++)
			;
		f->k[k].module = i;
		if (i == n) {
			obj[n].key = f->k[k].hash;
			obj[n].source = f->k[k].source;
			if (!private_dir && st_kcache_lookup(dir, obj[n].key, obj[n].path, sizeof(obj[n].path)) == 0) {
				obj[n].ready = true;
				p->info.cache_hits++;
			}
			n++;
		}
	}
	if (!err)
		err = build_missing(p, tc, dir, obj, n);
	if (!err) {
		st->objects = st_calloc(n ? n : 1, sizeof(*st->objects));
		err = st->objects ? 0 : -ENOMEM;
	}
	for (i = 0; i < n && !err; i++) {
		err = load(p, tc, dir, &obj[i], &st->objects[i]);
		if (!err)
			st->nobjects++;
	}
	for (k = 0; k < f->nk && !err; k++) {
		*(void **)&f->k[k].fn = dlsym(st->objects[f->k[k].module], "strata_kernel");
		if (!f->k[k].fn)
			err = st_program_fail(p, -ENOEXEC, "kernel %u has no entry point", k);
	}
	if (private_dir) {
		for (i = 0; i < n; i++)
			if (obj[i].ready)
				unlink(obj[i].path);
	} else if (p->info.compiled) {
		st_kcache_trim(dir, ST_OPT(opts, cache_max_bytes, 0) ? ST_OPT(opts, cache_max_bytes, 0)
								      : DEFAULT_CACHE_BYTES,
			       &removed);
	}
	p->info.objects = n;
	st_free(obj);
	if (private_dir)
		rmdir(dir); /* the source of a failed kernel stays, and the folder with it */
	return err;
}


static int cpu_open(struct strata_program *p, const struct strata_compile_opts *opts, char *why, size_t len)
{
	struct cpu_state *st = st_calloc(1, sizeof(*st));
	int err;

	if (!st)
		return -ENOMEM;
	p->target_state = st;
	err = kernel_dir(p, opts, st->dir, sizeof(st->dir), &st->private_dir);
	if (err)
		return err;
	if (st_kcache_toolchain(st->private_dir ? NULL : st->dir, &st->tc)) {
		st_fmt(why, len, "no working C compiler ($STRATA_CC, cc, gcc or clang on PATH): the reference "
				 "interpreter runs instead");
		return -ENOENT;
	}
	/* The target's name is part of what identifies its objects. */
	st->tc.id = st_fnv1a("cpu", 3, st->tc.id);
	p->target_id = st->tc.id;
	st_fmt(p->info.compiler, sizeof(p->info.compiler), "%s", st->tc.version);
	return 0;
}

static int cpu_emit(struct strata_program *p, struct st_kernel *k)
{
	struct cpu_state *st = p->target_state;
	int err = st_kernel_emit(st_program_graph(p), k);

	if (!err)
		k->hash = st_kcache_key(&st->tc, k->source);
	return err;
}

static int cpu_launch(struct st_call *c, int64_t lo, int64_t hi)
{
	return c->fn(c->t, c->seq, lo, hi);
}

static void cpu_close(struct strata_program *p)
{
	struct cpu_state *st = p->target_state;
	unsigned i;

	if (!st)
		return;
	for (i = 0; i < st->nobjects; i++)
		dlclose(st->objects[i]);
	st_free(st->objects);
	if (st->private_dir)
		rmdir(st->dir);
	st_free(st);
	p->target_state = NULL;
}

const struct st_target st_target_cpu = {
	.name = "cpu",
	.packs_weights = true,
	.open = cpu_open,
	.emit = cpu_emit,
	.build = cpu_build,
	.launch = cpu_launch,
	.close = cpu_close,
};
