/* SPDX-License-Identifier: MIT */
/* The kernel helpers built for AVX2 without AVX-512 (mk/tests.mk). */
#define KERNELS_VARIANT "avx2"
#include "test_kernels.c"
