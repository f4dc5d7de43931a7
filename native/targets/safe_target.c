/*
 * safe_target.c - a libFuzzer-ABI target that cannot crash: it folds the input into a checksum and
 * returns. Used to measure the fixed cost per execution of a fuzzer (IPC, FFI call, generation)
 * with as little target work as possible.
 */
#include <stddef.h>
#include <stdint.h>

/* Written so the compiler cannot drop the loop as dead code. */
volatile uint32_t safe_target_sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
    uint32_t h = 2166136261u;   /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ data[i]) * 16777619u;
    safe_target_sink = h;
    return 0;
}
