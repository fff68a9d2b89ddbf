/*
 * wire.h - the format of an event on the transport: a compact, versioned
 * binary encoding of struct ddb_event.  Decoding checks every length, so a
 * corrupt message is refused rather than applied.
 */
#ifndef DDBSIM_WIRE_H
#define DDBSIM_WIRE_H

#include <stddef.h>
#include "ddbsim/plugin.h"

/* Large enough for any event. */
#define WIRE_MAX 4096

/* Encodes ev into buf; returns the length, or 0 if it does not fit. */
size_t wire_encode(const struct ddb_event *ev, unsigned char *buf, size_t cap);
/* Decodes; 0 on success, -1 for a malformed message. */
int wire_decode(const void *buf, size_t len, struct ddb_event *ev);

/* The same for a customer record held for a node that is down. */
size_t wire_encode_customer(const struct ddb_customer *c, unsigned char *buf, size_t cap);
int wire_decode_customer(const void *buf, size_t len, struct ddb_customer *c);

#endif
