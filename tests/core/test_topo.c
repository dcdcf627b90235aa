/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_topo.c — the topology of this machine, checked against
 * what the kernel itself reports in sysfs and procfs.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "helpers.h"

static struct strata_rt *rt;
static const struct strata_topo *topo;

static int setup(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);

	(void)state;
	if (strata_rt_create(&opts, &rt))
		return -1;
	topo = strata_rt_topo(rt);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	strata_rt_destroy(rt);
	return 0;
}

static void test_counts_are_consistent(void **state)
{
	int pkgs = strata_topo_count(topo, STRATA_TOPO_PACKAGES);
	int cores = strata_topo_count(topo, STRATA_TOPO_CORES);
	int pus = strata_topo_count(topo, STRATA_TOPO_PUS);

	(void)state;
	assert_true(pkgs >= 1);
	assert_true(cores >= pkgs);
	assert_true(pus >= cores);
	assert_int_equal(pus, (int)sysconf(_SC_NPROCESSORS_ONLN));
	assert_true(strata_topo_count(topo, STRATA_TOPO_NODES) >= 1);
	assert_int_equal(strata_topo_count(topo, (enum strata_topo_count_kind)42), -EINVAL);
	assert_int_equal(strata_topo_count(NULL, STRATA_TOPO_CORES), -EINVAL);
}

static void test_every_cpu_belongs_to_one_node(void **state)
{
	int n = strata_topo_count(topo, STRATA_TOPO_NODES), i, cpus = 0;
	long cpu, ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	(void)state;
	for (i = 0; i < n; i++) {
		struct strata_topo_node node = { .sz = sizeof(node) };

		assert_int_equal(strata_topo_node(topo, (unsigned)i, &node), 0);
		assert_true(node.memory_bytes > 0);
		cpus += (int)node.cpus;
	}
	assert_int_equal(cpus, strata_topo_count(topo, STRATA_TOPO_PUS));
	for (cpu = 0; cpu < ncpu; cpu++) {
		int node = strata_topo_cpu_node(topo, (unsigned)cpu);

		assert_true(node >= 0 && node < n);
	}
	assert_int_equal(strata_topo_cpu_node(topo, 100000), -ENOENT);
}

static void test_node_matches_sysfs(void **state)
{
	struct strata_topo_node node = { .sz = sizeof(node) };
	char path[128], buf[4096], list[256];
	unsigned long long kb = 0;
	char *p;

	(void)state;
	assert_int_equal(strata_topo_node(topo, 0, &node), 0);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/meminfo", node.os_index);
	if (st_read_text(path, buf, sizeof(buf)) < 0)
		TEST_SKIP("%s is not readable here", path);
	p = strstr(buf, "MemTotal:");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "MemTotal: %llu", &kb), 1);
	assert_true(node.memory_bytes == kb * 1024);
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist", node.os_index);
	assert_true(st_read_text(path, buf, sizeof(buf)) > 0);
	assert_true(strata_topo_node_cpulist(topo, 0, list, sizeof(list)) > 0);
	assert_string_equal(list, buf);
}

static void test_distances(void **state)
{
	int n = strata_topo_count(topo, STRATA_TOPO_NODES), i, j;

	(void)state;
	for (i = 0; i < n; i++) {
		assert_int_equal(strata_topo_distance(topo, (unsigned)i, (unsigned)i), 10);
		for (j = 0; j < n; j++)
			assert_true(strata_topo_distance(topo, (unsigned)i, (unsigned)j) >= 10);
	}
	assert_int_equal(strata_topo_distance(topo, (unsigned)n, 0), -ENOENT);
	assert_int_equal(strata_topo_distance(topo, 0, (unsigned)n), -ENOENT);
}

/* The L1 data cache size hwloc saw must be the one sysfs reports. */
static void test_caches_match_sysfs(void **state)
{
	int n = strata_topo_count(topo, STRATA_TOPO_CACHES), i, idx;
	uint64_t largest_level = 0, llc = 0;
	bool l1d = false;

	(void)state;
	assert_true(n >= 2);
	for (i = 0; i < n; i++) {
		struct strata_topo_cache c = { .sz = sizeof(c) };

		assert_int_equal(strata_topo_cache(topo, (unsigned)i, &c), 0);
		assert_true(c.level >= 1 && c.size_bytes > 0 && c.instances > 0);
		if (c.type != STRATA_CACHE_INSTRUCTION && c.level >= largest_level) {
			largest_level = c.level;
			llc = c.size_bytes * c.instances;
		}
		if (c.level != 1 || c.type != STRATA_CACHE_DATA)
			continue;
		l1d = true;
		for (idx = 0; idx < 8; idx++) {
			char path[128], type[32], size[32];

			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/type", idx);
			if (st_read_text(path, type, sizeof(type)) < 0)
				break;
			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu0/cache/index%d/size", idx);
			st_read_text(path, size, sizeof(size));
			if (!strcmp(type, "Data"))
				assert_true(c.size_bytes == strtoull(size, NULL, 10) * 1024);
		}
	}
	assert_true(l1d);
	assert_true(llc > 0 && strata_topo_llc_bytes(topo) == llc);
	assert_int_equal(strata_topo_cache(topo, (unsigned)n, &(struct strata_topo_cache){ .sz = 64 }), -ENOENT);
}

