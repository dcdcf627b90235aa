/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/server.c — the HTTP front: routes, request bodies, and the
 * connection's side of a job.
 *
 * libmicrohttpd runs a thread per connection.  A connection's handler
 * parses and tokenizes its request and puts a job on a bounded queue (a
 * full queue answers 503 at once); the engine thread (engine.c) runs the
 * jobs in order.  The connection either waits for the whole answer,
 * watching its socket so that a client that leaves cancels its job, or
 * streams server-sent events as they grow.  The guard (guard.c) bounds how
 * long a client may take to ask and how many connections there are.
 * SIGTERM (or SIGINT) stops new connections, lets the requests in hand
 * finish for up to --drain-timeout seconds, then cancels what still runs
 * and returns.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strata/metric_names.h>

#include "server_int.h"
#include "vocab.h"

#define MAX_BODY (1u << 20)
/* libmicrohttpd's own inactivity timeout, a backstop behind the guard's
 * deadlines: a connection whose client stops reading an answer for this
 * long is dropped.  It does not run while a handler waits for the engine
 * (a generation queued or running for minutes is answered). */
#define STALL_S 60

static int wake_fd[2] = { -1, -1 };

static void on_signal(int sig)
{
	ssize_t r = write(wake_fd[1], &sig, 1);

	(void)r;
}

/* ---- answers ----------------------------------------------------------------- */

struct conn {
	struct server *s;
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, char *body, const char *type, bool close)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!body) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		body = strdup("{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\",\"param\":null,"
			      "\"code\":null}}");
		if (!body)
			return MHD_NO;
	}
	r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (close)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_json(struct MHD_Connection *c, char *body)
{
	return reply(c, MHD_HTTP_OK, body, "application/json", false);
}

static enum MHD_Result reply_api_error(struct MHD_Connection *c, const struct api_error *e, bool close)
{
	return reply(c, e->status, api_error_json(e), "application/json", close);
}

/* An error of the server's own (not of a request's fields). */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *code, const char *message)
{
	struct api_error e;

	api_fail(&e, status, code, NULL, "%s", message);
	if (status == 503)
		e.type = "server_busy";
	return reply_api_error(c, &e, status == 503);
}

/* Whether the client on socket @fd closed its end: a client that left is
 * not there to read the answer, so its generation stops. */
static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return fd >= 0 && poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

static int socket_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

	return ci ? ci->connect_fd : -1;
}

/* Wait (lock held) until @j is over or, for a stream, has output past
 * @seen (SIZE_MAX: only its end), looking at its client (socket @fd)
 * every 100 ms: one that left cancels the job.  So a streamed job's
 * client is seen leaving while the job waits in the queue or in its
 * prefill, not only when a write fails.  Return: whether the client left
 * (a stream then stops at once; a plain answer waits for the engine to
 * let go of the job). */
static bool wait_job(struct server *s, int fd, struct job *j, size_t seen)
{
	while (!j->done && (seen == SIZE_MAX || j->len == seen)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100 * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		pthread_cond_timedwait(&s->changed, &s->lock, &ts);
		if (!j->done && !j->client_left && client_gone(fd)) {
			j->cancelled = j->client_left = true;
			pthread_cond_broadcast(&s->changed);
		}
		if (j->client_left && seen != SIZE_MAX)
			break;
	}
	return j->client_left;
}

/* ---- streams ----------------------------------------------------------------- */

struct stream {
	struct server *s;
	struct job *j;
	int fd; /* the client's socket */
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
		if (wait_job(st->s, st->fd, j, j->sent)) {
			pthread_mutex_unlock(&st->s->lock);
			return MHD_CONTENT_READER_END_WITH_ERROR;
		}
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
		st->j->cancelled = st->j->client_left = true;
	job_unref(st->j);
	pthread_mutex_unlock(&st->s->lock);
	free(st);
}

static enum MHD_Result start_stream(struct server *s, struct MHD_Connection *c, struct job *j)
{
	struct stream *st = malloc(sizeof(*st));
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (!st) {
		pthread_mutex_lock(&s->lock);
		j->cancelled = j->client_left = true;
		job_unref(j);
		pthread_mutex_unlock(&s->lock);
		return reply_error(c, 500, NULL, "out of memory");
	}
	*st = (struct stream){ s, j, socket_of(c) };
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

/* ---- plain answers -------------------------------------------------------------- */

static enum MHD_Result answer(struct server *s, struct MHD_Connection *c, struct job *j)
{
	struct api_error ae;
	char *body = NULL;
	bool left;
	int e;

