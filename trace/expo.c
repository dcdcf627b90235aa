/* SPDX-License-Identifier: MIT */
/*
 * trace/expo.c — the exposition: registered series and collector samples,
 * grouped by name, in Prometheus text format 0.0.4 (what `promtool check
 * metrics` checks); and the tracer's own overhead as metrics.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strata/metric_names.h>

#include "base/base.h"
#include "trace/metrics_int.h"
#include "trace/trace_int.h"

extern _Atomic uint64_t st_trace_listener_cpu_ns, st_trace_attaches, st_trace_refused;

struct sample {
	const char *name, *help, *labels;
	enum strata_metric_type type;
	double value;
	const struct strata_metric *series; /* registry series: read at render time */
};

struct strata_metric_writer {
	struct sample *s;
	size_t n, cap;
	char **owned; /* strings copied from collectors */
	size_t nowned, capowned;
	int err;
};

struct collector {
	strata_metric_collect_fn fn;
	void *user;
	uint64_t handle;
};

static pthread_mutex_t collectors_lock = PTHREAD_MUTEX_INITIALIZER;
static struct collector *collectors;
static size_t ncollectors, capcollectors;
static uint64_t next_handle = 1;

int strata_metric_collector_add(strata_metric_collect_fn fn, void *user, uint64_t *handle)
{
	int err = 0;

	if (!fn)
		return -EINVAL;
	pthread_mutex_lock(&collectors_lock);
	if (ncollectors == capcollectors) {
		size_t cap = capcollectors ? capcollectors * 2 : 8;
		struct collector *n = realloc(collectors, cap * sizeof(*n));

		if (n) {
			collectors = n;
			capcollectors = cap;
		} else {
			err = -ENOMEM;
		}
	}
	if (!err) {
		collectors[ncollectors++] = (struct collector){ fn, user, next_handle };
		if (handle)
			*handle = next_handle;
		next_handle++;
	}
	pthread_mutex_unlock(&collectors_lock);
	return err;
}

int strata_metric_collector_remove(uint64_t handle)
{
	size_t i;
	int err = -ENOENT;

	pthread_mutex_lock(&collectors_lock);
	for (i = 0; i < ncollectors; i++)
		if (collectors[i].handle == handle) {
			collectors[i] = collectors[--ncollectors];
			err = 0;
			break;
		}
	if (!ncollectors) {
		free(collectors);
		collectors = NULL;
		capcollectors = 0;
	}
	pthread_mutex_unlock(&collectors_lock);
	return err;
}

static char *own(struct strata_metric_writer *w, const char *s)
{
	char *c;

	if (w->nowned == w->capowned) {
		size_t cap = w->capowned ? w->capowned * 2 : 64;
		char **n = realloc(w->owned, cap * sizeof(*n));

		if (!n)
			return NULL;
		w->owned = n;
		w->capowned = cap;
	}
	c = strdup(s ? s : "");
	if (c)
		w->owned[w->nowned++] = c;
	return c;
}

static int push(struct strata_metric_writer *w, const struct sample *s)
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 128;
		struct sample *n = realloc(w->s, cap * sizeof(*n));

		if (!n)
			return w->err = -ENOMEM;
		w->s = n;
		w->cap = cap;
	}
	w->s[w->n++] = *s;
	return 0;
}

int strata_metric_write(struct strata_metric_writer *w, const char *name, const char *help,
			enum strata_metric_type type, const char *labels, double value)
{
	struct sample s = { .type = type, .value = value };

	if (!w || type == STRATA_METRIC_HISTOGRAM || (unsigned)type > STRATA_METRIC_HISTOGRAM ||
	    !st_metric_name_ok(name, type) || !st_metric_labels_ok(labels) || (help && strchr(help, '\n')))
		return -EINVAL;
	s.name = own(w, name);
	s.help = own(w, help);
	s.labels = own(w, labels);
	if (!s.name || !s.help || !s.labels)
		return w->err = -ENOMEM;
	return push(w, &s);
}

/* The tracer's own figures. */
static void self_collector(struct strata_metric_writer *w)
{
	struct st_trace_header *h = st_trace_shm.hdr;
	uint64_t dropped = st_trace_slotless_drops(), produced = 0;
	unsigned s;

	for (s = 0; h && s < h->nslots; s++) {
		struct st_trace_ring *r = st_trace_ring_at(h, s);

		dropped += atomic_load_explicit(&r->dropped, memory_order_relaxed);
		produced += atomic_load_explicit(&r->head, memory_order_relaxed);
	}
	strata_metric_write(w, STRATA_MN_TRACE_EVENTS_TOTAL, "Trace events written into the rings", STRATA_METRIC_COUNTER,
			    NULL, (double)produced);
	strata_metric_write(w, STRATA_MN_TRACE_EVENTS_DROPPED_TOTAL,
			    "Trace events refused (ring full in drop-newest mode, or no ring free)",
			    STRATA_METRIC_COUNTER, NULL, (double)dropped);
	strata_metric_write(w, STRATA_MN_TRACE_RING_BYTES, "Shared memory reserved for trace rings", STRATA_METRIC_GAUGE,
			    NULL, h ? (double)h->total_bytes : 0);
	strata_metric_write(w, STRATA_MN_TRACE_CPU_SECONDS_TOTAL, "CPU time of the tracer's socket thread",
			    STRATA_METRIC_COUNTER, NULL, (double)atomic_load(&st_trace_listener_cpu_ns) / 1e9);
	strata_metric_write(w, STRATA_MN_TRACE_ATTACHES_TOTAL, "Readers that attached", STRATA_METRIC_COUNTER, NULL,
			    (double)atomic_load(&st_trace_attaches));
	strata_metric_write(w, STRATA_MN_TRACE_REFUSED_TOTAL, "Connections refused by the peer-credential check",
			    STRATA_METRIC_COUNTER, NULL, (double)atomic_load(&st_trace_refused));
	strata_metric_write(w, STRATA_MN_TRACE_READERS, "Readers attached now", STRATA_METRIC_GAUGE, NULL,
			    h ? (double)atomic_load(&h->readers) : 0);
}

