/*
 * fuzz.h - what the harnesses of tests/fuzz/ share.  Each harness
 * (fuzz_NAME.c) defines LLVMFuzzerTestOneInput; `make fuzz` links it with
 * libFuzzer (clang, -fsanitize=fuzzer), and `make check` links it with
 * replay.c, which runs it over every input of tests/fuzz/corpus/NAME/.
 * A harness reports a finding by crashing: a sanitizer report, or abort()
 * after fuzz_fail() has said which property broke.
 */
#ifndef DDBSIM_FUZZ_H
#define DDBSIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory of this process's own, made on the first call (mkdtemp in
 * $TMPDIR, else /tmp) and removed with what it holds at exit. */
const char *fuzz_scratch_dir(void);

/* Writes size bytes to path, replacing it; aborts when it cannot (trouble
 * of the harness, not a finding). */
void fuzz_write_file(const char *path, const void *data, size_t size);

/* Reads the whole file at path into a malloc'd buffer (*size bytes, plus a
 * NUL); NULL if it does not exist.  Aborts on other errors. */
unsigned char *fuzz_read_file(const char *path, size_t *size);

/* A property the harness checks does not hold: prints why and aborts. */
_Noreturn void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
