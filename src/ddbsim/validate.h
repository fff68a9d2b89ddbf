/*
 * ddbsim/validate.h - the input rules every storage plugin applies, so that
 * all backends refuse the same things with DDB_INVALID: the records, the
 * arguments that open an operation, and text a backend keeps as UTF-8.  The
 * *_problem functions return NULL when all is valid, else a short reason.
 *
 * Like plugin.h, this header needs only the C standard library.
 */
#ifndef DDBSIM_VALIDATE_H
#define DDBSIM_VALIDATE_H

#include <stddef.h>
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

/* ---- the argument checks that open an operation ---------------------------
 *
 * Each returns NULL when the operation may go on, else the reason to refuse
 * it with DDB_INVALID (the plugin prefixes "NAME: OP: ").  The order is that
 * of every plugin: the role first, then the arguments. */

/* The arguments of open for a plugin that serves every role: NULL when
 * they are valid, else the reason ("open: ..."; the plugin prefixes its
 * name), kept in why when it names a value.  *handle is NULL after it
 * whenever handle is given. */
static inline const char *ddb_open_problem(const struct ddb_open_args *args, void **handle,
                                           struct ddb_err *why)
{
	if (!handle)
		return "open: no handle pointer";
	*handle = NULL;
	if (!args || !args->node || !*args->node)
		return "open: no node name";
	if (strlen(args->node) >= DDB_NAME_MAX) {
		snprintf(why->msg, sizeof why->msg, "open: node name longer than %d bytes",
		         DDB_NAME_MAX - 1);
		return why->msg;
	}
	if (args->roles == 0 || (args->roles & ~(unsigned)DDB_ROLES_ALL)) {
		snprintf(why->msg, sizeof why->msg,
		         "%s: open: roles 0x%x: expected regional, central and/or documents",
		         args->node, args->roles);
		return why->msg;
	}
	return NULL;
}

/* The end of open, after every step has said st: on DDB_OK the instance h
 * becomes *handle, else close frees what open made of it.  Returns st. */
static inline enum ddb_status ddb_open_done(enum ddb_status st, void *h, void **handle,
                                            void (*close)(void *))
{
	if (st == DDB_OK)
		*handle = h;
	else
		close(h);
	return st;
}

/* reset: NULL when the instance may be wiped, else the reason to refuse it
 * ("reset: ..."; the plugin prefixes its name): there is no instance, or
 * it was opened read-only (DDB_OPEN_READONLY). */
static inline const char *ddb_reset_problem(int have_instance, int readonly)
{
	if (!have_instance)
		return "reset: no handle";
	return readonly ? "reset: opened read-only" : NULL;
}

/* Whether an instance serving the roles `served` may run an operation of
 * `role`. */
static inline const char *ddb_role_problem(unsigned served, unsigned role)
{
	if (served & role)
		return NULL;
	if (role == DDB_ROLE_REGIONAL)
		return "this instance does not serve the regional role";
	if (role == DDB_ROLE_CENTRAL)
		return "this instance does not serve the central role";
	return "this instance does not serve the documents role";
}

/* An operation on one record or with a callback: its role, then its
 * pointer arguments (given: none of them NULL; missing: the reason when
 * one is, e.g. "no product"). */
static inline const char *ddb_call_problem(unsigned served, unsigned role, int given,
                                           const char *missing)
{
	const char *why = ddb_role_problem(served, role);
	return why || given ? why : missing;
}

/* A batch operation: its role, then, unless the batch is empty (then
 * *empty is set: nothing to do, DDB_OK), its arrays (arrays_given: none of
 * them NULL; missing: the reason when one is, e.g. "no orders array"). */
static inline const char *ddb_batch_problem(unsigned served, unsigned role, size_t n,
                                            int arrays_given, const char *missing, int *empty)
{
	const char *why = ddb_role_problem(served, role);
	*empty = !why && n == 0;
	if (why || n == 0)
		return why;
	return arrays_given ? NULL : missing;
}

/* The role whose instance holds a dataset (DDB_DS_*), or 0 when there is
 * no such dataset. */
static inline unsigned ddb_dataset_role(int dataset)
{
	switch (dataset) {
	case DDB_DS_PRODUCTS:
	case DDB_DS_INVENTORY:
	case DDB_DS_ORDERS:
	case DDB_DS_OUTBOX:
	case DDB_DS_CUSTOMERS:
		return DDB_ROLE_REGIONAL;
	case DDB_DS_CENTRAL_PRODUCTS:
	case DDB_DS_CENTRAL_ORDERS:
		return DDB_ROLE_CENTRAL;
	case DDB_DS_ORDER_LOGS:
	case DDB_DS_COMPONENTS:
		return DDB_ROLE_DOCUMENTS;
	}
	return 0;
}

