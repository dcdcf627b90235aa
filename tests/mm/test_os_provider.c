/* SPDX-License-Identifier: MIT */
/*
 * tests/mm/test_os_provider.c — the OS provider and populate, checked with
 * the kernel's own view: mincore for residency, get_mempolicy for the
 * policy, smaps for huge pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"
#include "mm/mm_int.h"

#define MPOL_BIND_K 2
#define MPOL_F_ADDR (1 << 1)

static size_t resident_pages(void *addr, size_t bytes)
{
	size_t n = bytes / 4096, i, r = 0;
	unsigned char *vec = calloc(n, 1);

	assert_non_null(vec);
	assert_int_equal(mincore(addr, bytes, vec), 0);
	for (i = 0; i < n; i++)
		r += vec[i] & 1;
	free(vec);
	return r;
}

static struct st_mm_provider make(enum st_mpol policy, bool thp)
{
	struct st_os_provider_cfg *cfg = calloc(1, sizeof(*cfg));
	struct st_mm_provider p;

	assert_non_null(cfg);
	cfg->policy = policy;
	cfg->nodemask[0] = 1; /* OS node 0 */
	cfg->system_nodes = 1;
	cfg->thp = thp;
	cfg->ncpus = 2;
	cfg->cpus[0] = 0;
	cfg->cpus[1] = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 1 : 0;
	assert_int_equal(st_os_provider_create(cfg, &p), 0);
	free(cfg);
	return p;
}

static void test_reserve_commit_decommit_release(void **state)
{
	struct st_mm_provider p = make(ST_MPOL_BIND, false);
	struct st_commit_result res;
	int mode = -1;
	void *base;

	(void)state;
	assert_int_equal(p.ops->reserve(p.ctx, 6 << 20, 2 << 20, &base), 0);
	assert_true((uintptr_t)base % (2 << 20) == 0);
	assert_int_equal(resident_pages(base, 6 << 20), 0); /* address space only */
	assert_int_equal(p.ops->commit(p.ctx, base, 4 << 20, &res), 0);
	assert_int_equal(resident_pages(base, 4 << 20), 1024); /* populated, no faults later */
	assert_int_equal(resident_pages((char *)base + (4 << 20), 2 << 20), 0);
	assert_int_equal(syscall(SYS_get_mempolicy, &mode, NULL, 0UL, base, (unsigned long)MPOL_F_ADDR), 0);
	assert_int_equal(mode, MPOL_BIND_K);
	memset(base, 7, 4 << 20);
	assert_int_equal(p.ops->decommit(p.ctx, base, 4 << 20), 0);
	assert_int_equal(resident_pages(base, 4 << 20), 0); /* RSS really drops */
	assert_int_equal(p.ops->commit(p.ctx, base, 4 << 20, &res), 0);
	assert_int_equal(((char *)base)[12345], 0); /* comes back zeroed */
	assert_int_equal(p.ops->release(p.ctx, base, 6 << 20), 0);
	p.ops->destroy(p.ctx);
}

static void test_strict_bind_refuses_more_than_the_node_has(void **state)
{
	struct st_mm_provider p = make(ST_MPOL_BIND, false);
	struct st_commit_result res;
	void *base;

	(void)state;
	assert_int_equal(p.ops->reserve(p.ctx, (size_t)1 << 40, 2 << 20, &base), 0);
	assert_int_equal(p.ops->commit(p.ctx, base, (size_t)1 << 40, &res), -ENOMEM);
	assert_int_equal(resident_pages(base, 64 << 20), 0);
	assert_int_equal(p.ops->release(p.ctx, base, (size_t)1 << 40), 0);
	p.ops->destroy(p.ctx);
}

static void test_huge_pages_and_parallel_populate(void **state)
{
	struct st_mm_provider p = make(ST_MPOL_PREFERRED, true);
	struct st_commit_result res;
	char mode[128] = "";
	void *base;

	(void)state;
	assert_int_equal(p.ops->reserve(p.ctx, 64 << 20, 2 << 20, &base), 0);
	/* 64 MiB: above the threshold where two threads share the work. */
	assert_int_equal(p.ops->commit(p.ctx, base, 64 << 20, &res), 0);
	assert_int_equal(resident_pages(base, 64 << 20), 16384);
	assert_true(res.fallback_bytes == 0); /* one node: nowhere to fall back to */
	st_read_text("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof(mode));
	if (*mode && !strstr(mode, "[never]"))
		assert_true(p.ops->hugepage_coverage(p.ctx, base, 64 << 20) >= 0.9);
	assert_int_equal(p.ops->release(p.ctx, base, 64 << 20), 0);
	p.ops->destroy(p.ctx);
}

static void test_populate_alone(void **state)
{
	int cpus[2] = { 0, 0 };
	char *m = mmap(NULL, 40 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(m != MAP_FAILED);
	assert_int_equal(st_populate(m, 40 << 20, 4096, cpus, 2), 0);
	assert_int_equal(resident_pages(m, 40 << 20), 10240);
	munmap(m, 40 << 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserve_commit_decommit_release),
		cmocka_unit_test(test_strict_bind_refuses_more_than_the_node_has),
		cmocka_unit_test(test_huge_pages_and_parallel_populate),
		cmocka_unit_test(test_populate_alone),
	};

	return RUN_TESTS(tests);
}
