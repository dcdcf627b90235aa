/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/engine.c — the engine thread and the jobs it runs.
 *
 * One thread takes jobs in order and generates.  Text goes into the job:
 * the whole answer for a plain request, server-sent events for a stream,
 * which the connection's thread sends as they grow.  A job marked
 * cancelled (its client left, or the drain after SIGTERM ran out) stops
 * at its next token.  A stream that fails after its header went out ends
 * with an error event, as OpenAI's do.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "server_int.h"

void job_unref(struct job *j)
{
	if (--j->refs == 0) {
		api_request_free(&j->req);
		free(j->out);
		free(j->toks);
		free(j);
	}
}

int job_grow(struct job *j, const char *s, size_t n)
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

static int add_tokens(struct job *j, const struct llm_token_out *toks, size_t n)
{
	if (j->ntoks + n > j->tokcap) {
		size_t c = (j->ntoks + n) * 2;
		struct llm_token_out *t = realloc(j->toks, c * sizeof(*t));

		if (!t)
			return -ENOMEM;
		j->toks = t;
		j->tokcap = c;
	}
	memcpy(j->toks + j->ntoks, toks, n * sizeof(*toks));
	j->ntoks += n;
	return 0;
}

/* A stream's next event, added to its output. */
static int add_chunk(struct server *s, struct job *j, const char *text, size_t len, const struct llm_token_out *toks,
		     size_t ntoks, const char *finish)
{
	char *ev = api_chunk(s->m->vocab, &j->req, j->id, j->created, s->cfg.model, text, len, toks, ntoks, j->offset,
			     j->first, finish, &j->res);
	int e = ev ? job_grow(j, ev, strlen(ev)) : -ENOMEM;

	free(ev);
	j->first = false;
	j->offset += len;
	return e;
}

struct emit_ctx {
	struct server *s;
	struct job *j;
};

/* Text from the engine: kept for the answer, or turned into an event. */
static int emit(void *user, const char *text, size_t len, const struct llm_token_out *toks, size_t ntoks)
{
	struct emit_ctx *c = user;
	struct job *j = c->j;
	int stop = 0;

	pthread_mutex_lock(&c->s->lock);
	if (j->cancelled)
		stop = 1;
	else if (!j->req.stream)
		stop = job_grow(j, text, len) != 0 || (ntoks && add_tokens(j, toks, ntoks) != 0);
	else
		stop = add_chunk(c->s, j, text, len, toks, ntoks, NULL) != 0;
	pthread_cond_broadcast(&c->s->changed);
	pthread_mutex_unlock(&c->s->lock);
	return stop;
}

void job_error(const struct server *s, const struct job *j, struct api_error *e)
{
	if (j->err == -EBADMSG)
		api_fail(e, 500, "model_damaged", NULL, "%s",
			 atomic_load(&s->m->damaged) ? s->m->damage
						     : "the model's logits are not finite: a weight is damaged");
	else if (j->err == -ECANCELED)
		api_fail(e, 503, "server_shutting_down", NULL, "the server is shutting down: the generation was cancelled");
	else
		api_fail(e, 500, NULL, NULL, "generation failed: %s (%s)", strata_strerror(j->err),
			 strata_program_error(s->m->prog));
}

/* The end of a stream: the closing chunk (and usage), or an error event. */
static void finish_stream(struct server *s, struct job *j)
{
	if (!j->err) {
		if (add_chunk(s, j, "", 0, NULL, 0, j->res.finish_reason))
			j->err = -ENOMEM;
		return;
	}
	struct api_error ae;
	char *body;

	job_error(s, j, &ae);
	body = api_error_json(&ae);
	if (!body || job_grow(j, "data: ", 6) || job_grow(j, body, strlen(body)) || job_grow(j, "\n\n", 2))
		j->err = -ENOMEM;
	else
		j->err = 0; /* the event says it: the stream itself ends cleanly */
	free(body);
}

static void run(struct server *s, struct job *j)
{
	struct emit_ctx c = { s, j };
	int e = 0;

	if (j->req.stream && j->req.echo)
		e = add_chunk(s, j, j->req.echo_text, j->req.echo_len, NULL, 0, NULL);
	s->running = j;
	pthread_mutex_unlock(&s->lock);
	if (!e)
		e = llm_generate(s->m, j->req.ids, j->req.nids, &j->req.go, emit, &c, &j->res);
	pthread_mutex_lock(&s->lock);
	s->running = NULL;
	j->err = e;
	if (!e) {
		strata_metric_add(s->prompt_tokens, j->res.prompt_tokens);
		strata_metric_add(s->gen_tokens, j->res.completion_tokens);
		strata_metric_observe(s->ttft, j->res.prefill_s);
		if (j->res.completion_tokens > 1 && j->res.decode_s > 0)
			strata_metric_observe(s->decode_rate, (j->res.completion_tokens - 1) / j->res.decode_s);
	}
}

void *engine_main(void *arg)
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
		if (!j->cancelled)
			run(s, j);
		else
			j->err = -ECANCELED;
		if (j->cancelled)
			strata_metric_add(s->cancelled, 1);
		if (j->req.stream && !j->client_left)
			finish_stream(s, j);
		j->done = true;
		pthread_cond_broadcast(&s->changed);
		job_unref(j);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}