/* scan_open: the cursor pointer (*cursor is NULL after it whenever it is
 * given), the dataset (reason kept in why when it names it), its role.
 * The region is each plugin's to check. */
static inline const char *ddb_scan_problem(unsigned served, int dataset, void **cursor,
                                           struct ddb_err *why)
{
	if (!cursor)
		return "no cursor pointer";
	*cursor = NULL;
	unsigned role = ddb_dataset_role(dataset);
	if (!role) {
		snprintf(why->msg, sizeof why->msg, "unknown dataset %d", dataset);
		return why->msg;
	}
	return ddb_role_problem(served, role);
}

/* Whether state is one of the outbox states, DDB_OUTBOX_NEW to
 * DDB_OUTBOX_APPLIED. */
static inline int ddb_outbox_state_ok(int state)
{
	return state >= DDB_OUTBOX_NEW && state <= DDB_OUTBOX_APPLIED;
}

/* ---- text a backend stores as UTF-8 ----------------------------------------
 *
 * A backend that keeps text as UTF-8 (PostgreSQL, MongoDB) refuses a record
 * with a field that is not, with DDB_INVALID for that record alone; the
 * others (SQLite) store the bytes as they are. */

/* Whether the n bytes at s are well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static inline int ddb_utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		size_t k;
		unsigned min;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1, min = 0x80, c &= 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2, min = 0x800, c &= 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3, min = 0x10000, c &= 0x07;
		} else {
			return 0;
		}
		if ((size_t)(end - p) <= k)
			return 0;
		for (size_t i = 1; i <= k; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		p += k + 1;
	}
	return 1;
}

/* The length of s up to its NUL, at most size (strnlen, which C11 lacks). */
static inline size_t ddb_text_len(const char *s, size_t size)
{
	const char *end = (const char *)memchr(s, '\0', size);
	return end ? (size_t)(end - s) : size;
}

/* Whether a fixed-size text field, up to its NUL (or its size), is UTF-8. */
#define DDB_UTF8_FIELD(field) ddb_utf8_ok((field), ddb_text_len((field), sizeof(field)))

/* The shared rules of an order, then UTF-8 text. */
static inline const char *ddb_order_problem_utf8(const struct ddb_order *o)
{
	const char *why = ddb_order_problem(o);
	if (!why && !(DDB_UTF8_FIELD(o->id) && DDB_UTF8_FIELD(o->region) &&
	              DDB_UTF8_FIELD(o->customer) && DDB_UTF8_FIELD(o->sku)))
		why = "a text field is not valid UTF-8";
	return why;
}

/* The shared rules of a product, then UTF-8 text. */
static inline const char *ddb_product_problem_utf8(const struct ddb_product *p)
{
	const char *why = ddb_product_problem(p);
	if (!why && !(DDB_UTF8_FIELD(p->sku) && DDB_UTF8_FIELD(p->name)))
		why = "a text field is not valid UTF-8";
	for (size_t i = 0; !why && i < p->n_components; i++)
		if (!DDB_UTF8_FIELD(p->components[i].sku))
			why = "a component sku is not valid UTF-8";
	return why;
}

/* The shared rules of a customer, then UTF-8 text. */
static inline const char *ddb_customer_problem_utf8(const struct ddb_customer *c)
{
	const char *why = ddb_customer_problem(c);
	if (!why && !(DDB_UTF8_FIELD(c->id) && DDB_UTF8_FIELD(c->unique_id) &&
	              DDB_UTF8_FIELD(c->city) && DDB_UTF8_FIELD(c->state) &&
	              DDB_UTF8_FIELD(c->name) && DDB_UTF8_FIELD(c->email) &&
	              DDB_UTF8_FIELD(c->home)))
		why = "a text field is not valid UTF-8";
	return why;
}

/* An event: ddb_event_problem, then UTF-8 text. */
static inline const char *ddb_event_problem_utf8(const struct ddb_event *ev)
{
	if (ev->kind == DDB_EVENT_ORDER)
		return ddb_order_problem_utf8(&ev->order);
	if (ev->kind == DDB_EVENT_PRODUCT)
		return ddb_product_problem_utf8(&ev->product);
	return "unknown event kind";
}

#endif /* DDBSIM_VALIDATE_H */
