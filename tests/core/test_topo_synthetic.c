/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_topo_synthetic.c — machines this box is not: one, two and
 * four NUMA nodes, with a GPU on node 1, from hwloc synthetic descriptions
 * and the XML fixtures in tests/topo/ (see make-fixtures.py).
 */
#include <errno.h>
#include <string.h>

#include "helpers.h"

static struct strata_rt *create(const char *xml, const char *synthetic)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_CACHED, .topology_xml = xml, .topology_synthetic = synthetic);
	struct strata_rt *rt = NULL;

	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	assert_false(strata_rt_is_this_machine(rt));
	return rt;
}

static void expect_device(const struct strata_topo *t, enum strata_device_kind kind, const char *name, int node)
{
	struct strata_topo_device d = { .sz = sizeof(d) };
	int idx = strata_topo_device_find(t, kind, name);

	assert_true(idx >= 0);
	assert_int_equal(strata_topo_device(t, (unsigned)idx, &d), 0);
	assert_int_equal(d.node, node);
}

static void test_one_node(void **state)
{
	struct strata_rt *rt = create(NULL, "pack:1 [numa(memory=4GB)] l3:1(size=16MB) core:4 pu:2");
	const struct strata_topo *t = strata_rt_topo(rt);
	struct strata_probe_node p = { .sz = sizeof(p) };

	(void)state;
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_NODES), 1);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_CORES), 4);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_PUS), 8);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_DEVICES), 0);
	assert_int_equal(strata_topo_distance(t, 0, 0), 10);
	assert_true(strata_topo_llc_bytes(t) == 16000000);
	/* Nothing to measure or describe on a machine that is not here. */
	assert_true(strata_topo_cpu_features(t) == 0);
	assert_string_equal(strata_topo_cpu_model(t), "unknown");
	assert_int_equal(strata_probe_node(rt, 0, &p), -ENODATA);
	assert_int_equal(strata_probe_refresh(rt), -STRATA_ENOTHERE);
	assert_int_equal(strata_probe_load(rt), -STRATA_ENOTHERE);
	strata_rt_destroy(rt);
}

static void test_two_nodes_gpu_on_node_1(void **state)
{
	struct strata_rt *rt = create(fixture("topo/two-node-gpu.xml"), NULL);
	const struct strata_topo *t = strata_rt_topo(rt);
	struct strata_topo_node n1 = { .sz = sizeof(n1) };
	char cpus[64];

	(void)state;
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_NODES), 2);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_PACKAGES), 2);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_CORES), 8);
	assert_int_equal(strata_topo_distance(t, 0, 1), 21);
	assert_int_equal(strata_topo_distance(t, 1, 0), 21);
	assert_int_equal(strata_topo_distance(t, 1, 1), 10);
	assert_int_equal(strata_topo_node(t, 1, &n1), 0);
	assert_int_equal(n1.os_index, 1);
	assert_int_equal(n1.cpus, 8);
	assert_int_equal(n1.cores, 4);
	assert_true(n1.memory_bytes == 16000000000ULL);
	assert_int_equal(strata_topo_node_cpulist(t, 1, cpus, sizeof(cpus)), 4);
	assert_string_equal(cpus, "8-15");
	assert_int_equal(strata_topo_cpu_node(t, 3), 0);
	assert_int_equal(strata_topo_cpu_node(t, 12), 1);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_DEVICES), 3);
	expect_device(t, STRATA_DEV_GPU, "cuda0", 1);
	expect_device(t, STRATA_DEV_NVME, "nvme0n1", 0);
	expect_device(t, STRATA_DEV_NIC, "eth1", 1);
	strata_rt_destroy(rt);
}

static void test_four_nodes_gpu_on_node_1(void **state)
{
	static const int want[4][4] = { { 10, 12, 32, 32 }, { 12, 10, 32, 32 }, { 32, 32, 10, 12 }, { 32, 32, 12, 10 } };
	struct strata_rt *rt = create(fixture("topo/four-node-gpu.xml"), NULL);
	const struct strata_topo *t = strata_rt_topo(rt);
	struct strata_topo_device gpu = { .sz = sizeof(gpu) };
	unsigned i, j;

	(void)state;
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_NODES), 4);
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_PUS), 16);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			assert_int_equal(strata_topo_distance(t, i, j), want[i][j]);
	for (i = 0; i < 16; i++)
		assert_int_equal(strata_topo_cpu_node(t, i), (int)(i / 4));
	expect_device(t, STRATA_DEV_GPU, "0000:41:00.0", 1);
	expect_device(t, STRATA_DEV_NVME, NULL, 0);
	expect_device(t, STRATA_DEV_NIC, "eth1", 3);
	assert_int_equal(strata_topo_device(t, (unsigned)strata_topo_device_find(t, STRATA_DEV_GPU, NULL), &gpu), 0);
	assert_int_equal(gpu.vendor_id, 0x10de);
	assert_int_equal(gpu.device_id, 0x2330);
	assert_int_equal(gpu.pci_class, 0x0302);
	assert_int_equal(strata_topo_llc_bytes(t), 4 * 16000000);
	strata_rt_destroy(rt);
}

static void test_nodes_without_distances(void **state)
{
	struct strata_rt *rt = create(NULL, "pack:2 [numa] core:2 pu:1");
	const struct strata_topo *t = strata_rt_topo(rt);

	(void)state;
	assert_int_equal(strata_topo_count(t, STRATA_TOPO_NODES), 2);
	assert_int_equal(strata_topo_distance(t, 0, 1), -ENODATA);
	strata_rt_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_node),
		cmocka_unit_test(test_two_nodes_gpu_on_node_1),
		cmocka_unit_test(test_four_nodes_gpu_on_node_1),
		cmocka_unit_test(test_nodes_without_distances),
	};

	return RUN_TESTS(tests);
}
