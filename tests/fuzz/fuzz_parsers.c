/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the pure parsers of lib/; see tests/fuzz/README.
 * From the top of the tree:
 *
 *   mkdir -p build/fuzz
 *   clang -std=gnu11 -D_GNU_SOURCE -g -O1 \
 *	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *	-Ilib -o build/fuzz/fuzz_parsers tests/fuzz/fuzz_parsers.c \
 *	lib/duration.c lib/name.c lib/url.c lib/config.c lib/util.c \
 *	lib/etcd/json.c lib/etcd/base64.c lib/etcd/http_parse.c
 *   build/fuzz/fuzz_parsers -max_total_time=120 -max_len=4096 \
 *	-artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz/corpus
 *
 * The first corpus directory gathers what the fuzzer finds; copy inputs
 * worth keeping (never a crasher) into tests/fuzz/corpus.
 */
#include "fuzz_one.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_one(data, size);
}
