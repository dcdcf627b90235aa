/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/server.c — the HTTP server and the engine thread.
 *
 * libmicrohttpd runs a thread per connection.  A connection's handler
 * parses and tokenizes its request and puts a job on a bounded queue (a
 * full queue answers 503 at once).  One engine thread takes jobs in order
 * and generates; text goes into the job, and the connection either waits
 * for the whole answer or streams it as server-sent events while it grows.
 * A client that goes away mid-stream cancels its job; the engine moves on
 * to the next.  SIGTERM (or SIGINT) stops new connections, lets the jobs
 * in hand finish (the connections already accepted, for up to 30 s), and
 * returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "server.h"
#include "vocab.h"

#define MAX_BODY (1u << 20)

struct job {
	struct api_request req;
	char id[40];
	long created;
	char *out; /* non-stream: the text; stream: events not yet sent */
	size_t len, cap, sent;
	bool first, done, cancelled;
	int err;
	struct llm_gen_result res;
	int refs; /* the connection and the queue/engine */
	struct job *next;
};

struct server {
	struct llm_model *m;
	const char *model_name;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a job queued, grew or finished; stopping */
	struct job *head, *tail;
	unsigned queued, max_queue;
	unsigned active; /* requests received and not yet completed */
	bool stopping;
	unsigned long next_id;
	struct strata_metric *requests, *rejected, *prompt_tokens, *gen_tokens, *queue_depth, *ttft, *decode_rate;
};

static int wake_fd[2] = { -1, -1 };

static void on_signal(int sig)
{
	ssize_t r = write(wake_fd[1], &sig, 1);

	(void)r;
}

static void unref(struct job *j) /* lock held */
{
	if (--j->refs == 0) {
		api_request_free(&j->req);
		free(j->out);
		free(j);
	}
}

static int grow(struct job *j, const char *s, size_t n) /* lock held */
{
	if (j->len + n + 1 > j->cap) {
		size_t c = (j->len + n + 1) * 2;
		char *t = realloc(j->out, c);

		if (!t)
			return -ENOMEM;
		j->out = t;
		j->cap = c;
	}
	memcpy(j->out + j->len, s, n);
	j->len += n;
	j->out[j->len] = 0;
	return 0;
}

struct emit_ctx {
	struct server *s;
	struct job *j;
};

/* Text from the engine: kept for the answer, or turned into an event. */
static int emit(void *user, const char *text, size_t len)
{
	struct emit_ctx *c = user;
	struct job *j = c->j;
	int stop = 0;

	pthread_mutex_lock(&c->s->lock);
	if (j->cancelled) {
		stop = 1;
	} else if (!j->req.stream) {
		stop = grow(j, text, len) != 0;
	} else {
		char *ev = api_chunk(&j->req, j->id, j->created, c->s->model_name, text, len, j->first, NULL);

		stop = !ev || grow(j, ev, strlen(ev)) != 0;
		j->first = false;
		free(ev);
	}
	pthread_cond_broadcast(&c->s->changed);
	pthread_mutex_unlock(&c->s->lock);
	return stop;
}

static void *engine(void *arg)
{
	struct server *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct job *j;

		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->changed, &s->lock);
		if (!s->head)
			break; /* stopping, and nothing left */
		j = s->head;
		s->head = j->next;
		if (!s->head)
			s->tail = NULL;
		s->queued--;
		strata_metric_set(s->queue_depth, s->queued);
		if (!j->cancelled) {
			struct emit_ctx c = { s, j };
			int e;

			pthread_mutex_unlock(&s->lock);
			e = llm_generate(s->m, j->req.ids, j->req.nids, &j->req.go, emit, &c, &j->res);
			pthread_mutex_lock(&s->lock);
			j->err = e;
			if (!e) {
				strata_metric_add(s->prompt_tokens, j->res.prompt_tokens);
				strata_metric_add(s->gen_tokens, j->res.completion_tokens);
				strata_metric_observe(s->ttft, j->res.prefill_s);
				if (j->res.completion_tokens > 1 && j->res.decode_s > 0)
					strata_metric_observe(s->decode_rate,
							      (j->res.completion_tokens - 1) / j->res.decode_s);
			}
			if (!e && j->req.stream && !j->cancelled) {
				char *ev = api_chunk(&j->req, j->id, j->created, s->model_name, "", 0, j->first,
						     j->res.finish_reason);

				if (!ev || grow(j, ev, strlen(ev)))
					j->err = -ENOMEM;
				free(ev);
			}
		}
		j->done = true;
		pthread_cond_broadcast(&s->changed);
		unref(j);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---- HTTP ------------------------------------------------------------------ */

