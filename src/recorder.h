/*
 * recorder.h - `ddbsim serve --record FILE`: writes each state-changing
 * call of the session, at its engine time, as a Lua scenario that `ddbsim
 * run` replays to the same state (ddbsim-lua(7), RECORDED SESSIONS).
 *
 * The file is written as the calls come and flushed after each one; it is
 * a complete scenario after every call (its last line, the return, is
 * rewritten each time), so a crash loses at most the call being written.
 * A write error stops the recording with a message on stderr, never the
 * session.
 */
#ifndef DDBSIM_RECORDER_H
#define DDBSIM_RECORDER_H

#include <stddef.h>
#include <stdint.h>

#include "ddbsim/plugin.h"

struct recorder;
struct scenario_info;
struct scenario_failure;
struct scenario_action;
struct customer_request;

/* What the recording starts with: the scenario the session runs. */
struct recorder_setup {
	const struct scenario_info *si; /* regions, catalog and stock; must outlive the recorder */
	const char *scenario_path;      /* the scenario as serve loaded it */
	const char *script_dir;         /* where require finds the bundled scenarios */
	const struct ddb_option *params; /* --param NAME=VALUE of the session */
	size_t n_params;
	uint64_t seed;
};

/* Creates (or truncates) path and writes the scenario's part.  0, or -1
 * with err set (nothing recorded). */
int recorder_open(struct recorder **out, const char *path, const struct recorder_setup *s,
                  char *err, size_t errlen);
/* Writes the last return with the session's end, and closes.  NULL: nothing. */
void recorder_close(struct recorder *r, int64_t end_us);

/* One call each, at the engine time at_us (never earlier than the last). */
void recorder_order(struct recorder *r, int64_t at_us, const char *region,
                    const struct ddb_order *o);
void recorder_commit(struct recorder *r, int64_t at_us, const char *region);
void recorder_product(struct recorder *r, int64_t at_us, const struct ddb_product *p,
                      const int64_t *stock);
void recorder_customer(struct recorder *r, int64_t at_us, const struct customer_request *q);
/* id: the step's id in this session (an end_step names it; a replay maps
 * it to the id the step gets there). */
void recorder_step(struct recorder *r, int64_t at_us, const struct scenario_failure *f,
                   int64_t for_us, long id);
void recorder_end_step(struct recorder *r, int64_t at_us, long id);
void recorder_checks(struct recorder *r, int64_t at_us);
/* An action of the scenario itself (a recorded session served again), as
 * the engine runs it: the new recording then holds the old session's calls
 * and the new ones, in the order they happened.  step_id: for a step, the
 * id it got; for an end_step, the id of the step it ended (0: it failed,
 * nothing is recorded). */
void recorder_action(struct recorder *r, int64_t at_us, const struct scenario_action *a,
                     long step_id);

#endif
