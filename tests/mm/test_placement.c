/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_placement.c — where pool memory really lands, asked of the
 * kernel page by page (move_pages with no target reports each page's node,
 * get_mempolicy reports the policy), for every node this machine has; and
 * the placement decisions for two- and four-node machines, on synthetic
 * topologies.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/mm_place.h"
#include "helpers.h"

#define MPOL_BIND_K 2
#define MPOL_F_NODE (1 << 0)
#define MPOL_F_ADDR (1 << 1)


/* Count the pages of [p, p + bytes) that sit on OS node @os_node. */
static size_t pages_on_node(void *p, size_t bytes, int os_node, size_t *total)
{
	enum { BATCH = 512 };
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = bytes / page, i, on = 0;
	void *pages[BATCH];
	int status[BATCH];

	*total = n;
	for (i = 0; i < n; i += BATCH) {
		size_t k, m = ST_MIN((size_t)BATCH, n - i);

		for (k = 0; k < m; k++)
			pages[k] = (char *)p + (i + k) * page;
		assert_int_equal(syscall(SYS_move_pages, 0, m, pages, NULL, status, 0), 0);
		for (k = 0; k < m; k++)
			on += status[k] == os_node;
	}
	return on;
}

static void test_strict_bind_puts_every_page_on_the_node(void **state)
{
	const struct strata_topo *t = strata_rt_topo(test_rt);
	int n = strata_topo_count(t, STRATA_TOPO_NODES), i;

	(void)state;
	for (i = 0; i < n; i++) {
		struct strata_topo_node node = { .sz = sizeof(node) };
		STRATA_POOL_OPTS(opts, .place = STRATA_PLACE_NODE, .node = i);
		struct strata_pool *p;
		size_t total, on;
		int mode = -1;
		void *a;

		assert_int_equal(strata_topo_node(t, (unsigned)i, &node), 0);
		if (!node.memory_bytes)
			continue;
		assert_int_equal(strata_pool_create(test_rt, &opts, &p), 0);
		assert_int_equal(strata_pool_alloc(p, 64 << 20, 0, 0, &a), 0);
		on = pages_on_node(a, 64 << 20, (int)node.os_index, &total);
		assert_true(on == total); /* every page, not a sample */
		assert_int_equal(syscall(SYS_get_mempolicy, &mode, NULL, 0UL, a, (unsigned long)MPOL_F_ADDR), 0);
		assert_int_equal(mode, MPOL_BIND_K);
		assert_int_equal(syscall(SYS_get_mempolicy, &mode, NULL, 0UL, a,
					 (unsigned long)(MPOL_F_NODE | MPOL_F_ADDR)), 0);
		assert_int_equal(mode, (int)node.os_index);
		strata_pool_free(p, a);
		strata_pool_destroy(p);
	}
}

static void test_strict_bind_that_cannot_be_met_fails(void **state)
{
	STRATA_POOL_OPTS(opts, .place = STRATA_PLACE_NODE, .node = 0, .prefill_bytes = 1ULL << 40);
	struct strata_pool *p;
	void *a;

	(void)state;
	/* A terabyte on one node: -ENOMEM, not an OOM kill, not elsewhere. */
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), -ENOMEM);
	opts.prefill_bytes = 0;
	assert_int_equal(strata_pool_create(test_rt, &opts, &p), 0);
	assert_int_equal(strata_pool_alloc(p, (size_t)1 << 40, 0, 0, &a), -ENOMEM);
	assert_int_equal(strata_pool_alloc(p, 1 << 20, 0, 0, &a), 0); /* still usable */
	strata_pool_free(p, a);
	strata_pool_destroy(p);
}

static void test_preferred_and_interleave(void **state)
{
	STRATA_POOL_OPTS(pref, .place = STRATA_PLACE_LOCAL, .bind = STRATA_BIND_PREFERRED);
	STRATA_POOL_OPTS(inter, .place = STRATA_PLACE_INTERLEAVE);
	struct strata_pool_stats s = { .sz = sizeof(s) };
	struct strata_topo_node node = { .sz = sizeof(node) };
	struct strata_pool *p;
	size_t total, on;
	int local = strata_topo_cpu_node(strata_rt_topo(test_rt), (unsigned)sched_getcpu());
	void *a;

	(void)state;
	assert_int_equal(strata_pool_create(test_rt, &pref, &p), 0);
	assert_int_equal(strata_pool_alloc(p, 16 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_stats(p, &s), 0);
	assert_int_equal(s.node, local);
	/* Memory is plentiful: the preferred node served it all. */
	assert_true(s.fallbacks == 0);
	strata_topo_node(strata_rt_topo(test_rt), (unsigned)local, &node);
	on = pages_on_node(a, 16 << 20, (int)node.os_index, &total);
	assert_true(on == total);
	strata_pool_free(p, a);
	strata_pool_destroy(p);

	assert_int_equal(strata_pool_create(test_rt, &inter, &p), 0);
	assert_int_equal(strata_pool_alloc(p, 16 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_stats(p, &s), 0);
	assert_int_equal(s.node, -1);
	if (strata_topo_count(strata_rt_topo(test_rt), STRATA_TOPO_NODES) == 1) {
		on = pages_on_node(a, 16 << 20, (int)node.os_index, &total);
		assert_true(on == total);
	}
	strata_pool_free(p, a);
	strata_pool_destroy(p);
}

static void test_node_stats_sum_the_node_pools(void **state)
{
	STRATA_POOL_OPTS(opts, .place = STRATA_PLACE_NODE, .node = 0);
	struct strata_pool_stats s = { .sz = sizeof(s) };
	struct strata_pool *p1, *p2;
	void *a, *b;

	(void)state;
	assert_int_equal(strata_pool_create(test_rt, &opts, &p1), 0);
	assert_int_equal(strata_pool_create(test_rt, &opts, &p2), 0);
	assert_int_equal(strata_pool_alloc(p1, 4 << 20, 0, 0, &a), 0);
	assert_int_equal(strata_pool_alloc(p2, 8 << 20, 0, 0, &b), 0);
	assert_int_equal(strata_mm_node_stats(test_rt, 0, &s), 0);
	assert_true(s.bytes_in_use == 12 << 20);
	assert_true(s.bytes_reserved >= 12 << 20);
	assert_int_equal(strata_mm_node_stats(test_rt, 999, &s), -ENOENT);
	strata_pool_free(p1, a);
	strata_pool_free(p2, b);
	strata_pool_destroy(p1);
	strata_pool_destroy(p2);
}

/* --- decisions on machines this is not ------------------------------------ */

static struct strata_rt *synthetic(const char *xml)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF, .topology_xml = fixture(xml));
	struct strata_rt *r;

	assert_int_equal(strata_rt_create(&opts, &r), 0);
	return r;
}

