# mk/bench.mk — benchmarks print JSON lines (shared/bench-method.md).

BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)

# The STREAM baseline uses OpenMP, as STREAM itself does; every other flag is
# the library's own, so the probe and its baseline compile alike.
$(O)/bench/%: bench/%.c $(STLIB) $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fopenmp -o $@ $< $(STLIB) $(LDFLAGS) $(DEP_LIBS) $(CLI_LIBS)

bench-core: all $(O)/bench/bench_probe
	@$(O)/bench/bench_probe

MM_BENCHES := bench_mm_churn bench_mm_frag bench_mm_large bench_mm_pretouch bench_mm_trim

bench-mm: all $(MM_BENCHES:%=$(O)/bench/%)
	@tools/install-deps.sh --bench
	@set -e; for b in $(MM_BENCHES); do $(O)/bench/$$b; done

# The tracer against an LTTng-UST tracepoint (when liblttng-ust is there).
HAVE_LTTNG_UST := $(call pkg_exists,lttng-ust)
$(O)/bench/bench_trace: bench/bench_trace.c bench/bench_trace_tp.h $(STLIB) $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -Wno-redundant-decls -Wno-missing-prototypes -DHAVE_LTTNG_UST=$(HAVE_LTTNG_UST) -Ibench \
		-o $@ $< $(STLIB) $(LDFLAGS) $(DEP_LIBS) $(if $(filter 1,$(HAVE_LTTNG_UST)),$(shell $(PKG_CONFIG) --libs lttng-ust))

bench-trace: all $(O)/bench/bench_trace
	@tools/install-deps.sh --bench
	@tools/bench-trace.sh $(O)/bench/bench_trace

# bench_bpf loads an empty program on each hook the collectors use, as the
# floor a program pays there (bench/bpf_floor.bpf.c, built like bpf/'s).
ifeq ($(HAVE_BPF_SKELETONS),1)
$(O)/bench/bpf_floor.bpf.o: bench/bpf_floor.bpf.c $(O)/bpf/vmlinux.h
	@mkdir -p $(@D)
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(O) -I. -c $< -o $@

$(O)/bench/bpf_floor.skel.h: $(O)/bench/bpf_floor.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name bpf_floor > $@.tmp && mv $@.tmp $@

$(O)/bench/bench_bpf: $(O)/bench/bpf_floor.skel.h
$(O)/bench/bench_bpf: ALL_CFLAGS += -DHAVE_BPF_FLOOR=1 -I$(O)/bench
endif

# The telemetry collectors' cost (root, fio, losetup, bpftool).
bench-bpf: all $(O)/bench/bench_bpf
	@tools/install-deps.sh --bench
	@$(O)/bench/bench_bpf

# Storage: writes its files into build/bench-data once (about 8.5 GB).
bench-io: all $(O)/bench/bench_io
	@tools/install-deps.sh --bench
	@$(O)/bench/bench_io

# The graph compiler against a triad and OpenBLAS (loaded at run time);
# the triad is built like the generated kernels (-O3 -march=native).
# (An explicit rule: target-specific flags would pass on to the library.)
BENCH_GRAPH_SRCS := bench/bench_graph.c bench/bench_graph_fused.c bench/bench_graph_gemm.c
$(O)/bench/bench_graph: $(BENCH_GRAPH_SRCS) bench/bench_graph.h bench/llama_graph.h bench/bench_util.h $(STLIB) \
		$(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -O3 -march=native -Ibench -fopenmp -o $@ $(BENCH_GRAPH_SRCS) $(STLIB) $(LDFLAGS) \
		$(DEP_LIBS) -ldl

bench-graph: all $(O)/bench/bench_graph
	@tools/install-deps.sh --bench
	@$(O)/bench/bench_graph

# The serving engine (the example's own objects, linked in) against the
# bandwidth bound, llama.cpp (its own llama-bench and llama-server, built once
# from the source in PyPI's llama-cpp-python by tools/build-llama-cpp.sh) and
# itself; generated models go to build/bench-data.
BENCH_SERVE_SRCS := bench/bench_serve.c bench/bench_serve_llama.c
$(O)/bench/bench_serve: $(BENCH_SERVE_SRCS) bench/bench_serve.h bench/bench_util.h $(SERVE_PART_OBJS) $(STLIB) $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -O3 -march=native -Ibench -Iexamples/serve -fopenmp -o $@ $(BENCH_SERVE_SRCS) \
		$(SERVE_PART_OBJS) $(STLIB) $(LDFLAGS) $(DEP_LIBS) $(SERVE_LIBS) -ldl

bench-serve: all $(O)/bench/bench_serve
	@tools/install-deps.sh --bench
	@tools/build-llama-cpp.sh >/dev/null || echo "bench-serve: llama.cpp is not usable here; serve.real reports why"
	@STRATA_BUILD=$(O) $(O)/bench/bench_serve

bench: bench-core bench-mm bench-io bench-trace bench-bpf bench-graph bench-serve

.PHONY: bench bench-core bench-mm bench-io bench-trace bench-bpf bench-graph bench-serve

# --- fuzzing (clang's libFuzzer; `make fuzz FUZZ_SECONDS=300`) ---------------
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR := build/fuzz

FUZZERS := pool gguf safetensors trace_reader graph

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(LIB_SRCS) $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) -std=c11 -D_GNU_SOURCE -DSTRATA_DEBUG -g -O1 -fsanitize=fuzzer,address,undefined \
		-I$(O) -Iinclude -I. $(DEP_CFLAGS) -o $@ $< $(LIB_SRCS) $(DEP_LIBS)

# The format tests write every file they build (valid ones and each known
# malformed pattern) into the seed corpora when STRATA_FUZZ_SEEDS is set.
fuzz-seeds: tests
	@mkdir -p $(FUZZ_DIR)/corpus-gguf $(FUZZ_DIR)/corpus-safetensors
	@mkdir -p $(FUZZ_DIR)/seeds/gguf $(FUZZ_DIR)/seeds/safetensors
	@STRATA_FUZZ_SEEDS=$(CURDIR)/$(FUZZ_DIR)/seeds $(O)/tests/io/test_gguf >/dev/null 2>&1
	@STRATA_FUZZ_SEEDS=$(CURDIR)/$(FUZZ_DIR)/seeds $(O)/tests/io/test_safetensors >/dev/null 2>&1
	@echo "  SEEDS   $$(ls $(FUZZ_DIR)/seeds/gguf | wc -l) GGUF, $$(ls $(FUZZ_DIR)/seeds/safetensors | wc -l) safetensors"

# Each fuzzer runs FUZZ_SECONDS.
fuzz: $(FUZZERS:%=$(FUZZ_DIR)/fuzz_%) fuzz-seeds
	@mkdir -p $(FUZZ_DIR)/corpus-pool
	$(FUZZ_DIR)/fuzz_pool -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-pool
	$(FUZZ_DIR)/fuzz_gguf -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-gguf $(FUZZ_DIR)/seeds/gguf
	$(FUZZ_DIR)/fuzz_safetensors -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/ \
		$(FUZZ_DIR)/corpus-safetensors $(FUZZ_DIR)/seeds/safetensors
	@mkdir -p $(FUZZ_DIR)/corpus-trace-reader
	$(FUZZ_DIR)/fuzz_trace_reader -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-trace-reader
	@mkdir -p $(FUZZ_DIR)/corpus-graph
	$(FUZZ_DIR)/fuzz_graph -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=4096 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus-graph

.PHONY: fuzz fuzz-seeds
