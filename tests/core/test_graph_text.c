/* SPDX-License-Identifier: MIT */
/*
 * tests/core/test_graph_text.c — graphs as text (strata_graph_parse()):
 * every op reads, the dump reads back to the same graph, and each kind of
 * bad line is refused with its line number and the reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static const char every_op[] =
	"# every op once\n"
	"max_seq 16\n"
	"%x = input \"x\" f32 [seq, 8]\n"
	"%ids = input \"ids\" i32 [seq]\n"
	"%w = weight \"w\" f32 [8, 8] random\n"
	"%v = weight \"v\" f32 [8] ones\n"
	"%b = weight \"b\" f32 [8] zeros\n"
	"%t = weight \"table\" f32 [10, 8]\n"
	"%a0 = add %x %v\n%a1 = sub %a0 %x\n%a2 = mul %a1 %a1\n%a3 = div %a2 %v\n%a4 = max %a3 %x\n"
	"%u0 = exp %a4\n%u1 = log %u0\n%u2 = sqrt %u0\n%u3 = rsqrt %u0\n%u4 = neg %u3\n%u5 = tanh %u4\n"
	"%u6 = sigmoid %u5\n%u7 = silu %u6\n%u9 = gelu %u7\n%u8 = softcap %u9 30\n"
	"%r0 = sum %u8 axis=1\n%r1 = reduce_max %u8 axis=0\n%r2 = mean %u8 axis=-1\n"
	"%s = softmax %u8\n%n0 = rmsnorm %s %v eps=1e-5\n%n1 = layernorm %n0 %v %b eps=1e-5\n"
	"%n2 = layernorm %n1 %v eps=1e-3\n"
	"%h = reshape %n2 [seq, 2, 4]   # a comment after a statement\n"
	"%ro = rope %h %ids theta=10000 adjacent\n"
	"%p = permute %ro perm=1,0,2\n%sl = slice %p axis=2 start=1 len=2\n"
	"%c = concat %sl %sl axis=2\n"
	"%m = matmul %n2 %w trans_b\n%m2 = matmul %m %w\n"
	"%e = embedding %t %ids\n%am = argmax %m2\n"
	"output %c\noutput %m2\noutput %e\noutput %am\noutput %r0\noutput %r1\noutput %r2\noutput %u1\noutput %u2\n";

static void every_op_reads_and_runs(void **state)
{
	struct strata_graph *g;
	struct strata_program *p;
	char err[256];

	(void)state;
	if (strata_graph_parse(test_rt, every_op, &g, err, sizeof(err)))
		fail_msg("parse: %s", err);
	assert_int_equal(strata_graph_nodes(g), 37);
	STRATA_COMPILE_OPTS(opts, .flags = STRATA_COMPILE_INTERPRET);
	assert_int_equal(strata_graph_compile(g, &opts, &p), 0);
	strata_program_destroy(p);
	strata_graph_destroy(g);
}

/* States, cache writes, attention and casts read, and dump back. */
static void cache_ops_read(void **state)
{
	static const char text[] = "max_seq 8\n"
				   "%x = input \"x\" f32 [seq, 2, 4]\n%pos = input \"pos\" i32 [seq]\n"
				   "%kc = state \"k_cache\" f32 [16, 2, 4]\n%vc = state \"v_cache\" f32 [16, 2, 4]\n"
				   "%k = write_rows %kc %x %pos\n%v = write_rows %vc %x %pos\n"
				   "%o = attention %x %k %v %pos scale=0.5\n%p = cast %pos f32\n"
				   "output %o\noutput %p\n";
	struct strata_graph *g;
	struct strata_program *p;
	const char *dump;
	char err[256];

	(void)state;
	if (strata_graph_parse(test_rt, text, &g, err, sizeof(err)))
		fail_msg("parse: %s", err);
	assert_int_equal(strata_graph_nodes(g), 8);
	assert_int_equal(strata_graph_compile(g, NULL, &p), 0);
	assert_int_equal(strata_program_dump(p, &dump), 0);
	assert_non_null(strstr(dump, "%2 = state \"k_cache\""));
	assert_non_null(strstr(dump, "%6 = attention %0 %4 %5 %1 scale=0.5"));
	assert_non_null(strstr(dump, "%7 = cast %1 F32"));
	strata_program_destroy(p);
	strata_graph_destroy(g);
}

