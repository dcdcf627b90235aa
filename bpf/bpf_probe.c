/* SPDX-License-Identifier: MIT */
/*
 * bpf/bpf_probe.c — detect what the eBPF collectors need: permission to
 * load programs, the tracepoint program type and kernel BTF.
 *
 * libbpf prints its own diagnostics to stderr by default; the library may
 * not print, so its print callback is switched off for the duration of a
 * probe and restored afterwards.
 */
#include <errno.h>

#include "base/base.h"
#include "bpf/bpf_probe.h"
#include "config.h"

#if HAVE_LIBBPF
#include <bpf/btf.h>
#include <bpf/libbpf.h>

static const char *skeleton_note(void)
{
	return HAVE_BPF_SKELETONS ? "" : "; CO-RE skeletons not built (clang or bpftool missing)";
}

int st_bpf_probe_load(char *detail, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int rc = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL);
	char sysctl[16] = "?";

	libbpf_set_print(old);
	st_read_text("/proc/sys/kernel/unprivileged_bpf_disabled", sysctl, sizeof(sysctl));
	if (rc == 1) {
		st_fmt(detail, len, "tracepoint programs load (libbpf %s)%s", STRATA_LIBBPF_VERSION,
		       skeleton_note());
		return 0;
	}
	if (rc == 0) {
		st_fmt(detail, len, "kernel does not support tracepoint programs");
		return -EOPNOTSUPP;
	}
	st_fmt(detail, len, "loading a program failed: errno %d (kernel.unprivileged_bpf_disabled=%s)", -rc,
	       sysctl);
	return rc;
}

int st_bpf_probe_btf(char *detail, size_t len)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	struct btf *btf = btf__load_vmlinux_btf();
	int err = btf ? 0 : -errno;

	libbpf_set_print(old);
	if (err) {
		st_fmt(detail, len, "no usable kernel BTF (errno %d)", -err);
		return err ? err : -ENOENT;
	}
	st_fmt(detail, len, "kernel BTF with %u types", btf__type_cnt(btf));
	btf__free(btf);
	return 0;
}

#else

int st_bpf_probe_load(char *detail, size_t len)
{
	st_fmt(detail, len, "strata was built without libbpf");
	return -ENOSYS;
}

int st_bpf_probe_btf(char *detail, size_t len)
{
	st_fmt(detail, len, "strata was built without libbpf");
	return -ENOSYS;
}

#endif
