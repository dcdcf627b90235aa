# mk/install.mk — install and uninstall, honouring PREFIX and DESTDIR:
# the libraries, headers, strata.pc, the strata CLI and the man pages
# (MANDIR, default $(PREFIX)/share/man; mk/man.mk).

PUBLIC_HEADERS := $(wildcard include/strata/*.h)

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/strata $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(BINDIR)
	install -m 0644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	install -m 0755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libstrata.so
	install -m 0644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/strata/
	install -m 0644 $(O)/strata.pc $(DESTDIR)$(PKGCONFIGDIR)/
	install -m 0755 $(CLI) $(SERVE) $(DESTDIR)$(BINDIR)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 0644 $(MAN1_PAGES) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN3_DIR)/*.3 $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libstrata.a $(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libstrata.so \
		$(DESTDIR)$(PKGCONFIGDIR)/strata.pc $(DESTDIR)$(BINDIR)/strata $(DESTDIR)$(BINDIR)/strata-serve
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/strata/,$(notdir $(PUBLIC_HEADERS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/strata 2>/dev/null
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(MAN1_PAGES)))
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man3/,$(addsuffix .3,$(API_SYMBOLS)))

.PHONY: install uninstall
