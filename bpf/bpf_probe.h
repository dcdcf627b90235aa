/* SPDX-License-Identifier: MIT */
/*
 * bpf/bpf_probe.h — can this process load eBPF programs, and does the kernel
 * carry the BTF that CO-RE programs relocate against?
 */
#ifndef STRATA_BPF_PROBE_H
#define STRATA_BPF_PROBE_H

#include <stddef.h>

/* Load a trivial tracepoint program.  Return: 0; -ENOSYS (built without
 * libbpf); -EPERM (no CAP_BPF/CAP_PERFMON or CAP_SYS_ADMIN); -EOPNOTSUPP
 * (kernel lacks the program type); other negative errno. */
int st_bpf_probe_load(char *detail, size_t len);

/* Find and parse the kernel's BTF.  Return: 0; -ENOSYS (no libbpf);
 * -ENOENT (kernel built without CONFIG_DEBUG_INFO_BTF); other errno. */
int st_bpf_probe_btf(char *detail, size_t len);

#endif /* STRATA_BPF_PROBE_H */
