# strata — top-level build.  `make help` lists the targets.
#
# Out-of-tree: everything lands in build/<variant>/ (release, debug, asan,
# tsan), chosen by the switches V=1 WERROR=1 SANITIZE=1 TSAN=1 DEBUG=1.

include mk/config.mk

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:

# Library sources, one concept per file, grouped by layer (design.md).
LIB_SRCS := \
	base/alloc.c base/text.c base/util.c base/error.c base/version.c base/log.c \
	core/cpu_features.c core/topo.c core/topo_query.c core/topo_devices.c \
	core/machine_id.c core/probe_measure.c core/probe_cache.c core/probe.c \
	core/cc.c core/feature.c core/feature_host.c core/mm_place.c core/mm.c core/load.c core/observe.c core/telemetry.c core/rt.c \
	core/graph/op.c core/graph/shape.c core/graph/rules.c core/graph/build.c core/graph/interp.c core/graph/passes.c core/graph/fold.c \
	core/graph/fuse.c core/graph/plan.c core/graph/emit.c core/graph/emit_matmul.c core/graph/emit_packed.c core/graph/emit_single.c core/graph/emit_weights.c core/graph/pack.c \
	core/graph/kcache.c core/graph/target_cpu.c core/graph/target_ref.c core/graph/compile.c core/graph/program.c core/graph/dump.c core/graph/text.c core/graph/observe.c core/graph/stream.c core/graph/place.c core/sched.c \
	mm/populate.c mm/os_provider.c mm/tlsf.c mm/arena.c mm/large.c mm/small.c \
	mm/tcache.c mm/commit.c mm/domain.c mm/stats.c mm/metrics.c mm/pool.c \
	trace/clock.c trace/shm.c trace/listen.c trace/peer.c trace/reader.c trace/metrics.c trace/expo.c trace/http.c \
	io/uring_probe.c io/dtype.c io/model.c io/meta.c io/safetensors.c io/gguf.c io/raw.c io/file.c io/load.c io/load_api.c io/observe.c io/engine_uring.c io/engine_pread.c \
	bpf/bpf_probe.c bpf/procfs.c bpf/load_error.c bpf/blockio.c bpf/tp.c bpf/runq.c bpf/memory.c bpf/uring.c \
	cuda/cuda_probe.c

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/obj/%.o)
PIC_OBJS := $(LIB_SRCS:%.c=$(O)/pic/%.o)

SONAME  := libstrata.so.$(VERSION_MAJOR)
SHLIB   := $(O)/libstrata.so.$(VERSION)
STLIB   := $(O)/libstrata.a

CLI_SRCS := tools/strata/main.c tools/strata/cmd_info.c tools/strata/cmd_doctor.c tools/strata/cmd_load.c tools/strata/cmd_observe.c \
	tools/strata/cmd_top.c tools/strata/cmd_trace.c tools/strata/cmd_telemetry.c tools/strata/cmd_compile.c \
	tools/strata/cmd_gen_model.c tools/strata/gen_model.c tools/strata/gen_gguf.c tools/strata/gen_hf.c \
	tools/strata/sanitize.c
CLI_OBJS := $(CLI_SRCS:%.c=$(O)/obj/%.o)
CLI      := $(O)/strata

CONFIG_HDR := $(O)/config.h

EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLES := $(EXAMPLE_SRCS:%.c=$(O)/%)

include mk/serve.mk

all: deps-check $(SHLIB) $(STLIB) $(CLI) $(O)/strata.pc $(EXAMPLES) $(SERVE)

include mk/bpf.mk
include mk/tests.mk
include mk/bench.mk
include mk/man.mk
include mk/install.mk

# --- compilation ------------------------------------------------------------

# config.h is rewritten only when its content changes, so objects rebuild
# exactly when a dependency appears or disappears.
$(CONFIG_HDR): FORCE
	@mkdir -p $(@D)
	@printf '%s\n' "$$CONFIG_H" > $@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; echo "  GEN     $@"; fi

$(O)/obj/%.o: %.c $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fvisibility=hidden -MMD -MP -c $< -o $@

$(O)/pic/%.o: %.c $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC [pic] $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -MMD -MP -c $< -o $@

