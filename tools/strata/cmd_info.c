/* SPDX-License-Identifier: MIT */
/*
 * tools/strata/cmd_info.c — `strata info`: what strata knows about this
 * machine (topology, CPU features, caches, NUMA nodes and distances, PCI
 * devices and their nodes, probe figures) and what it was built with.
 * Text for people, --json for programs; both come from one JSON document.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <jansson.h>
#include <strata/strata.h>

#include "cli.h"

static const char *const cache_types[] = { "unified", "data", "instruction" };
static const char *const device_kinds[] = { "gpu", "nvme", "disk", "nic", "accel" };

static void info_usage(FILE *f)
{
	fprintf(f, "usage: strata info [--json] [--probe] [--topology FILE.xml | --synthetic DESC]\n\n"
		   "  --json        print one JSON document\n"
		   "  --probe       measure memory bandwidth and latency again and refresh the cache\n"
		   "  --topology    describe an hwloc XML topology instead of this machine\n"
		   "  --synthetic   describe an hwloc synthetic topology (\"pack:2 [numa] core:4 pu:2\")\n");
}

static json_t *cpu_json(const struct strata_topo *t)
{
	uint64_t feats = strata_topo_cpu_features(t);
	json_t *list = json_array();
	unsigned f;

	for (f = 0; f < STRATA_CPU_FEATURE_COUNT; f++)
		if (feats & (1ULL << f))
			json_array_append_new(list, json_string(strata_cpu_feature_name(f)));
	return json_pack("{s:s, s:o}", "model", strata_topo_cpu_model(t), "features", list);
}

static json_t *caches_json(const struct strata_topo *t)
{
	int i, n = strata_topo_count(t, STRATA_TOPO_CACHES);
	json_t *arr = json_array();

	for (i = 0; i < n; i++) {
		struct strata_topo_cache c = { .sz = sizeof(c) };

		if (strata_topo_cache(t, (unsigned)i, &c))
			continue;
		json_array_append_new(arr, json_pack("{s:i, s:s, s:I, s:i, s:i, s:i, s:i}", "level", c.level, "type",
						     cache_types[c.type], "size_bytes", (json_int_t)c.size_bytes,
						     "line_bytes", c.line_bytes, "ways", c.ways, "instances",
						     c.instances, "pus_per_instance", c.pus_per_instance));
	}
	return arr;
}

static json_t *nodes_json(const struct strata_topo *t)
{
	int i, j, n = strata_topo_count(t, STRATA_TOPO_NODES);
	json_t *arr = json_array();

	for (i = 0; i < n; i++) {
		struct strata_topo_node node = { .sz = sizeof(node) };
		json_t *dist = json_array();
		char cpus[1024];

		if (strata_topo_node(t, (unsigned)i, &node))
			continue;
		strata_topo_node_cpulist(t, (unsigned)i, cpus, sizeof(cpus));
		for (j = 0; j < n; j++) {
			int d = strata_topo_distance(t, (unsigned)i, (unsigned)j);

			json_array_append_new(dist, d > 0 ? json_integer(d) : json_null());
		}
		json_array_append_new(arr, json_pack("{s:i, s:i, s:I, s:i, s:i, s:s, s:I, s:o}", "index", i,
						     "os_index", node.os_index, "memory_bytes",
						     (json_int_t)node.memory_bytes, "cpus", node.cpus, "cores",
						     node.cores, "cpulist", cpus, "hugepages_2m",
						     (json_int_t)node.hugepages_2m, "distances", dist));
	}
	return arr;
}

static json_t *devices_json(const struct strata_topo *t)
{
	int i, n = strata_topo_count(t, STRATA_TOPO_DEVICES);
	json_t *arr = json_array();

	for (i = 0; i < n; i++) {
		struct strata_topo_device d = { .sz = sizeof(d) };
		char ids[16], cls[8];

		if (strata_topo_device(t, (unsigned)i, &d))
			continue;
		snprintf(ids, sizeof(ids), "%04x:%04x", d.vendor_id, d.device_id);
		snprintf(cls, sizeof(cls), "%04x", d.pci_class);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:o}", "kind", device_kinds[d.kind],
						     "name", d.name, "pci_busid", d.pci_busid, "pci_id", ids,
						     "pci_class", cls, "node",
						     d.node >= 0 ? json_integer(d.node) : json_null()));
	}
	return arr;
}

static json_t *probe_json(const struct strata_rt *rt, int probe_err)
{
	const struct strata_topo *t = strata_rt_topo(rt);
	int i, n = strata_topo_count(t, STRATA_TOPO_NODES);
	char path[4096];
	json_t *arr;

	if (probe_err)
		return json_pack("{s:n, s:s}", "nodes", "error", strata_strerror(probe_err));
	arr = json_array();
	for (i = 0; i < n; i++) {
		struct strata_probe_node p = { .sz = sizeof(p) };

		if (strata_probe_node(rt, (unsigned)i, &p))
			continue;
		json_array_append_new(arr, json_pack("{s:i, s:f, s:f, s:f, s:f, s:i, s:I, s:I, s:b}", "node", i,
						     "read_gbps", p.read_gbps, "copy_gbps", p.copy_gbps,
						     "triad_gbps", p.triad_gbps, "latency_ns", p.latency_ns,
						     "threads", p.threads, "array_bytes", (json_int_t)p.array_bytes,
						     "measured_at", (json_int_t)p.measured_at, "from_cache",
						     p.from_cache));
	}
	if (strata_probe_cache_path(rt, path, sizeof(path)) < 0)
		path[0] = '\0';
	return json_pack("{s:o, s:s}", "nodes", arr, "cache", path);
}

static json_t *build_json(void)
{
	const struct strata_build_dep *deps;
	int i, n = strata_build_deps(&deps);
	json_t *obj = json_object();

	for (i = 0; i < n; i++)
		json_object_set_new(obj, deps[i].name, deps[i].version ? json_string(deps[i].version) : json_null());
	return obj;
}

static json_t *info_json(const struct strata_rt *rt, int probe_err)
{
	const struct strata_topo *t = strata_rt_topo(rt);
	struct utsname u;

	if (uname(&u))
		strcpy(u.release, "unknown");
	return json_pack("{s:s, s:s, s:o, s:b, s:o, s:i, s:i, s:i, s:I, s:o, s:o, s:o, s:o}", "version",
			 strata_version(), "kernel", u.release, "build", build_json(), "this_machine",
			 strata_rt_is_this_machine(rt), "cpu", cpu_json(t), "packages",
			 strata_topo_count(t, STRATA_TOPO_PACKAGES), "cores", strata_topo_count(t, STRATA_TOPO_CORES),
			 "pus", strata_topo_count(t, STRATA_TOPO_PUS), "llc_bytes",
			 (json_int_t)strata_topo_llc_bytes(t), "caches", caches_json(t), "nodes", nodes_json(t),
			 "devices", devices_json(t), "probe", probe_json(rt, probe_err));
}

static void print_size(json_int_t bytes)
{
	if (bytes >= (1LL << 30))
		printf("%.1f GiB", (double)bytes / (1 << 30));
	else if (bytes >= (1LL << 20))
		printf("%.1f MiB", (double)bytes / (1 << 20));
	else
		printf("%lld KiB", (long long)bytes / 1024);
}

static void print_text(json_t *doc)
{
	json_t *v, *x;
	const char *key;
	size_t i, j;

	printf("strata %s on Linux %s\n", json_string_value(json_object_get(doc, "version")),
	       json_string_value(json_object_get(doc, "kernel")));
	printf("built with:");
	json_object_foreach(json_object_get(doc, "build"), key, v)
		printf(" %s=%s", key, json_is_string(v) ? json_string_value(v) : "no");
	printf("\n\ncpu      %s\n", json_string_value(json_object_get(json_object_get(doc, "cpu"), "model")));
	printf("         %lld package(s), %lld core(s), %lld hardware thread(s)\nfeatures",
	       json_integer_value(json_object_get(doc, "packages")), json_integer_value(json_object_get(doc, "cores")),
	       json_integer_value(json_object_get(doc, "pus")));
	json_array_foreach(json_object_get(json_object_get(doc, "cpu"), "features"), i, v)
		printf(" %s", json_string_value(v));
	printf("\n\ncaches\n");
	json_array_foreach(json_object_get(doc, "caches"), i, v) {
		printf("  L%lld %-11s ", json_integer_value(json_object_get(v, "level")),
		       json_string_value(json_object_get(v, "type")));
		print_size(json_integer_value(json_object_get(v, "size_bytes")));
		printf(" x %lld, %lld-byte lines, shared by %lld thread(s)\n",
		       json_integer_value(json_object_get(v, "instances")),
		       json_integer_value(json_object_get(v, "line_bytes")),
		       json_integer_value(json_object_get(v, "pus_per_instance")));
	}
	printf("\nNUMA nodes\n");
	json_array_foreach(json_object_get(doc, "nodes"), i, v) {
		printf("  node %lld (os %lld): ", json_integer_value(json_object_get(v, "index")),
		       json_integer_value(json_object_get(v, "os_index")));
		print_size(json_integer_value(json_object_get(v, "memory_bytes")));
		printf(", cpus %s, distances", json_string_value(json_object_get(v, "cpulist")));
		json_array_foreach(json_object_get(v, "distances"), j, x)
			json_is_integer(x) ? printf(" %lld", json_integer_value(x)) : printf(" ?");
		printf("\n");
	}
	printf("\ndevices\n");
	json_array_foreach(json_object_get(doc, "devices"), i, v) {
		x = json_object_get(v, "node");
		printf("  %-5s %-12s %s [%s] ", json_string_value(json_object_get(v, "kind")),
		       json_string_value(json_object_get(v, "name")), json_string_value(json_object_get(v, "pci_busid")),
		       json_string_value(json_object_get(v, "pci_id")));
		json_is_integer(x) ? printf("node %lld\n", json_integer_value(x)) : printf("node ?\n");
	}
	printf("\nmemory probe");
	v = json_object_get(doc, "probe");
	if (json_is_string(json_object_get(v, "error"))) {
		printf(": %s\n", json_string_value(json_object_get(v, "error")));
		return;
	}
	printf(" (cache %s)\n", json_string_value(json_object_get(v, "cache")));
	json_array_foreach(json_object_get(v, "nodes"), i, x)
		printf("  node %lld: read %.1f GB/s, copy %.1f GB/s, triad %.1f GB/s, latency %.0f ns "
		       "(%lld threads)%s\n",
		       json_integer_value(json_object_get(x, "node")),
		       json_real_value(json_object_get(x, "read_gbps")), json_real_value(json_object_get(x, "copy_gbps")),
		       json_real_value(json_object_get(x, "triad_gbps")),
		       json_real_value(json_object_get(x, "latency_ns")),
		       json_integer_value(json_object_get(x, "threads")),
		       json_is_true(json_object_get(x, "from_cache")) ? ", cached" : "");
}

/* Load the cached figures, or measure (saying so: it takes a moment). */
static int get_probe(struct strata_rt *rt, int refresh, int quiet)
{
	int err = -ENOENT;

	if (!strata_rt_is_this_machine(rt))
		return -STRATA_ENOTHERE;
	if (!refresh)
		err = strata_probe_load(rt);
	if (err) {
		if (!quiet)
			fprintf(stderr, "strata: measuring memory bandwidth and latency (under a second)...\n");
		err = strata_probe_refresh(rt);
	}
	return err;
}