struct conn {
	struct server *s;
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, const char *type)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}");
		if (!body)
			return MHD_NO;
	}
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *message)
{
	return reply(c, status,
		     api_error(message, status == 503	? "server_busy"
					: status >= 500 ? "server_error"
							: "invalid_request_error"),
		     "application/json");
}

struct stream {
	struct server *s;
	struct job *j;
};

/* The next events of a streamed job; blocks (this connection's thread)
 * until there are some or the job is over. */
static ssize_t read_events(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct job *j = st->j;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&st->s->lock);
	while (j->sent == j->len && !j->done)
		pthread_cond_wait(&st->s->changed, &st->s->lock);
	if (j->sent < j->len) {
		n = (ssize_t)(j->len - j->sent < max ? j->len - j->sent : max);
		memcpy(buf, j->out + j->sent, (size_t)n);
		j->sent += (size_t)n;
	} else {
		n = j->err ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
	}
	pthread_mutex_unlock(&st->s->lock);
	return n;
}

/* The stream is over, or the client left: the job stops if it still runs. */
static void end_stream(void *cls)
{
	struct stream *st = cls;

	pthread_mutex_lock(&st->s->lock);
	if (!st->j->done)
		st->j->cancelled = true;
	unref(st->j);
	pthread_mutex_unlock(&st->s->lock);
	free(st);
}

static enum MHD_Result generate(struct server *s, struct MHD_Connection *c, struct conn *cs, bool chat)
{
	struct job *j = calloc(1, sizeof(*j));
	char why[256] = "";
	enum MHD_Result ret;
	int e;

	if (!j)
		return reply_error(c, 500, "out of memory");
	e = api_parse(s->m, chat, cs->body ? cs->body : "", cs->len, &j->req, why, sizeof(why));
	if (e) {
		free(j);
		return reply_error(c, e == -ENOMEM ? 500 : 400, e == -ENOMEM ? "out of memory" : why);
	}
	j->first = true;
	j->refs = 2;
	j->created = (long)time(NULL);
	pthread_mutex_lock(&s->lock);
	if (s->stopping || s->queued >= s->max_queue) {
		bool stopping = s->stopping;

		pthread_mutex_unlock(&s->lock);
		strata_metric_add(s->rejected, 1);
		api_request_free(&j->req);
		free(j);
		return reply_error(c, 503, stopping ? "the server is shutting down" : "too many requests are waiting; try again");
	}
	snprintf(j->id, sizeof(j->id), "%s-%lu", chat ? "chatcmpl" : "cmpl", ++s->next_id);
	if (s->tail)
		s->tail->next = j;
	else
		s->head = j;
	s->tail = j;
	s->queued++;
	strata_metric_set(s->queue_depth, s->queued);
	pthread_cond_broadcast(&s->changed);
	if (j->req.stream) {
		struct stream *st = malloc(sizeof(*st));
		struct MHD_Response *r;

		pthread_mutex_unlock(&s->lock);
		if (!st) {
			pthread_mutex_lock(&s->lock);
			j->cancelled = true;
			unref(j);
			pthread_mutex_unlock(&s->lock);
			return reply_error(c, 500, "out of memory");
		}
		*st = (struct stream){ s, j };
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, read_events, st, end_stream);
		if (!r) {
			end_stream(st);
			return MHD_NO;
		}
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
		ret = MHD_queue_response(c, MHD_HTTP_OK, r);
		MHD_destroy_response(r);
		return ret;
	}
	while (!j->done)
		pthread_cond_wait(&s->changed, &s->lock);
	e = j->err;
	{
		char *body = e ? NULL : api_result(&j->req, j->id, j->created, s->model_name, j->out ? j->out : "", j->len,
						   &j->res);

		unref(j);
		pthread_mutex_unlock(&s->lock);
		if (e)
			return reply_error(c, 500, strata_strerror(e));
		return reply(c, MHD_HTTP_OK, body, "application/json");
	}
}