# The kernel helpers are real C headers (core/graph/kernels/), compiled into
# tests and pasted as text into every generated kernel: the emitter
# includes them as string constants made here.
KERNEL_HDRS := $(addprefix core/graph/kernels/,convert.h elementwise.h format.h unpack.h dot_f32.h dot_half.h dot_q8.h \
	dot_digits.h dot_nibble.h dot_quant.h packed.h gemm_f32.h gemm_bf16.h \
	gemm_block.h gemm_packed.h)
$(O)/core/graph/kernel_text.h: $(KERNEL_HDRS) tools/embed-text.sh
	@mkdir -p $(@D)
	@$(if $(Q),echo "  EMBED   $@")
	$(Q)sh tools/embed-text.sh $(KERNEL_HDRS) > $@.tmp && mv $@.tmp $@
$(O)/obj/core/graph/emit.o $(O)/pic/core/graph/emit.o: $(O)/core/graph/kernel_text.h

# Switches over the graph's closed sets (ops, parameter kinds, kernel kinds)
# name every case: a new op that a pass forgets does not compile.
$(O)/obj/core/graph/%.o $(O)/pic/core/graph/%.o: ALL_CFLAGS += -Wswitch-enum

$(STLIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(SHLIB): $(PIC_OBJS) strata.map
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=strata.map \
		-Wl,--no-undefined $(SAN_FLAGS) -o $@ $(PIC_OBJS) $(LDFLAGS) $(DEP_LIBS)
	$(Q)ln -sf $(notdir $@) $(O)/$(SONAME)
	$(Q)ln -sf $(SONAME) $(O)/libstrata.so

# The CLI links the static library: it is a tool, not a library consumer test
# (the installed-library consumer test lives in .ci/run).
$(CLI): $(CLI_OBJS) $(STLIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(CLI_OBJS) $(STLIB) $(LDFLAGS) $(DEP_LIBS) $(CLI_LIBS)

# Examples link the shared library, the way a user's program does.
$(O)/examples/%: examples/%.c $(SHLIB)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(BASE_CFLAGS) -Iinclude $(CFLAGS) -o $@ $< -L$(O) -lstrata -Wl,-rpath,'$$ORIGIN/..' $(LDFLAGS)

$(O)/strata.pc: strata.pc.in mk/config.mk
	@mkdir -p $(@D)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		-e 's|@REQUIRES@|$(PKGS)|' $< > $@

# --- dependencies -----------------------------------------------------------

deps:
	@tools/install-deps.sh

# A build without the required packages fails early with one clear message.
deps-check:
	@if [ "$(HAVE_HWLOC)$(HAVE_JANSSON)$(HAVE_XXHASH)$(HAVE_MHD)$(HAVE_NCURSES)$(HAVE_PCRE2)" != "111111" ]; then \
		echo "strata: missing build dependencies (hwloc=$(HAVE_HWLOC) jansson=$(HAVE_JANSSON) xxhash=$(HAVE_XXHASH)" \
		     "libmicrohttpd=$(HAVE_MHD) ncursesw=$(HAVE_NCURSES) pcre2=$(HAVE_PCRE2))." >&2; \
		echo "        run 'make deps' (as root) or tools/install-deps.sh --print" >&2; exit 1; fi

# --- the two commands -------------------------------------------------------

# The main job: serve SmolLM2 (or MODEL=PATH), ask it one question, stop.
demo: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(O) tools/demo.sh $(MODEL)

clean:
	rm -rf build

help:
	@echo "strata $(VERSION) — targets:"
	@echo "  make demo          install dependencies, build, run the main job"
	@echo "  make check         install dependencies, build, run every test"
	@echo "  make all           build libstrata.{so,a}, the strata CLI, strata.pc"
	@echo "  make deps          install missing Debian packages (root)"
	@echo "  make check-layers  check the one-way layer rule (design.md)"
	@echo "  make check-headers check each public header compiles alone"
	@echo "  make bench         run every benchmark (JSON lines on stdout)"
	@echo "  make bench-core    the bandwidth-probe benchmark"
	@echo "  make man           the section-3 pages from the headers (into \$$(O)/man/man3)"
	@echo "  make install / uninstall   honour PREFIX and DESTDIR"
	@echo "  make clean"
	@echo "switches: V=1 WERROR=1 SANITIZE=1 TSAN=1 DEBUG=1 (output in build/<variant>)"

FORCE:
.PHONY: all deps deps-check demo clean help FORCE

-include $(LIB_OBJS:.o=.d) $(PIC_OBJS:.o=.d) $(CLI_OBJS:.o=.d)