int cmd_info(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },	      { "probe", no_argument, NULL, 'p' },
		{ "topology", required_argument, NULL, 't' }, { "synthetic", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },	      { NULL, 0, NULL, 0 },
	};
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	int c, json = 0, refresh = 0, err, probe_err;
	struct strata_rt *rt;
	json_t *doc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'p':
			refresh = 1;
			break;
		case 't':
			opts.topology_xml = optarg;
			break;
		case 's':
			opts.topology_synthetic = optarg;
			break;
		case 'h':
			info_usage(stdout);
			return 0;
		default:
			info_usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc || (opts.topology_xml && opts.topology_synthetic)) {
		if (optind < argc)
			fprintf(stderr, "strata info: unexpected argument '%s'\n", argv[optind]);
		info_usage(stderr);
		return EXIT_USAGE;
	}
	err = strata_rt_create(&opts, &rt);
	if (err) {
		fprintf(stderr, "strata info: %s\n", strata_strerror(err));
		return 1;
	}
	probe_err = get_probe(rt, refresh, 0);
	if (refresh && probe_err) {
		fprintf(stderr, "strata info: probe failed: %s\n", strata_strerror(probe_err));
		strata_rt_destroy(rt);
		return 1;
	}
	doc = info_json(rt, probe_err);
	if (!doc) {
		fprintf(stderr, "strata info: out of memory\n");
		strata_rt_destroy(rt);
		return 1;
	}
	if (json) {
		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		print_text(doc);
	}
	json_decref(doc);
	strata_rt_destroy(rt);
	return 0;
}