/* ---- text -------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	int err;
};

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = -EINVAL;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		{
			size_t cap = (b->cap ? b->cap * 2 : 65536) + (size_t)n;
			char *p = realloc(b->p, cap);

			if (!p) {
				b->err = -ENOMEM;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

static void put_value(struct buf *b, double v)
{
	if (isnan(v))
		put(b, "NaN\n");
	else if (isinf(v))
		put(b, v > 0 ? "+Inf\n" : "-Inf\n");
	else if (v == (double)(int64_t)v && fabs(v) < 9e15)
		put(b, "%lld\n", (long long)v);
	else
		put(b, "%.17g\n", v);
}

static void put_series(struct buf *b, const char *name, const char *suffix, const char *labels, const char *extra)
{
	bool l = labels && *labels, e = extra && *extra;

	put(b, "%s%s", name, suffix);
	if (l || e)
		put(b, "{%s%s%s}", l ? labels : "", l && e ? "," : "", e ? extra : "");
	put(b, " ");
}

static void render_histogram(struct buf *b, const struct sample *s)
{
	const struct strata_metric *m = s->series;
	uint64_t cum = 0;
	double sum = 0;
	unsigned i, k;
	char le[48];

	for (i = 0; i <= ST_HIST_BUCKETS; i++) {
		uint64_t c = 0;

		for (k = 0; k < ST_METRIC_SHARDS; k++)
			c += atomic_load_explicit(&m->hist[k].count[i], memory_order_relaxed);
		cum += c;
		if (i == ST_HIST_BUCKETS)
			snprintf(le, sizeof(le), "le=\"+Inf\"");
		else
			snprintf(le, sizeof(le), "le=\"%.17g\"", st_hist_bound(m, i));
		put_series(b, s->name, "_bucket", s->labels, le);
		put(b, "%llu\n", (unsigned long long)cum);
	}
	for (k = 0; k < ST_METRIC_SHARDS; k++) {
		uint64_t bits = atomic_load_explicit(&m->hist[k].sum_bits, memory_order_relaxed);
		double d;

		memcpy(&d, &bits, 8);
		sum += d;
	}
	put_series(b, s->name, "_sum", s->labels, NULL);
	put_value(b, sum);
	put_series(b, s->name, "_count", s->labels, NULL);
	put(b, "%llu\n", (unsigned long long)cum);
}

static int by_name(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->labels, y->labels);
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

int st_metrics_render(char **text, size_t *len)
{
	struct strata_metric_writer w = { 0 };
	struct buf b = { 0 };
	enum strata_metric_type family = STRATA_METRIC_COUNTER;
	struct strata_metric *m;
	size_t i;

	pthread_mutex_lock(&collectors_lock);
	for (i = 0; i < ncollectors; i++)
		collectors[i].fn(collectors[i].user, &w);
	pthread_mutex_unlock(&collectors_lock);
	self_collector(&w);
	pthread_mutex_lock(&st_metrics_lock);
	for (m = st_metrics_head; m; m = m->next) {
		struct sample s = { .name = m->name, .help = m->help, .labels = m->labels, .type = m->type, .series = m };

		if (m->type == STRATA_METRIC_COUNTER) {
			unsigned k;

			for (k = 0; k < ST_METRIC_SHARDS; k++)
				s.value += (double)atomic_load_explicit(&m->shards[k].v, memory_order_relaxed);
		} else if (m->type == STRATA_METRIC_GAUGE) {
			uint64_t bits = atomic_load_explicit(&m->gauge_bits, memory_order_relaxed);

			memcpy(&s.value, &bits, 8);
		}
		push(&w, &s);
	}
	qsort(w.s, w.n, sizeof(*w.s), by_name);
	for (i = 0; i < w.n && !w.err; i++) {
		const struct sample *s = &w.s[i];

		if (i == 0 || strcmp(s->name, w.s[i - 1].name)) {
			put(&b, "# HELP %s %s\n", s->name, s->help && *s->help ? s->help : s->name);
			put(&b, "# TYPE %s %s\n", s->name, type_names[s->type]);
			family = s->type;
		} else if (s->type != family) {
			continue; /* one name, one type: a conflicting sample is left out */
		}
		if (s->type == STRATA_METRIC_HISTOGRAM) {
			render_histogram(&b, s);
		} else {
			put_series(&b, s->name, "", s->labels, NULL);
			put_value(&b, s->value);
		}
	}
	pthread_mutex_unlock(&st_metrics_lock);
	for (i = 0; i < w.nowned; i++)
		free(w.owned[i]);
	free(w.owned);
	free(w.s);
	if (w.err || b.err) {
		free(b.p);
		return w.err ? w.err : b.err;
	}
	if (!b.p) {
		b.p = strdup("");
		if (!b.p)
			return -ENOMEM;
	}
	*text = b.p;
	*len = b.len;
	return 0;
}

int strata_metrics_render(char **text, size_t *len)
{
	size_t l;

	if (!text)
		return -EINVAL;
	return st_metrics_render(text, len ? len : &l);
}

void strata_metrics_free(char *text)
{
	free(text);
}
