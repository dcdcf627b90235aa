/* SPDX-License-Identifier: MIT */
/*
 * examples/serve/server_int.h — what the HTTP front (server.c) and the
 * engine thread (engine.c) share: the jobs and the server's state, all
 * under one lock.
 */
#ifndef STRATA_SERVE_SERVER_INT_H
#define STRATA_SERVE_SERVER_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "api.h"
#include "guard.h"
#include "server.h"

/* One generation request, from parsing to the last byte sent. */
struct job {
	struct api_request req;
	char id[40];
	long created;
	char *out; /* non-stream: the text; stream: events not yet sent */
	size_t len, cap, sent;
	struct llm_token_out *toks; /* non-stream with logprobs: every token */
	size_t ntoks, tokcap;
	size_t offset; /* stream: the text's bytes sent so far (text_offset) */
	bool first, done;
	bool cancelled; /* stop generating: the client left, or the drain ran out */
	bool client_left;
	int err;
	struct llm_gen_result res;
	int refs; /* the connection and the queue/engine */
	struct job *next;
};

struct server {
	struct llm_model *m;
	struct api_config cfg;
	long started; /* the models' "created" */
	pthread_mutex_t lock;
	pthread_cond_t changed; /* a job queued, grew or finished; stopping */
	struct job *head, *tail; /* waiting */
	struct job *running;
	unsigned queued, max_queue;
	unsigned active; /* requests received and not yet completed */
	bool draining; /* SIGTERM: no new generations */
	bool stopping; /* the engine leaves once the queue is empty */
	unsigned long next_id;
	struct guard *guard;
	struct strata_metric *requests, *rejected, *cancelled, *prompt_tokens, *gen_tokens, *queue_depth, *ttft,
		*decode_rate, *connections, *conn_refused, *conn_timed_out;
};

/* With s->lock held: drop a reference; append to the job's output. */
void job_unref(struct job *j);
int job_grow(struct job *j, const char *s, size_t n);

/* Why job @j failed, as an answer (its err is set). */
void job_error(const struct server *s, const struct job *j, struct api_error *e);

/* The engine thread: takes jobs in order until s->stopping and none left. */
void *engine_main(void *server);

#endif /* STRATA_SERVE_SERVER_INT_H */
