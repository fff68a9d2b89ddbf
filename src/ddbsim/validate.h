/*
 * ddbsim/validate.h - the input rules every storage plugin applies, so that
 * all backends refuse the same things with DDB_INVALID.  Each function
 * returns NULL when its record is valid, else a short reason.
 *
 * Like plugin.h, this header needs only the C standard library.
 */
#ifndef DDBSIM_VALIDATE_H
#define DDBSIM_VALIDATE_H

#include <stdint.h>
#include <string.h>

#include "ddbsim/plugin.h"

/* The length of a fixed-size text field, or -1 if it is not NUL-terminated
 * within its size. */
static inline int ddb_field_len(const char *s, size_t size)
{
	const char *end = (const char *)memchr(s, '\0', size);
	return end ? (int)(end - s) : -1;
}

#define DDB_FIELD_LEN(field) ddb_field_len((field), sizeof(field))

static inline const char *ddb_order_problem(const struct ddb_order *o)
{
	int id = DDB_FIELD_LEN(o->id), region = DDB_FIELD_LEN(o->region),
	    customer = DDB_FIELD_LEN(o->customer), sku = DDB_FIELD_LEN(o->sku);
	if (id < 0 || region < 0 || customer < 0 || sku < 0)
		return "a text field is not NUL-terminated";
	if (id == 0)
		return "empty order id";
	if (region == 0)
		return "empty region";
	if (sku == 0)
		return "empty sku";
	if (o->quantity < 1)
		return "quantity must be at least 1";
	if (o->unit_price_cents < 0)
		return "negative unit price";
	if (o->unit_price_cents > 0 && o->quantity > INT64_MAX / o->unit_price_cents)
		return "quantity * unit price overflows";
	return NULL;
}

static inline const char *ddb_product_problem(const struct ddb_product *p)
{
	int sku = DDB_FIELD_LEN(p->sku), name = DDB_FIELD_LEN(p->name);
	if (sku < 0 || name < 0)
		return "a text field is not NUL-terminated";
	if (sku == 0)
		return "empty sku";
	if (p->price_cents < 0)
		return "negative price";
	if (p->version < 1)
		return "version must be at least 1";
	if (p->n_components > DDB_COMPONENTS_MAX)
		return "too many components";
	for (size_t i = 0; i < p->n_components; i++) {
		const struct ddb_component *c = &p->components[i];
		int n = DDB_FIELD_LEN(c->sku);
		if (n < 0)
			return "a component sku is not NUL-terminated";
		if (n == 0)
			return "empty component sku";
		if (c->quantity < 1)
			return "component quantity must be at least 1";
		for (size_t j = 0; j < i; j++)
			if (strcmp(p->components[j].sku, c->sku) == 0)
				return "a component is listed twice";
	}
	return NULL;
}

static inline const char *ddb_event_problem(const struct ddb_event *ev)
{
	if (ev->kind == DDB_EVENT_ORDER)
		return ddb_order_problem(&ev->order);
	if (ev->kind == DDB_EVENT_PRODUCT)
		return ddb_product_problem(&ev->product);
	return "unknown event kind";
}

/* Only id and home must not be empty; the other strings may be. */
static inline const char *ddb_customer_problem(const struct ddb_customer *c)
{
	if (DDB_FIELD_LEN(c->id) < 0 || DDB_FIELD_LEN(c->unique_id) < 0 ||
	    DDB_FIELD_LEN(c->city) < 0 || DDB_FIELD_LEN(c->state) < 0 ||
	    DDB_FIELD_LEN(c->name) < 0 || DDB_FIELD_LEN(c->email) < 0 ||
	    DDB_FIELD_LEN(c->home) < 0)
		return "a text field is not NUL-terminated";
	if (!c->id[0])
		return "empty customer id";
	if (!c->home[0])
		return "empty home region";
	if (c->version < 1)
		return "version must be at least 1";
	if (c->zip_prefix < 0)
		return "negative zip prefix";
	if (c->deleted != 0 && c->deleted != 1)
		return "deleted must be 0 or 1";
	return NULL;
}

#endif /* DDBSIM_VALIDATE_H */