/* /health: up, and how the weights' load went (the figures a dashboard or
 * the demo shows). */
static char *health(struct server *s)
{
	struct strata_load_stats ls;
	json_t *o;
	char *body;

	if (strata_load_stats(s->m->load, &ls))
		return NULL;
	o = json_pack("{s:s,s:s,s:i,s:i,s:{s:I,s:I,s:I,s:f,s:f,s:s}}", "status", "ok", "model", s->model_name, "context",
		      (json_int_t)s->m->ctx, "queued", (json_int_t)s->queued, "load", "tensors", (json_int_t)ls.tensors,
		      "tensors_ready", (json_int_t)ls.tensors_ready, "bytes", (json_int_t)ls.bytes, "seconds", ls.seconds,
		      "gbps", ls.gbps, "engine", ls.engine == STRATA_IO_URING ? "io_uring" : "pread");
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return body;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct conn *cs = *con_cls;
	bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET");

	(void)version;
	if (!cs) { /* headers only so far */
		if (!(cs = calloc(1, sizeof(*cs))))
			return MHD_NO;
		cs->s = s;
		pthread_mutex_lock(&s->lock);
		s->active++;
		pthread_mutex_unlock(&s->lock);
		*con_cls = cs;
		return MHD_YES;
	}
	if (*upload_size) {
		if (cs->len + *upload_size > MAX_BODY) {
			cs->too_big = true;
		} else {
			char *b = realloc(cs->body, cs->len + *upload_size + 1);

			if (!b)
				return MHD_NO;
			memcpy(b + cs->len, upload, *upload_size);
			cs->body = b;
			cs->len += *upload_size;
			cs->body[cs->len] = 0;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	strata_metric_add(s->requests, 1);
	if (!strcmp(url, "/health")) {
		if (!get)
			return reply_error(c, 405, "use GET");
		return reply(c, 200, health(s), "application/json");
	}
	if (!strcmp(url, "/metrics")) {
		char *text = NULL;
		size_t len;

		if (!get)
			return reply_error(c, 405, "use GET");
		if (strata_metrics_render(&text, &len))
			return reply_error(c, 500, "metrics unavailable");
		char *copy = strndup(text, len);

		strata_metrics_free(text);
		return reply(c, 200, copy, "text/plain; version=0.0.4");
	}
	if (!strcmp(url, "/v1/completions") || !strcmp(url, "/v1/chat/completions")) {
		if (!post)
			return reply_error(c, 405, "use POST");
		if (cs->too_big)
			return reply_error(c, 413, "the body is over 1 MiB");
		return generate(s, c, cs, !strcmp(url, "/v1/chat/completions"));
	}
	return reply_error(c, 404, "no such endpoint: try POST /v1/completions, POST /v1/chat/completions, GET /health, "
			     "GET /metrics");
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct conn *cs = *con_cls;

	(void)cls, (void)c, (void)toe;
	if (cs) {
		pthread_mutex_lock(&cs->s->lock);
		cs->s->active--;
		pthread_mutex_unlock(&cs->s->lock);
		free(cs->body);
		free(cs);
		*con_cls = NULL;
	}
}

static int parse_listen(const char *spec, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	long port;

	if (!colon || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	port = strtol(colon + 1, NULL, 10);
	if (port < 0 || port > 65535)
		return -EINVAL;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (!host[0])
		strcpy(host, "127.0.0.1");
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -EINVAL;
}

static void metrics_create(struct server *s)
{
	strata_metric_create("strata_serve_requests_total", "HTTP requests received", STRATA_METRIC_COUNTER, NULL,
			     &s->requests);
	strata_metric_create("strata_serve_rejected_total", "Generation requests refused with 503 (queue full)",
			     STRATA_METRIC_COUNTER, NULL, &s->rejected);
	strata_metric_create("strata_serve_prompt_tokens_total", "Prompt tokens processed", STRATA_METRIC_COUNTER, NULL,
			     &s->prompt_tokens);
	strata_metric_create("strata_serve_generated_tokens_total", "Tokens generated", STRATA_METRIC_COUNTER, NULL,
			     &s->gen_tokens);
	strata_metric_create("strata_serve_queue_depth", "Generation requests waiting", STRATA_METRIC_GAUGE, NULL,
			     &s->queue_depth);
	strata_metric_create("strata_serve_time_to_first_token_seconds", "Prefill time per request",
			     STRATA_METRIC_HISTOGRAM, NULL, &s->ttft);
	strata_metric_create("strata_serve_decode_tokens_per_second", "Decode speed per request",
			     STRATA_METRIC_HISTOGRAM, NULL, &s->decode_rate);
}

static void metrics_destroy(struct server *s)
{
	strata_metric_destroy(s->requests);
	strata_metric_destroy(s->rejected);
	strata_metric_destroy(s->prompt_tokens);
	strata_metric_destroy(s->gen_tokens);
	strata_metric_destroy(s->queue_depth);
	strata_metric_destroy(s->ttft);
	strata_metric_destroy(s->decode_rate);
}

/* Let the requests already received finish (the engine still runs), for
 * up to DRAIN_S seconds: one that arrived just before SIGTERM is answered,
 * not cut off.  Idle keep-alive connections do not count. */
#define DRAIN_S 30
static void drain(struct server *s)
{
	for (int i = 0; i < DRAIN_S * 50; i++) {
		pthread_mutex_lock(&s->lock);
		unsigned active = s->active;

		pthread_mutex_unlock(&s->lock);
		if (active == 0)
			return;
		usleep(20000);
	}
}

int server_run(struct llm_model *m, const struct server_opts *o)
{
	struct server s = { .m = m, .max_queue = o->queue ? o->queue : 16 };
	struct sigaction sa = { .sa_handler = on_signal }, old_term, old_int;
	struct sockaddr_in addr;
	struct MHD_Daemon *d;
	pthread_t eng;
	const char *slash = strrchr(m->path, '/');
	int e;

	s.model_name = slash ? slash + 1 : m->path;
	if (parse_listen(o->listen, &addr)) {
		fprintf(stderr, "strata-serve: --listen %s: expected ADDR:PORT with an IPv4 address\n", o->listen);
		return -EINVAL;
	}
	if (pipe(wake_fd))
		return -errno;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.changed, NULL);
	metrics_create(&s);
	if ((e = -pthread_create(&eng, NULL, engine, &s)))
		goto out;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC, 0, NULL, NULL,
			     handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned)256, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "strata-serve: cannot listen on %s (in use, or not an address of this machine)\n",
			o->listen);
		e = -EADDRINUSE;
	} else {
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGINT, &sa, &old_int);
		fprintf(stderr, "strata-serve: listening on http://%s (POST /v1/completions, /v1/chat/completions; GET /health, /metrics)\n",
			o->listen);
		for (char sig;;) {
			ssize_t r = read(wake_fd[0], &sig, 1);

			if (r == 1 || (r < 0 && errno != EINTR))
				break;
		}
		fprintf(stderr, "strata-serve: stopping: finishing the requests in hand\n");
		{
			MHD_socket ls = MHD_quiesce_daemon(d); /* no new connections */

			if (ls != MHD_INVALID_SOCKET)
				close(ls);
		}
		drain(&s);
		pthread_mutex_lock(&s.lock);
		s.stopping = true;
		pthread_cond_broadcast(&s.changed);
		pthread_mutex_unlock(&s.lock);
		pthread_join(eng, NULL);
		MHD_stop_daemon(d); /* waits for the connections' threads */
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGINT, &old_int, NULL);
		e = 0;
		goto closed;
	}
	pthread_mutex_lock(&s.lock);
	s.stopping = true;
	pthread_cond_broadcast(&s.changed);
	pthread_mutex_unlock(&s.lock);
	pthread_join(eng, NULL);
closed:
out:
	metrics_destroy(&s);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.changed);
	close(wake_fd[0]);
	close(wake_fd[1]);
	wake_fd[0] = wake_fd[1] = -1;
	return e;
}
