/* SPDX-License-Identifier: MIT */
/*
 * tests/fuzz/fuzz_gguf.c — libFuzzer harness for the GGUF parser
 * (`make fuzz`); tests/io/test_fuzz_models.c replays mutations of a valid
 * file through the same function in every `make check`.
 */
#include "fuzz_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_model_bytes(data, size, STRATA_FORMAT_GGUF);
}
