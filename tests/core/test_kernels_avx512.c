/* SPDX-License-Identifier: MIT */
/* The kernel helpers built as generated kernels are: -march=native (mk/tests.mk). */
#define KERNELS_VARIANT "avx512"
#define KERNELS_WANT_AVX512 1
#include "test_kernels.c"
