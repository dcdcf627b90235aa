/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_feature.c — the checks behind `strata doctor`, each
 * compared with an independent look at the same thing (a raw syscall, a
 * sysfs file, a dlopen), so a check cannot pass by saying "ok" blindly.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/io_uring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "config.h"
#include "helpers.h"

static struct strata_feature_report check(enum strata_feature_id id)
{
	struct strata_feature_report r = { .sz = sizeof(r) };

	assert_int_equal(strata_feature_check(NULL, id, &r), 0);
	return r;
}

static void test_every_report_is_complete(void **state)
{
	const char *names[STRATA_FEAT_COUNT];
	unsigned i, j;

	(void)state;
	for (i = 0; i < STRATA_FEAT_COUNT; i++) {
		struct strata_feature_report r = check((enum strata_feature_id)i);

		assert_int_equal(r.id, i);
		assert_non_null(r.name);
		assert_true(strlen(r.name) > 0);
		assert_true(r.status <= 0);
		assert_true(strlen(r.detail) > 0);
		if (r.status)
			assert_true(strlen(r.fix) > 0); /* every problem says what to do */
		names[i] = r.name;
		for (j = 0; j < i; j++)
			assert_string_not_equal(names[j], r.name);
	}
}

static void test_bad_arguments(void **state)
{
	struct strata_feature_report r = { .sz = sizeof(r) };

	(void)state;
	assert_int_equal(strata_feature_check(NULL, STRATA_FEAT_COUNT, &r), -EINVAL);
	assert_int_equal(strata_feature_check(NULL, STRATA_FEAT_THP, NULL), -EINVAL);
	r.sz = 0;
	assert_int_equal(strata_feature_check(NULL, STRATA_FEAT_THP, &r), -EINVAL);
}

static void test_io_uring_agrees_with_the_syscall(void **state)
{
	struct strata_feature_report r = check(STRATA_FEAT_IO_URING);
	struct io_uring_params p;
	long fd;

	(void)state;
	memset(&p, 0, sizeof(p));
	fd = syscall(__NR_io_uring_setup, 4, &p);
	if (fd >= 0)
		close((int)fd);
	if (!HAVE_LIBURING) {
		assert_int_equal(r.status, -ENOSYS);
		return;
	}
	if (fd >= 0)
		assert_int_equal(r.status, 0);
	else
		assert_int_equal(r.status, -errno);
}

/* Load "r0 = 0; exit" as a tracepoint program with the raw bpf(2) call. */
static int raw_bpf_load(void)
{
	struct bpf_insn insns[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	union bpf_attr attr;
	long fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_TRACEPOINT;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = 2;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	fd = syscall(__NR_bpf, BPF_PROG_LOAD, &attr, sizeof(attr));
	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
}

static void test_ebpf_agrees_with_the_syscall(void **state)
{
	struct strata_feature_report r = check(STRATA_FEAT_EBPF);
	int raw = raw_bpf_load();

	(void)state;
	if (!HAVE_LIBBPF) {
		assert_int_equal(r.status, -ENOSYS);
		return;
	}
	assert_int_equal(r.status == 0, raw == 0);
}

static void test_btf_agrees_with_sysfs(void **state)
{
	struct strata_feature_report r = check(STRATA_FEAT_BTF);

	(void)state;
	if (!HAVE_LIBBPF)
		assert_int_equal(r.status, -ENOSYS);
	else
		assert_int_equal(r.status == 0, access("/sys/kernel/btf/vmlinux", R_OK) == 0);
}

static void test_cuda_agrees_with_dlopen(void **state)
{
	struct strata_feature_report drv = check(STRATA_FEAT_CUDA_DRIVER);
	struct strata_feature_report rtc = check(STRATA_FEAT_NVRTC);
	void *h;

	(void)state;
	if (!HAVE_CUDA_H) {
		assert_int_equal(drv.status, -ENOSYS);
		assert_int_equal(rtc.status, -ENOSYS);
		return;
	}
	h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		assert_int_equal(drv.status, -ENODEV);
	} else {
		dlclose(h);
		assert_true(drv.status == 0 || drv.status == -ENODEV || drv.status == -EIO);
	}
	h = dlopen("libnvrtc.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libnvrtc.so.12", RTLD_NOW | RTLD_LOCAL);
	if (h) {
		dlclose(h);
		assert_int_equal(rtc.status, 0);
		assert_non_null(strstr(rtc.detail, "NVRTC"));
	}
}

