/*
 * lua_text.h - values written as Lua source, for the scenarios ddbsim
 * writes itself: a recorded serve session (recorder.c) and a shrunk
 * scenario (shrink_script.c).
 */
#ifndef DDBSIM_LUA_TEXT_H
#define DDBSIM_LUA_TEXT_H

#include <stdint.h>
#include <stdio.h>

struct scenario_failure;

/* A string literal: printable ASCII and UTF-8 as they are, the rest
 * escaped. */
void lua_text_string(FILE *out, const char *s);
/* Seconds with six decimals: exact to the microsecond, the engine's unit. */
void lua_text_seconds(FILE *out, int64_t us);
/* The fields of a failure step, as in a `failures` entry: `action = "A"`,
 * then its target and the fields of its action (latency and jitter,
 * from/to/oneway, probability, delay), each ", key = value". */
void lua_text_step_fields(FILE *out, const struct scenario_failure *f);

#endif
