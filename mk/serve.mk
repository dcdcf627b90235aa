# mk/serve.mk — strata-serve, the serving example (examples/serve/): the
# project's main job.  It links the shared library the way a user's program
# does (found beside it in the build, or in ../lib once installed), plus
# what only the example needs: PCRE2 for the tokenizer's
# pre-tokenizer expressions, libmicrohttpd and jansson for its HTTP API.

HAVE_PCRE2 := $(call pkg_exists,libpcre2-8)
SERVE_SRCS := $(wildcard examples/serve/*.c)
SERVE_OBJS := $(SERVE_SRCS:%.c=$(O)/obj/%.o)
SERVE_LIBS := $(shell $(PKG_CONFIG) --libs libpcre2-8 libmicrohttpd jansson 2>/dev/null) -lm -pthread
SERVE      := $(O)/strata-serve

$(SERVE): $(SERVE_OBJS) $(SHLIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(SERVE_OBJS) -L$(O) -lstrata -Wl,-rpath,'$$ORIGIN' -Wl,-rpath,'$$ORIGIN/../lib' \
		$(LDFLAGS) $(SERVE_LIBS)

# Tests of the example's parts (tests/serve/) link its objects but main.o.
SERVE_PART_OBJS := $(filter-out %/main.o,$(SERVE_OBJS))
$(O)/obj/tests/serve/%.o: ALL_CFLAGS += -Iexamples/serve

# The reference Llama forward pass the engine is checked against.
SERVE_TEST_OBJS := $(O)/obj/tests/serve/llama_ref.o
$(SERVE_TEST_OBJS): $(O)/obj/tests/serve/%.o: tests/serve/%.c

$(O)/tests/serve/%: $(O)/obj/tests/serve/%.o $(TEST_HELPER_OBJS) $(SERVE_TEST_OBJS) $(SERVE_PART_OBJS) $(STLIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $< $(TEST_HELPER_OBJS) $(SERVE_TEST_OBJS) $(SERVE_PART_OBJS) $(STLIB) $(LDFLAGS) \
		$(DEP_LIBS) $(SERVE_LIBS) -lcmocka
