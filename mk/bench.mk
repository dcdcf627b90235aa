# mk/bench.mk — benchmarks print JSON lines (shared/bench-method.md).

BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(O)/bench/%)

# The STREAM baseline uses OpenMP, as STREAM itself does; every other flag is
# the library's own, so the probe and its baseline compile alike.
$(O)/bench/%: bench/%.c $(STLIB) $(CONFIG_HDR)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -fopenmp -o $@ $< $(STLIB) $(LDFLAGS) $(DEP_LIBS)

bench-core: all $(O)/bench/bench_probe
	@$(O)/bench/bench_probe

bench-mm: all $(O)/bench/bench_mm_churn
	@tools/install-deps.sh --bench
	@$(O)/bench/bench_mm_churn

bench: bench-core bench-mm

.PHONY: bench bench-core bench-mm
