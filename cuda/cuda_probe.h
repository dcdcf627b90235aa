/* SPDX-License-Identifier: MIT */
/*
 * cuda/cuda_probe.h — is there an NVIDIA driver with devices, and an NVRTC
 * that can compile for them?  Both are loaded with dlopen, so strata builds
 * and runs on machines without either.
 */
#ifndef STRATA_CUDA_PROBE_H
#define STRATA_CUDA_PROBE_H

#include <stddef.h>

/* Load libcuda.so.1, cuInit(), count devices.  Return: 0 with at least one
 * device; -ENOSYS (built without CUDA headers); -ENODEV (no driver library,
 * or no device); -EIO (driver error). */
int st_cuda_probe_driver(char *detail, size_t len);

/* Load NVRTC (libnvrtc.so.13, .12, .11.2, libnvrtc.so) and ask its version
 * and target architectures.  Return: 0; -ENOSYS; -ENOENT (not found);
 * -EIO. */
int st_cuda_probe_nvrtc(char *detail, size_t len);

#endif /* STRATA_CUDA_PROBE_H */
