/*
 * wire.c - encodes and decodes events for the transport.
 *
 * Layout: "DE" version(1) kind(1), then fields in a fixed order; integers
 * are 8 bytes little-endian, strings a 2-byte length and the bytes.
 */
#include "wire.h"

#include <string.h>

#define WIRE_VERSION 1

struct writer {
	unsigned char *p, *end;
	int overflow;
};

static void put_bytes(struct writer *w, const void *src, size_t n)
{
	if ((size_t)(w->end - w->p) < n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p, src, n);
	w->p += n;
}

static void put_i64(struct writer *w, int64_t v)
{
	unsigned char b[8];
	uint64_t u = (uint64_t)v;
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(u >> (8 * i));
	put_bytes(w, b, 8);
}

static void put_str(struct writer *w, const char *s)
{
	size_t n = strlen(s);
	unsigned char b[2] = { (unsigned char)(n & 0xff), (unsigned char)(n >> 8) };
	put_bytes(w, b, 2);
	put_bytes(w, s, n);
}

size_t wire_encode(const struct ddb_event *ev, unsigned char *buf, size_t cap)
{
	struct writer w = { buf, buf + cap, 0 };
	unsigned char head[4] = { 'D', 'E', WIRE_VERSION, (unsigned char)ev->kind };
	put_bytes(&w, head, 4);
	put_i64(&w, ev->seq);
	put_str(&w, ev->id);
	put_str(&w, ev->origin);
	put_i64(&w, ev->created_at_us);
	if (ev->kind == DDB_EVENT_ORDER) {
		const struct ddb_order *o = &ev->order;
		put_str(&w, o->id);
		put_str(&w, o->region);
		put_str(&w, o->customer);
		put_str(&w, o->sku);
		put_i64(&w, o->quantity);
		put_i64(&w, o->unit_price_cents);
		put_i64(&w, o->placed_at_us);
	} else {
		const struct ddb_product *p = &ev->product;
		put_str(&w, p->sku);
		put_str(&w, p->name);
		put_i64(&w, p->price_cents);
		put_i64(&w, p->version);
		unsigned char n = (unsigned char)p->n_components;
		put_bytes(&w, &n, 1);
		for (size_t i = 0; i < p->n_components && i < DDB_COMPONENTS_MAX; i++) {
			put_str(&w, p->components[i].sku);
			put_i64(&w, p->components[i].quantity);
		}
	}
	return w.overflow ? 0 : (size_t)(w.p - buf);
}

struct reader {
	const unsigned char *p, *end;
	int bad;
};

static const unsigned char *take(struct reader *r, size_t n)
{
	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = 1;
		return NULL;
	}
	const unsigned char *at = r->p;
	r->p += n;
	return at;
}

static int64_t get_i64(struct reader *r)
{
	const unsigned char *b = take(r, 8);
	if (!b)
		return 0;
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)b[i] << (8 * i);
	return (int64_t)u;
}

/* A string into dst[size]: refused if it would not fit with its NUL or
 * holds a NUL byte. */
static void get_str(struct reader *r, char *dst, size_t size)
{
	const unsigned char *b = take(r, 2);
	if (!b)
		return;
	size_t n = (size_t)b[0] | ((size_t)b[1] << 8);
	const unsigned char *s = take(r, n);
	if (!s || n >= size || memchr(s, '\0', n)) {
		r->bad = 1;
		return;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
}

int wire_decode(const void *buf, size_t len, struct ddb_event *ev)
{
	struct reader r = { buf, (const unsigned char *)buf + len, 0 };
	memset(ev, 0, sizeof *ev);
	const unsigned char *head = take(&r, 4);
	if (!head || head[0] != 'D' || head[1] != 'E' || head[2] != WIRE_VERSION)
		return -1;
	ev->kind = head[3];
	ev->seq = get_i64(&r);
	get_str(&r, ev->id, sizeof ev->id);
	get_str(&r, ev->origin, sizeof ev->origin);
	ev->created_at_us = get_i64(&r);
	if (ev->kind == DDB_EVENT_ORDER) {
		struct ddb_order *o = &ev->order;
		get_str(&r, o->id, sizeof o->id);
		get_str(&r, o->region, sizeof o->region);
		get_str(&r, o->customer, sizeof o->customer);
		get_str(&r, o->sku, sizeof o->sku);
		o->quantity = get_i64(&r);
		o->unit_price_cents = get_i64(&r);
		o->placed_at_us = get_i64(&r);
	} else if (ev->kind == DDB_EVENT_PRODUCT) {
		struct ddb_product *p = &ev->product;
		get_str(&r, p->sku, sizeof p->sku);
		get_str(&r, p->name, sizeof p->name);
		p->price_cents = get_i64(&r);
		p->version = get_i64(&r);
		const unsigned char *n = take(&r, 1);
		if (!n || *n > DDB_COMPONENTS_MAX)
			return -1;
		p->n_components = *n;
		for (size_t i = 0; i < p->n_components; i++) {
			get_str(&r, p->components[i].sku, sizeof p->components[i].sku);
			p->components[i].quantity = get_i64(&r);
		}
	} else {
		return -1;
	}
	return r.bad || r.p != r.end ? -1 : 0;
}

/* Customer records: "DC" version, then the fields in struct order. */
size_t wire_encode_customer(const struct ddb_customer *c, unsigned char *buf, size_t cap)
{
	struct writer w = { buf, buf + cap, 0 };
	unsigned char head[4] = { 'D', 'C', WIRE_VERSION, (unsigned char)(c->deleted ? 1 : 0) };
	put_bytes(&w, head, 4);
	put_str(&w, c->id);
	put_str(&w, c->unique_id);
	put_i64(&w, c->zip_prefix);
	put_str(&w, c->city);
	put_str(&w, c->state);
	put_str(&w, c->name);
	put_str(&w, c->email);
	put_str(&w, c->home);
	put_i64(&w, c->version);
	put_i64(&w, c->updated_at_us);
	return w.overflow ? 0 : (size_t)(w.p - buf);
}

int wire_decode_customer(const void *buf, size_t len, struct ddb_customer *c)
{
	struct reader r = { buf, (const unsigned char *)buf + len, 0 };
	memset(c, 0, sizeof *c);
	const unsigned char *head = take(&r, 4);
	if (!head || head[0] != 'D' || head[1] != 'C' || head[2] != WIRE_VERSION || head[3] > 1)
		return -1;
	c->deleted = head[3];
	get_str(&r, c->id, sizeof c->id);
	get_str(&r, c->unique_id, sizeof c->unique_id);
	c->zip_prefix = get_i64(&r);
	get_str(&r, c->city, sizeof c->city);
	get_str(&r, c->state, sizeof c->state);
	get_str(&r, c->name, sizeof c->name);
	get_str(&r, c->email, sizeof c->email);
	get_str(&r, c->home, sizeof c->home);
	c->version = get_i64(&r);
	c->updated_at_us = get_i64(&r);
	return r.bad || r.p != r.end ? -1 : 0;
}