static void test_thp_agrees_with_sysfs(void **state)
{
	struct strata_feature_report r = check(STRATA_FEAT_THP);
	char buf[128];

	(void)state;
	if (st_read_text("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)) < 0) {
		assert_int_equal(r.status, -ENOSYS);
		return;
	}
	assert_int_equal(r.status == 0, strstr(buf, "[never]") == NULL);
}

static void test_psi_agrees_with_procfs(void **state)
{
	struct strata_feature_report r = check(STRATA_FEAT_PSI);
	char buf[256];

	(void)state;
	assert_int_equal(r.status == 0, st_read_text("/proc/pressure/memory", buf, sizeof(buf)) >= 0);
}

static void test_numa_uses_the_runtime_topology(void **state)
{
	STRATA_RT_OPTS(opts, .probe = STRATA_PROBE_OFF);
	struct strata_feature_report r = { .sz = sizeof(r) };
	struct strata_rt *rt;
	char want[32];

	(void)state;
	assert_int_equal(strata_rt_create(&opts, &rt), 0);
	assert_int_equal(strata_feature_check(rt, STRATA_FEAT_NUMA, &r), 0);
	if (r.status == 0) {
		int n = strata_topo_count(strata_rt_topo(rt), STRATA_TOPO_NODES);

		snprintf(want, sizeof(want), n == 1 ? "1 node" : "%d nodes", n);
		assert_non_null(strstr(r.detail, want));
	}
	strata_rt_destroy(rt);
}

static void test_memlock_as_root(void **state)
{
	struct strata_feature_report r = check(STRATA_FEAT_MEMLOCK);

	(void)state;
	if (geteuid() != 0)
		TEST_SKIP("not root: the memlock limit depends on the login's settings");
	assert_int_equal(r.status, 0);
}

static void test_cc_finds_and_proves_a_compiler(void **state)
{
	char *path = getenv("PATH") ? strdup(getenv("PATH")) : NULL;
	struct strata_feature_report r;

	(void)state;
	unsetenv("STRATA_CC");
	r = check(STRATA_FEAT_CC);
	assert_int_equal(r.status, 0);
	assert_non_null(strchr(r.detail, '/'));

	/* A broken STRATA_CC is passed over for the next candidate... */
	setenv("STRATA_CC", "/bin/false", 1);
	r = check(STRATA_FEAT_CC);
	assert_int_equal(r.status, 0);
	/* ...and with nothing else on PATH, the failure is reported. */
	setenv("PATH", "/nonexistent", 1);
	r = check(STRATA_FEAT_CC);
	assert_int_equal(r.status, -ENOEXEC);
	unsetenv("STRATA_CC");
	r = check(STRATA_FEAT_CC);
	assert_int_equal(r.status, -ENOENT);
	assert_non_null(strstr(r.fix, "STRATA_CC"));
	if (path)
		setenv("PATH", path, 1);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_report_is_complete),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_io_uring_agrees_with_the_syscall),
		cmocka_unit_test(test_ebpf_agrees_with_the_syscall),
		cmocka_unit_test(test_btf_agrees_with_sysfs),
		cmocka_unit_test(test_cuda_agrees_with_dlopen),
		cmocka_unit_test(test_thp_agrees_with_sysfs),
		cmocka_unit_test(test_psi_agrees_with_procfs),
		cmocka_unit_test(test_numa_uses_the_runtime_topology),
		cmocka_unit_test(test_memlock_as_root),
		cmocka_unit_test(test_cc_finds_and_proves_a_compiler),
	};

	return RUN_TESTS(tests);
}
