/* SPDX-License-Identifier: MIT */
/*
 * core/graph/stream.h — a run's streamed weights (stream.c).
 */
#ifndef STRATA_CORE_GRAPH_STREAM_H
#define STRATA_CORE_GRAPH_STREAM_H

#include <stdbool.h>
#include <stdint.h>

struct strata_program;
struct st_task;

struct st_stream_wait {
	struct strata_program *p;
	uint32_t node;
	void *data;
	int err; /* the load's error for this weight (the run's message names it) */
};

struct st_stream_run {
	uint32_t *nodes; /* streamed weights not loaded when the run began */
	unsigned n;
	struct st_task *tasks; /* the program's tasks, then one wait task per node */
	struct st_stream_wait *waits;
	uint32_t *succ;
};

/* Addresses of the streamed weights already loaded into @ptr; the others
 * listed in @sr, or, where a run of @threads leaves the loader no CPU
 * (stream.c), waited for here.  Return: 0; -EINVAL (no load bound, a
 * tensor failed). */
int st_stream_bind(struct strata_program *p, unsigned threads, void **ptr, struct st_stream_run *sr);
/* Whether @node is a streamed weight this run waits for. */
bool st_stream_pending(const struct st_stream_run *sr, uint32_t node);
/* The run's tasks with a wait task per pending weight (sr->tasks). */
int st_stream_tasks(struct strata_program *p, struct st_stream_run *sr);
void st_stream_done(struct st_stream_run *sr);
/* The wait whose weight failed to load, or NULL. */
const struct st_stream_wait *st_stream_failed(const struct st_stream_run *sr);

#endif /* STRATA_CORE_GRAPH_STREAM_H */