	pthread_mutex_lock(&s->lock);
	wait_job(s, socket_of(c), j, SIZE_MAX);
	e = j->err;
	left = j->client_left;
	if (e)
		job_error(s, j, &ae);
	else
		body = api_result(s->m->vocab, &j->req, j->id, j->created, s->cfg.model, j->out ? j->out : "", j->len,
				  j->toks, j->ntoks, &j->res);
	job_unref(j);
	pthread_mutex_unlock(&s->lock);
	if (left) {
		free(body);
		return MHD_NO; /* nobody to answer: close */
	}
	return e ? reply_api_error(c, &ae, false) : reply_json(c, body);
}

static enum MHD_Result generate(struct server *s, struct MHD_Connection *c, struct conn *cs, bool chat)
{
	struct job *j = calloc(1, sizeof(*j));
	struct api_error ae;
	int e;

	if (!j)
		return reply_error(c, 500, NULL, "out of memory");
	e = api_parse(s->m, &s->cfg, chat, cs->body ? cs->body : "", cs->len, &j->req, &ae);
	if (e) {
		free(j);
		if (e == -ENOMEM)
			return reply_error(c, 500, NULL, "out of memory");
		return reply_api_error(c, &ae, false);
	}
	if (atomic_load(&s->m->damaged)) {
		api_request_free(&j->req);
		free(j);
		return reply_error(c, 500, "model_damaged", s->m->damage);
	}
	j->first = true;
	j->refs = 2;
	j->created = (long)time(NULL);
	pthread_mutex_lock(&s->lock);
	if (s->draining || s->queued >= s->max_queue) {
		bool draining = s->draining;

		pthread_mutex_unlock(&s->lock);
		strata_metric_add(s->rejected, 1);
		api_request_free(&j->req);
		free(j);
		return reply_error(c, 503, draining ? "server_shutting_down" : "queue_full",
				   draining ? "the server is shutting down" : "too many requests are waiting; try again");
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
	pthread_mutex_unlock(&s->lock);
	return j->req.stream ? start_stream(s, c, j) : answer(s, c, j);
}

/* ---- the other routes ------------------------------------------------------------ */

/* /health: up (503 when a weight is damaged), and how the weights' load
 * went (the figures a dashboard or the demo shows). */
static enum MHD_Result health(struct server *s, struct MHD_Connection *c)
{
	struct strata_load_stats ls = { .sz = sizeof(ls) };
	bool damaged = atomic_load(&s->m->damaged);
	json_t *o;
	char *body;

	if (strata_load_stats(s->m->load, &ls))
		return reply_error(c, 500, NULL, "load statistics unavailable");
	o = json_pack("{s:s,s:s,s:i,s:i,s:{s:I,s:I,s:I,s:f,s:f,s:s}}", "status", damaged ? "error" : "ok", "model",
		      s->cfg.model, "context", (json_int_t)s->m->ctx, "queued", (json_int_t)s->queued, "load", "tensors",
		      (json_int_t)ls.tensors, "tensors_ready", (json_int_t)ls.tensors_ready, "bytes", (json_int_t)ls.bytes,
		      "seconds", ls.seconds, "gbps", ls.gbps, "engine", ls.engine == STRATA_IO_URING ? "io_uring" : "pread");
	if (o && damaged)
		json_object_set_new(o, "error", json_string(s->m->damage));
	body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return reply(c, damaged ? 503 : 200, body, "application/json", false);
}

static enum MHD_Result metrics(struct MHD_Connection *c)
{
	char *text = NULL, *copy;
	size_t len;