static int resolve(struct strata_rt *r, const struct st_probe_set *probe, enum strata_place place,
		   enum strata_bind bind, int node, const char *device, int cpu, struct st_place *out)
{
	struct st_place_req req = { .place = place, .bind = bind, .node = node, .device = device, .cpu = cpu };

	return st_place_resolve(r->topo, probe, &req, out);
}

static void test_decisions_on_two_nodes(void **state)
{
	struct strata_rt *r = synthetic("topo/two-node-gpu.xml");
	struct st_place p;

	(void)state;
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_LOCAL, STRATA_BIND_STRICT, 0, NULL, 12, &p), 0);
	assert_int_equal(p.node, 1);
	assert_int_equal(p.policy, ST_MPOL_BIND);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NEAR_DEVICE, STRATA_BIND_PREFERRED, 0, "cuda0", 0, &p), 0);
	assert_int_equal(p.node, 1);
	assert_int_equal(p.policy, ST_MPOL_PREFERRED);
	assert_true(p.nodes == 2);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NEAR_DEVICE, STRATA_BIND_STRICT, 0, "nvme0n1", 9, &p), 0);
	assert_int_equal(p.node, 0);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_INTERLEAVE, STRATA_BIND_STRICT, 0, NULL, 0, &p), 0);
	assert_int_equal(p.policy, ST_MPOL_INTERLEAVE);
	assert_true(p.nodes == 3);
	assert_int_equal(p.node, -1);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NODE, STRATA_BIND_STRICT, 2, NULL, 0, &p), -EINVAL);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NEAR_DEVICE, STRATA_BIND_STRICT, 0, "gpu9", 0, &p), -ENODEV);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NEAR_DEVICE, STRATA_BIND_STRICT, 0, NULL, 0, &p), -EINVAL);
	strata_rt_destroy(r);
}

static void test_decisions_on_four_nodes(void **state)
{
	struct strata_rt *r = synthetic("topo/four-node-gpu.xml");
	struct {
		struct st_probe_set set;
		struct strata_probe_node n[4];
	} probe;
	struct st_place p;
	unsigned i;

	(void)state;
	for (i = 0; i < 16; i++) {
		assert_int_equal(resolve(r, NULL, STRATA_PLACE_LOCAL, STRATA_BIND_STRICT, 0, NULL, (int)i, &p), 0);
		assert_int_equal(p.node, (int)(i / 4));
	}
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NEAR_DEVICE, STRATA_BIND_STRICT, 0, "0000:41:00.0", 0, &p), 0);
	assert_int_equal(p.node, 1);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_NEAR_DEVICE, STRATA_BIND_STRICT, 0, "eth1", 0, &p), 0);
	assert_int_equal(p.node, 3);
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_INTERLEAVE, STRATA_BIND_STRICT, 0, NULL, 0, &p), 0);
	assert_true(p.nodes == 0xf);

	/* Highest bandwidth follows the probe; without one, no answer. */
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_BANDWIDTH, STRATA_BIND_STRICT, 0, NULL, 0, &p), -ENODATA);
	memset(&probe, 0, sizeof(probe));
	probe.set.n = 4;
	for (i = 0; i < 4; i++)
		probe.set.node[i].triad_gbps = 50.0 + (i == 2 ? 40.0 : (double)i);
	assert_int_equal(resolve(r, &probe.set, STRATA_PLACE_BANDWIDTH, STRATA_BIND_STRICT, 0, NULL, 0, &p), 0);
	assert_int_equal(p.node, 2);

	/* Highest capacity follows node memory. */
	r->topo->nodes[3].info.memory_bytes *= 4;
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_CAPACITY, STRATA_BIND_PREFERRED, 0, NULL, 0, &p), 0);
	assert_int_equal(p.node, 3);
	assert_int_equal(p.policy, ST_MPOL_PREFERRED);
	/* A memory-only node (CXL) can be chosen; a memory-less node cannot
	 * take an interleave share. */
	r->topo->nodes[0].info.memory_bytes = 0;
	assert_int_equal(resolve(r, NULL, STRATA_PLACE_INTERLEAVE, STRATA_BIND_STRICT, 0, NULL, 0, &p), 0);
	assert_true(p.nodes == 0xe);
	strata_rt_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict_bind_puts_every_page_on_the_node),
		cmocka_unit_test(test_strict_bind_that_cannot_be_met_fails),
		cmocka_unit_test(test_preferred_and_interleave),
		cmocka_unit_test(test_node_stats_sum_the_node_pools),
		cmocka_unit_test(test_decisions_on_two_nodes),
		cmocka_unit_test(test_decisions_on_four_nodes),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
