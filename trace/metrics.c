/* SPDX-License-Identifier: MIT */
/*
 * trace/metrics.c — series and their hot-path updates.
 *
 * A thread picks a shard once (round robin) and updates only that one with
 * relaxed atomics: two threads bumping the same counter touch different
 * cache lines.  Readers sum the shards; a scrape sees each shard's value
 * at some instant, which is what Prometheus counters promise.
 */
#include <errno.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "base/base.h"
#include "trace/metrics_int.h"

pthread_mutex_t st_metrics_lock = PTHREAD_MUTEX_INITIALIZER;
struct strata_metric *st_metrics_head;

static _Atomic unsigned next_shard;
static __thread unsigned my_shard __attribute__((tls_model("initial-exec"))) = ~0u;

static inline unsigned shard(void)
{
	if (__builtin_expect(my_shard == ~0u, 0))
		my_shard = atomic_fetch_add_explicit(&next_shard, 1, memory_order_relaxed) % ST_METRIC_SHARDS;
	return my_shard;
}

bool st_metric_name_ok(const char *name, enum strata_metric_type type)
{
	size_t n, i;

	if (!name || strncmp(name, "strata_", 7) || (n = strlen(name)) < 8 || n > 120)
		return false;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	if (type == STRATA_METRIC_COUNTER)
		return n > 6 && strcmp(name + n - 6, "_total") == 0;
	/* Only counters end in _total; histograms' series add their own suffixes. */
	return !(n > 6 && strcmp(name + n - 6, "_total") == 0) &&
	       !(type == STRATA_METRIC_HISTOGRAM && (strstr(name, "_bucket") || strstr(name, "_count")));
}

/* key="value"[,key="value"]... with the exposition format's escapes. */
bool st_metric_labels_ok(const char *l)
{
	if (!l || !*l)
		return true;
	for (;;) {
		if (!((*l >= 'a' && *l <= 'z') || *l == '_'))
			return false;
		while ((*l >= 'a' && *l <= 'z') || (*l >= '0' && *l <= '9') || *l == '_')
			l++;
		if (*l++ != '=' || *l++ != '"')
			return false;
		while (*l != '"') {
			if (!*l || *l == '\n')
				return false;
			if (*l == '\\') {
				l++;
				if (*l != '\\' && *l != '"' && *l != 'n')
					return false;
			}
			l++;
		}
		l++;
		if (!*l)
			return true;
		if (*l++ != ',')
			return false;
	}
}

int st_label_escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	for (; *src; src++) {
		const char *rep = *src == '\\' ? "\\\\" : *src == '"' ? "\\\"" : *src == '\n' ? "\\n" : NULL;
		size_t n = rep ? 2 : 1;

		if (o + n >= len)
			return -ERANGE;
		if (rep)
			memcpy(dst + o, rep, 2);
		else
			dst[o] = *src;
		o += n;
	}
	if (o >= len)
		return -ERANGE;
	dst[o] = '\0';
	return 0;
}

double st_hist_bound(const struct strata_metric *m, unsigned i)
{
	return ldexp(i % 2 ? 1.5 : 1.0, m->min_exp + (int)(i / 2));
}

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static int create(const char *name, const char *help, enum strata_metric_type type, const char *labels, int min_exp,
		  struct strata_metric **out)
{
	struct strata_metric *m;