/* The dump's first section is the graph again: same nodes, same dump. */
static void dump_reads_back(void **state)
{
	struct strata_graph *g, *h;
	struct strata_program *p, *q;
	const char *d1, *d2;
	char err[256], *first, *end;

	(void)state;
	STRATA_COMPILE_OPTS(opts, .flags = STRATA_COMPILE_INTERPRET);
	assert_int_equal(strata_graph_parse(test_rt, every_op, &g, err, sizeof(err)), 0);
	assert_int_equal(strata_graph_compile(g, &opts, &p), 0);
	assert_int_equal(strata_program_dump(p, &d1), 0);
	first = strdup(d1);
	end = strstr(first, "\n\n");
	assert_non_null(end);
	end[1] = '\0';
	if (strata_graph_parse(test_rt, first, &h, err, sizeof(err)))
		fail_msg("the dump does not read back: %s", err);
	assert_int_equal(strata_graph_compile(h, &opts, &q), 0);
	assert_int_equal(strata_program_dump(q, &d2), 0);
	/* Names and numbers come back the same; only weight values differ. */
	assert_int_equal(strncmp(d1, d2, strlen(first)), 0);
	free(first);
	strata_program_destroy(p);
	strata_program_destroy(q);
	strata_graph_destroy(g);
	strata_graph_destroy(h);
}

static void bad_lines_are_refused(void **state)
{
	static const struct {
		const char *text, *want;
	} cases[] = {
		{ "%x = input \"x f32 [4]\n", "line 1: a quote or a bracket is not closed" },
		{ "%x = input \"x\" f32 [4, 2\n", "line 1: a quote or a bracket is not closed" },
		{ "%x = input \"x\" f64 [4]\n", "line 1: type \"f64\" is not f32 or i32" },
		{ "%x = input \"x\" f32 [4, many]\n", "line 1: shape size \"many\" is not a number or seq" },
		{ "%x = input \"x\" f32 [1, 2, 3, 4, 5]\n", "more than 4 dimensions" },
		{ "%x = input \"x\" f32 [4]\nmax_seq 8\n", "line 2: max_seq comes before the first node" },
		{ "max_seq 0\n", "line 1: max_seq needs a number > 0" },
		{ "%x = input \"x\" f32 [4]\n%x = neg %x\n", "line 2: %x is defined twice" },
		{ "%x = input \"x\" f32 [4]\n%y = neg %q\n", "line 2: %q is not defined above" },
		{ "%w = weight \"w\" f32 [4] twos\n", "line 1: weight fill \"twos\" is not random, zeros or ones" },
		{ "%x = input \"x\" f32 [4]\n%y = permute %x\n", "line 2: permute needs perm=" },
		{ "%x = input \"x\" f32 [4]\n%y = sum %x\n", "line 2: the op needs axis=" },
		{ "%x = input \"x\" f32 [4]\n%y = sum %x axis=two\n", "line 2: \"two\" is not a number" },
		{ "%x = input \"x\" f32 [4]\n%y = add %x\n", "line 2: add needs more operands" },
		{ "%x = input \"x\" f32 [4]\n%y = add %x %x\n%z = matmul %y %x\n", "line 3: matmul:" },
		{ "x = input \"x\" f32 [4]\n", "line 1: a line starts with %name, max_seq or output" },
		{ "%x input\n", "line 1: expected \"%x = op ...\"" },
		{ "%x = input \"x\" f32 [4]\noutput\n", "line 2: output takes one node" },
		{ "%x = input \"x\" f32 [4]\n%y = softcap %x\n", "line 2: softcap needs a number after its operand" },
		{ "%x = input \"x\" f32 [4]\n%y = softcap %x 0\n", "line 2: softcap: its number is 0" },
		{ "%x = input \"x\" f32 [4]\n%y = input %x\n", "line 2: input needs a name" },
	};
	struct strata_graph *g = NULL;
	char err[256];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(strata_graph_parse(test_rt, cases[i].text, &g, err, sizeof(err)), -EINVAL);
		if (!strstr(err, cases[i].want))
			fail_msg("case %u: said \"%s\", expected \"%s\"", i, err, cases[i].want);
	}
	assert_int_equal(strata_graph_parse(NULL, "", &g, err, sizeof(err)), -EINVAL);
	assert_int_equal(strata_graph_parse(test_rt, "", &g, NULL, 0), 0); /* empty: a graph with no nodes */
	assert_int_equal(strata_graph_nodes(g), 0);
	strata_graph_destroy(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_op_reads_and_runs),
		cmocka_unit_test(dump_reads_back),
		cmocka_unit_test(cache_ops_read),
		cmocka_unit_test(bad_lines_are_refused),
	};

	return cmocka_run_group_tests_name(__FILE__, tests, rt_setup, rt_teardown);
}