/* Count the PCI functions sysfs lists in the classes strata reports. */
static int sysfs_interesting_pci(void)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char path[512], cls[32];
		unsigned long c;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", e->d_name);
		if (st_read_text(path, cls, sizeof(cls)) < 0)
			continue;
		c = strtoul(cls, NULL, 16) >> 8; /* class << 8 | subclass */
		if ((c >> 8) == 0x01 || (c >> 8) == 0x02 || (c >> 8) == 0x03 || (c >> 8) == 0x12 || c == 0x0b40)
			n++;
	}
	closedir(d);
	return n;
}

static void test_devices_match_sysfs(void **state)
{
	int n = strata_topo_count(topo, STRATA_TOPO_DEVICES), nodes = strata_topo_count(topo, STRATA_TOPO_NODES);
	int expect = sysfs_interesting_pci(), i;

	(void)state;
	if (expect < 0)
		TEST_SKIP("no /sys/bus/pci here");
	assert_int_equal(n, expect);
	for (i = 0; i < n; i++) {
		struct strata_topo_device d = { .sz = sizeof(d) };

		assert_int_equal(strata_topo_device(topo, (unsigned)i, &d), 0);
		assert_true(d.node >= -1 && d.node < nodes);
		assert_true(strlen(d.name) > 0);
		assert_int_equal(strlen(d.pci_busid), 12);
		assert_int_equal(strata_topo_device_find(topo, d.kind, d.name) >= 0, 1);
		assert_int_equal(strata_topo_device_find(topo, d.kind, d.pci_busid) >= 0, 1);
	}
	assert_int_equal(strata_topo_device_find(topo, STRATA_DEV_GPU, "no-such-device"), -ENOENT);
}

static void test_cpu_model_matches_proc_cpuinfo(void **state)
{
	char buf[65536], *p, model[128] = "";
	FILE *f = fopen("/proc/cpuinfo", "r");
	size_t n;

	(void)state;
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, "model name");
	if (!p)
		TEST_SKIP("/proc/cpuinfo has no model name on this architecture");
	p = strchr(p, ':') + 2;
	snprintf(model, sizeof(model), "%.*s", (int)strcspn(p, "\n"), p);
	while (*model && model[strlen(model) - 1] == ' ')
		model[strlen(model) - 1] = '\0';
	assert_string_equal(strata_topo_cpu_model(topo), model);
}

static void test_info_structs_grow_safely(void **state)
{
	struct strata_topo_node node;
	char small[2];

	(void)state;
	/* A caller compiled before hugepages_2m existed passes a shorter sz;
	 * nothing past it may be written. */
	memset(&node, 0xab, sizeof(node));
	node.sz = offsetof(struct strata_topo_node, hugepages_2m);
	assert_int_equal(strata_topo_node(topo, 0, &node), 0);
	assert_true(node.hugepages_2m == 0xababababababababULL);
	node.sz = 3;
	assert_int_equal(strata_topo_node(topo, 0, &node), -EINVAL);
	assert_int_equal(strata_topo_node(topo, 9999, &(struct strata_topo_node){ .sz = sizeof(node) }), -ENOENT);
	/* cpulist behaves like snprintf: full length back, output cut. */
	assert_true(strata_topo_node_cpulist(topo, 0, small, sizeof(small)) >= 1);
	assert_int_equal(strlen(small), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_are_consistent),
		cmocka_unit_test(test_every_cpu_belongs_to_one_node),
		cmocka_unit_test(test_node_matches_sysfs),
		cmocka_unit_test(test_distances),
		cmocka_unit_test(test_caches_match_sysfs),
		cmocka_unit_test(test_devices_match_sysfs),
		cmocka_unit_test(test_cpu_model_matches_proc_cpuinfo),
		cmocka_unit_test(test_info_structs_grow_safely),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, setup, teardown);
}
