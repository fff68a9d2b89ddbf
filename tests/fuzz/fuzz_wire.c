/*
 * fuzz_wire.c - the wire decoder (src/wire.c) on any bytes: as an event
 * (what the relay and the appliers receive) and as a customer record (what
 * waits in a node's queue).  Besides the sanitizers, the harness checks
 * that decoding is exact: whatever decodes encodes back to the same bytes,
 * so that no two messages mean the same thing and nothing decoded is lost.
 */
#include "wire.h"
#include "fuzz.h"

#include <string.h>

/* A bound on any encoding, far above WIRE_MAX: what does not fit in
 * WIRE_MAX is a finding of its own. */
#define ROOM (4 * WIRE_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[ROOM];
	struct ddb_event ev;
	if (wire_decode(data, size, &ev) == 0) {
		size_t n = wire_encode(&ev, buf, WIRE_MAX);
		if (n == 0)
			fuzz_fail("an event of %zu bytes decodes but does not encode in WIRE_MAX (%d)",
			          size, WIRE_MAX);
		if (n != size || memcmp(buf, data, size) != 0)
			fuzz_fail("an event of %zu bytes decodes to one that encodes to %zu other bytes",
			          size, n);
	}
	struct ddb_customer c;
	if (wire_decode_customer(data, size, &c) == 0) {
		size_t n = wire_encode_customer(&c, buf, WIRE_MAX);
		if (n == 0)
			fuzz_fail("a customer of %zu bytes decodes but does not encode in WIRE_MAX (%d)",
			          size, WIRE_MAX);
		if (n != size || memcmp(buf, data, size) != 0)
			fuzz_fail("a customer of %zu bytes decodes to one that encodes to %zu other bytes",
			          size, n);
	}
	return 0;
}
