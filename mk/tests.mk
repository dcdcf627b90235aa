# mk/tests.mk — the test binaries and `make check`.
#
# One cmocka binary per source concept (tests/<layer>/test_<concept>.c),
# plus shell tests (tests/<layer>/*.sh) for the CLI.  tools/run-tests.sh runs
# each in its own process under a timeout and prints the summary line.

TEST_SRCS := $(sort $(wildcard tests/*/test_*.c))
TEST_BINS := $(TEST_SRCS:tests/%.c=$(O)/tests/%)
TEST_HELPER_OBJS := $(O)/obj/tests/helpers.o
TEST_SCRIPTS := $(sort $(wildcard tests/*/*.sh))

# Tests find their fixtures wherever they are run from.
$(O)/obj/tests/%.o: ALL_CFLAGS += -Itests -DSTRATA_SRCDIR='"$(CURDIR)"'

# The kernel helpers, as generated kernels build them and without AVX-512.
$(O)/obj/tests/core/test_kernels_avx512.o: ALL_CFLAGS += -march=native
$(O)/obj/tests/core/test_kernels_avx2.o: ALL_CFLAGS += -march=native -mno-avx512f

$(O)/tests/%: $(O)/obj/tests/%.o $(TEST_HELPER_OBJS) $(STLIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(STLIB) $(LDFLAGS) $(DEP_LIBS) -lcmocka

tests: all $(TEST_BINS)

check: deps
	@tools/install-python-deps.sh
	@$(MAKE) --no-print-directory tests
	@tools/check-layers.sh
	@tools/check-headers.sh "$(CC)" "$(O)"
	@STRATA_TEST_MODEL=$${STRATA_TEST_MODEL-$$(tools/fetch-model.sh --quiet)} tools/run-tests.sh "$(O)" $(TEST_BINS) $(TEST_SCRIPTS)

check-layers:
	@tools/check-layers.sh

check-headers:
	@tools/check-headers.sh "$(CC)" "$(O)"

.PHONY: tests check check-layers check-headers
.SECONDARY: $(TEST_BINS:$(O)/tests/%=$(O)/obj/tests/%.o) $(TEST_HELPER_OBJS)

-include $(TEST_BINS:$(O)/tests/%=$(O)/obj/tests/%.d) $(TEST_HELPER_OBJS:.o=.d)
