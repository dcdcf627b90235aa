# mk/bpf.mk — CO-RE eBPF programs: bpf/<name>.bpf.c is compiled by clang
# against a vmlinux.h generated from this kernel's BTF, and bpftool turns
# the object into bpf/<name>.skel.h in the build folder, which the loader
# bpf/<name>.c includes.  Nothing generated is committed (style.md 13).

BPF_PROGS := blockio runq memory uring
BPF_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(HAVE_BPF_SKELETONS),1)
$(O)/bpf/vmlinux.h:
	@mkdir -p $(@D)
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c bpf/%.h $(O)/bpf/vmlinux.h
	@$(if $(Q),echo "  BPF     $<")
	$(Q)clang -g -O2 -target bpf -D__TARGET_ARCH_$(BPF_ARCH) -I$(O) -I. -c $< -o $@

$(O)/bpf/%.skel.h: $(O)/bpf/%.bpf.o
	@$(if $(Q),echo "  SKEL    $@")
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

.SECONDARY: $(BPF_PROGS:%=$(O)/bpf/%.bpf.o)

# The loaders include their skeletons.
$(foreach p,$(BPF_PROGS),$(eval $(O)/obj/bpf/$(p).o $(O)/pic/bpf/$(p).o: $(O)/bpf/$(p).skel.h))
endif