	if (!out || (unsigned)type > STRATA_METRIC_HISTOGRAM || !st_metric_name_ok(name, type) ||
	    !st_metric_labels_ok(labels) || (help && strchr(help, '\n')))
		return -EINVAL;
	pthread_mutex_lock(&st_metrics_lock);
	for (m = st_metrics_head; m; m = m->next)
		if (strcmp(m->name, name) == 0) {
			if (m->type != type || (type == STRATA_METRIC_HISTOGRAM && m->min_exp != min_exp)) {
				pthread_mutex_unlock(&st_metrics_lock);
				return -EINVAL;
			}
			if (same(m->labels, labels)) {
				m->refs++;
				pthread_mutex_unlock(&st_metrics_lock);
				*out = m;
				return 0;
			}
		}
	m = calloc(1, sizeof(*m));
	if (m) {
		m->name = strdup(name);
		m->help = strdup(help ? help : "");
		m->labels = strdup(labels ? labels : "");
		m->type = type;
		m->refs = 1;
		m->min_exp = min_exp;
		if (type == STRATA_METRIC_COUNTER)
			m->shards = calloc(ST_METRIC_SHARDS, sizeof(*m->shards));
		if (type == STRATA_METRIC_HISTOGRAM)
			m->hist = calloc(ST_METRIC_SHARDS, sizeof(*m->hist));
	}
	if (!m || !m->name || !m->help || !m->labels || (type == STRATA_METRIC_COUNTER && !m->shards) ||
	    (type == STRATA_METRIC_HISTOGRAM && !m->hist)) {
		if (m) {
			free(m->name);
			free(m->help);
			free(m->labels);
			free(m->shards);
			free(m->hist);
			free(m);
		}
		pthread_mutex_unlock(&st_metrics_lock);
		return -ENOMEM;
	}
	m->next = st_metrics_head;
	st_metrics_head = m;
	pthread_mutex_unlock(&st_metrics_lock);
	*out = m;
	return 0;
}

int strata_metric_create(const char *name, const char *help, enum strata_metric_type type, const char *labels,
			 struct strata_metric **out)
{
	return create(name, help, type, labels, ST_HIST_MIN_EXP, out);
}

int strata_histogram_create(const char *name, const char *help, const char *labels, double smallest,
			    struct strata_metric **out)
{
	int e;

	if (!(smallest > 0) || !isfinite(smallest))
		return -EINVAL;
	/* smallest = f * 2^e, f in [0.5, 1): 2^e covers it, 2^(e-1) when f is 0.5 */
	if (frexp(smallest, &e) == 0.5)
		e--;
	if (e < -1000 || e > 1000 - (int)ST_HIST_BUCKETS / 2)
		return -EINVAL;
	return create(name, help, STRATA_METRIC_HISTOGRAM, labels, e, out);
}

void strata_metric_destroy(struct strata_metric *m)
{
	struct strata_metric **p;

	if (!m)
		return;
	pthread_mutex_lock(&st_metrics_lock);
	if (--m->refs) {
		pthread_mutex_unlock(&st_metrics_lock);
		return;
	}
	for (p = &st_metrics_head; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	pthread_mutex_unlock(&st_metrics_lock);
	free(m->name);
	free(m->help);
	free(m->labels);
	free(m->shards);
	free(m->hist);
	free(m);
}

void strata_metric_add(struct strata_metric *m, uint64_t n)
{
	if (m && m->shards)
		atomic_fetch_add_explicit(&m->shards[shard()].v, n, memory_order_relaxed);
}

void strata_metric_set(struct strata_metric *m, double v)
{
	uint64_t bits;

	if (!m || m->type != STRATA_METRIC_GAUGE)
		return;
	memcpy(&bits, &v, 8);
	atomic_store_explicit(&m->gauge_bits, bits, memory_order_relaxed);
}

void strata_metric_observe(struct strata_metric *m, double v)
{
	struct st_hist_shard *h;
	uint64_t old, new;
	unsigned b;
	int e;
	double f;

	if (!m || !m->hist || isnan(v))
		return;
	h = &m->hist[shard()];
	if (v <= st_hist_bound(m, 0)) {
		b = 0;
	} else {
		/* v = f * 2^e with f in [0.5, 1): bounds 2^(e-1) * {1, 1.5} and 2^e. */
		f = frexp(v, &e);
		int at = (e - 1 - m->min_exp) * 2 + (f == 0.5 ? 0 : f > 0.75 ? 2 : f > 0.5 ? 1 : 0);

		b = at < 0 ? 0u : (unsigned)at;
		if (b > ST_HIST_BUCKETS)
			b = ST_HIST_BUCKETS;
	}
	atomic_fetch_add_explicit(&h->count[b], 1, memory_order_relaxed);
	old = atomic_load_explicit(&h->sum_bits, memory_order_relaxed);
	do {
		double s;

		memcpy(&s, &old, 8);
		s += v;
		memcpy(&new, &s, 8);
	} while (!atomic_compare_exchange_weak_explicit(&h->sum_bits, &old, new, memory_order_relaxed,
							memory_order_relaxed));
}
