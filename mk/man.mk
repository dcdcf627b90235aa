# mk/man.mk — the manual pages, as liburing ships them.
#
# Section 1 (strata, strata-serve) is written by hand in man/.  Section 3
# has one page per exported symbol, generated at build time from the
# kernel-doc comments of include/strata/*.h by tools/gen-man3.py into
# $(O)/man/man3 (tests/build/test_man.sh checks both).

MAN1_PAGES := man/strata.1 man/strata-serve.1
MAN3_DIR   := $(O)/man/man3
MAN3_STAMP := $(MAN3_DIR)/.stamp
# The pages are named after what strata.map exports, which is the headers'
# list (tests/build/test_exports.sh): uninstall needs no build to know them.
API_SYMBOLS := $(shell sed -n '/global:/,/local:/s/^[[:space:]]*\([a-z_][a-z0-9_]*\);.*/\1/p' strata.map)

all: $(MAN3_STAMP)

# Regenerated as a whole, so a page whose function left the headers goes too.
$(MAN3_STAMP): tools/gen-man3.py $(wildcard include/strata/*.h)
	@$(if $(Q),echo "  GEN     $(MAN3_DIR)")
	$(Q)rm -rf $(MAN3_DIR) && mkdir -p $(MAN3_DIR)
	$(Q)python3 tools/gen-man3.py --version $(VERSION) -o $(MAN3_DIR) include/strata/*.h
	$(Q)touch $@

man: $(MAN3_STAMP)

.PHONY: man