	if (strata_metrics_render(&text, &len))
		return reply_error(c, 500, NULL, "metrics unavailable");
	copy = strndup(text, len);
	strata_metrics_free(text);
	return reply(c, 200, copy, "text/plain; version=0.0.4", false);
}

static enum MHD_Result models(struct server *s, struct MHD_Connection *c, const char *id)
{
	if (!id)
		return reply_json(c, api_models(s->cfg.model, s->started));
	if (strcmp(id, s->cfg.model)) {
		struct api_error e;

		api_fail(&e, 404, "model_not_found", "model", "the model \"%.100s\" does not exist here: this server serves \"%s\"",
			 id, s->cfg.model);
		return reply_api_error(c, &e, false);
	}
	return reply_json(c, api_model(s->cfg.model, s->started));
}

static enum MHD_Result route(struct server *s, struct MHD_Connection *c, struct conn *cs, const char *url, bool get,
			     bool post)
{
	if (!strcmp(url, "/health"))
		return get ? health(s, c) : reply_error(c, 405, NULL, "use GET");
	if (!strcmp(url, "/metrics"))
		return get ? metrics(c) : reply_error(c, 405, NULL, "use GET");
	if (!strcmp(url, "/v1/models") || !strncmp(url, "/v1/models/", 11))
		return get ? models(s, c, url[10] ? url + 11 : NULL) : reply_error(c, 405, NULL, "use GET");
	if (!strcmp(url, "/v1/completions") || !strcmp(url, "/v1/chat/completions")) {
		if (!post)
			return reply_error(c, 405, NULL, "use POST");
		if (cs->too_big)
			return reply_error(c, 413, "body_too_large", "the body is over 1 MiB");
		return generate(s, c, cs, !strcmp(url, "/v1/chat/completions"));
	}
	return reply_error(c, 404, "not_found",
			   "no such endpoint: try POST /v1/completions, POST /v1/chat/completions, GET /v1/models, "
			   "GET /health, GET /metrics");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct server *s = cls;
	struct conn *cs = *con_cls;
	bool post = !strcmp(method, "POST"), get = !strcmp(method, "GET");

	(void)version;
	if (!cs) { /* the header is in */
		if (guard_over_limit(c))
			return reply_error(c, 503, "too_many_connections",
					   "too many connections are open; close idle ones or try again");
		if (!(cs = calloc(1, sizeof(*cs))))
			return MHD_NO;
		cs->s = s;
		pthread_mutex_lock(&s->lock);
		s->active++;
		pthread_mutex_unlock(&s->lock);
		*con_cls = cs;
		guard_phase(s->guard, c, post ? GUARD_BODY : GUARD_BUSY);
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
	guard_phase(s->guard, c, GUARD_BUSY);
	strata_metric_add(s->requests, 1);
	return route(s, c, cs, url, get, post);
}

/* A request is over (answered, or its client left): the connection, if
 * kept alive, waits for the next under the idle deadline. */
static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct server *s = cls;
	struct conn *cs = *con_cls;

	(void)toe;
	guard_phase(s->guard, c, GUARD_HEADER);
	if (cs) {
		pthread_mutex_lock(&s->lock);
		s->active--;
		pthread_mutex_unlock(&s->lock);
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
	static const struct {
		size_t at;
		const char *name, *help;
		enum strata_metric_type type;
	} list[] = {
#define M(field, name, help, type) { offsetof(struct server, field), name, help, STRATA_METRIC_##type }
		M(requests, STRATA_MN_SERVE_REQUESTS_TOTAL, "HTTP requests received", COUNTER),
		M(rejected, STRATA_MN_SERVE_REJECTED_TOTAL, "Generation requests refused with 503 (queue full, shutting down)",
		  COUNTER),
		M(cancelled, STRATA_MN_SERVE_CANCELLED_TOTAL,
		  "Generations cancelled: the client left, or the drain after SIGTERM ran out", COUNTER),
		M(prompt_tokens, STRATA_MN_SERVE_PROMPT_TOKENS_TOTAL, "Prompt tokens processed", COUNTER),
		M(gen_tokens, STRATA_MN_SERVE_GENERATED_TOKENS_TOTAL, "Tokens generated", COUNTER),
		M(queue_depth, STRATA_MN_SERVE_QUEUE_DEPTH, "Generation requests waiting", GAUGE),
		M(ttft, STRATA_MN_SERVE_TIME_TO_FIRST_TOKEN_SECONDS, "Prefill time per request", HISTOGRAM),
		M(connections, STRATA_MN_SERVE_CONNECTIONS, "HTTP connections open", GAUGE),
		M(conn_refused, STRATA_MN_SERVE_CONNECTIONS_REFUSED_TOTAL,
		  "Connections answered 503 because too many were open", COUNTER),
		M(conn_timed_out, STRATA_MN_SERVE_CONNECTIONS_TIMED_OUT_TOTAL,
		  "Connections closed for taking too long to send a request, or idling past the deadline", COUNTER),
#undef M
	};

	for (size_t i = 0; i < sizeof(list) / sizeof(list[0]); i++)
		strata_metric_create(list[i].name, list[i].help, list[i].type, NULL,
				     (struct strata_metric **)((char *)s + list[i].at));
	/* Rates from a fraction of a token a second to far past what a CPU
	 * decodes. */
	strata_histogram_create(STRATA_MN_SERVE_DECODE_TOKENS_PER_SECOND, "Decode speed per request", NULL, 0.25,
				&s->decode_rate);
}

static void metrics_destroy(struct server *s)
{
	struct strata_metric *all[] = { s->requests, s->rejected, s->cancelled, s->prompt_tokens, s->gen_tokens,
					s->queue_depth, s->ttft, s->decode_rate, s->connections, s->conn_refused,
					s->conn_timed_out };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		strata_metric_destroy(all[i]);
}

static unsigned active(struct server *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->active;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Wait up to @seconds for the requests in hand (idle keep-alive
 * connections do not count).  Return: whether they all finished. */
static bool wait_active(struct server *s, unsigned seconds)
{
	for (unsigned i = 0; i < seconds * 50; i++) {
		if (active(s) == 0)
			return true;
		usleep(20000);
	}
	return active(s) == 0;
}

/* After SIGTERM: let the requests already received finish (one that
 * arrived just before the signal is answered, not cut off), for up to
 * @seconds; then cancel every generation still waiting or running, so
 * the process exits on time. */
static void drain(struct server *s, unsigned seconds)
{
	pthread_mutex_lock(&s->lock);
	s->draining = true;
	pthread_mutex_unlock(&s->lock);
	if (wait_active(s, seconds))
		return;
	pthread_mutex_lock(&s->lock);
	unsigned n = 0;

	for (struct job *j = s->head; j; j = j->next, n++)
		j->cancelled = true;
	if (s->running) {
		s->running->cancelled = true;
		n++;
	}
	pthread_cond_broadcast(&s->changed);
	pthread_mutex_unlock(&s->lock);
	fprintf(stderr, "strata-serve: the drain's %u s are over: %u generation%s cancelled\n", seconds, n,
		n == 1 ? "" : "s");
	wait_active(s, 5);
}

int server_run(struct llm_model *m, const struct server_opts *o)
{
	struct server s = { .m = m, .max_queue = o->queue ? o->queue : 16, .started = (long)time(NULL) };
	struct guard_opts go = { .max_conns = o->max_conns ? o->max_conns : 1024,
				 .header_s = o->header_timeout ? o->header_timeout : 10,
				 .body_s = o->body_timeout ? o->body_timeout : 30,
				 .idle_s = o->idle_timeout ? o->idle_timeout : 30 };
	struct sigaction sa = { .sa_handler = on_signal }, old_term, old_int;
	struct sockaddr_in addr;
	struct MHD_Daemon *d;
	pthread_t eng;
	const char *slash = strrchr(m->path, '/');
	int e;

	s.cfg.model = o->model_name ? o->model_name : slash ? slash + 1 : m->path;
	s.cfg.accept_any_model = o->accept_any_model;
	if (parse_listen(o->listen, &addr)) {
		fprintf(stderr, "strata-serve: --listen %s: expected ADDR:PORT with an IPv4 address\n", o->listen);
		return -EINVAL;
	}
	if (pipe(wake_fd))
		return -errno;
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.changed, NULL);
	metrics_create(&s);
	go.open = s.connections, go.refused = s.conn_refused, go.timed_out = s.conn_timed_out;
	if ((e = guard_start(&go, &s.guard)))
		goto out;
	if ((e = -pthread_create(&eng, NULL, engine_main, &s)))
		goto out;
	/* libmicrohttpd's own limit sits above the guard's, so that a client
	 * past the guard's limit is told so rather than dropped. */
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ITC, 0, NULL, NULL,
			     handle, &s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
			     go.max_conns + 64, MHD_OPTION_NOTIFY_COMPLETED, completed, &s, MHD_OPTION_NOTIFY_CONNECTION,
			     guard_notify, s.guard, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1u << 20), MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned)STALL_S, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "strata-serve: cannot listen on %s (in use, or not an address of this machine)\n",
			o->listen);
		e = -EADDRINUSE;
	} else {
		sigaction(SIGTERM, &sa, &old_term);
		sigaction(SIGINT, &sa, &old_int);
		fprintf(stderr,
			"strata-serve: listening on http://%s as \"%s\" (POST /v1/completions, /v1/chat/completions; GET "
			"/v1/models, /health, /metrics)\n",
			o->listen, s.cfg.model);
		for (char sig;;) {
			ssize_t r = read(wake_fd[0], &sig, 1);

			if (r == 1 || (r < 0 && errno != EINTR))
				break;
		}
		fprintf(stderr, "strata-serve: stopping: finishing the requests in hand (up to %u s)\n",
			o->drain_timeout);
		{
			MHD_socket ls = MHD_quiesce_daemon(d); /* no new connections */

			if (ls != MHD_INVALID_SOCKET)
				close(ls);
		}
		drain(&s, o->drain_timeout);
		pthread_mutex_lock(&s.lock);
		s.stopping = true;
		pthread_cond_broadcast(&s.changed);
		pthread_mutex_unlock(&s.lock);
		pthread_join(eng, NULL);
		MHD_stop_daemon(d); /* closes the connections and waits for their threads */
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
	guard_stop(s.guard);
	metrics_destroy(&s);
	pthread_mutex_destroy(&s.lock);
	pthread_cond_destroy(&s.changed);
	close(wake_fd[0]);
	close(wake_fd[1]);
	wake_fd[0] = wake_fd[1] = -1;
	return e;
}
