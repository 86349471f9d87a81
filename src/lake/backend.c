/*
 * backend.c — the generic backend handle: a name, an implementation's callbacks, a refcount.
 */
#include <stdatomic.h>
#include <string.h>

#include "lake/lake_internal.h"

struct rv_backend {
    atomic_uint refs;
    const rv_backend_ops *ops;
    void *self;
    char *name;
};

rv_status rv_backend_new(const char *name, const rv_backend_ops *ops, void *self, rv_backend **out)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 255) {
        if (ops && ops->destroy)
            ops->destroy(self);
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a backend name must be 1..255 bytes, not %zu", len);
    }
    rv_backend *b = rv_calloc(1, sizeof *b);
    char *copy = rv_strdup(name);
    if (!b || !copy) {
        rv_free(b);
        rv_free(copy);
        if (ops->destroy)
            ops->destroy(self);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory creating backend '%s'", name);
    }
    atomic_init(&b->refs, 1);
    b->ops = ops;
    b->self = self;
    b->name = copy;
    *out = b;
    return RV_OK;
}

void rv_backend_retain(rv_backend *b) { atomic_fetch_add(&b->refs, 1); }

void rv_backend_release(rv_backend *b)
{
    if (!b || atomic_fetch_sub(&b->refs, 1) != 1)
        return;
    if (b->ops->destroy)
        b->ops->destroy(b->self);
    rv_free(b->name);
    rv_free(b);
}

const char *rv_backend_name(const rv_backend *b) { return b->name; }

void *rv_backend_impl(const rv_backend *b, const rv_backend_ops *ops) { return b->ops == ops ? b->self : NULL; }

rv_status rv_backend_list(rv_backend *b, char ***names, size_t *count)
{
    *names = NULL;
    *count = 0;
    return b->ops->list(b->self, names, count);
}

/* Used by the lake (lake_prime.c, lake_update.c). */
rv_status rv_backend_ident(rv_backend *b, const char *collection, rv_ident *out)
{
    memset(out, 0, sizeof *out);
    rv_status st = b->ops->ident(b->self, collection, out);
    if (st == RV_OK && !out->data_ref)
        st = rv_fail(RV_ERR_BACKEND, "backend '%s' reported no data_ref for '%s'", b->name, collection);
    if (st != RV_OK)
        rv_ident_clear(out);
    return st;
}

rv_status rv_backend_pull(rv_backend *b, const char *collection, rv_pulled *out)
{
    memset(out, 0, sizeof *out);
    rv_status st = b->ops->pull(b->self, collection, out);
    if (st == RV_OK)
        st = rv_pulled_check(out, b->name, collection);
    if (st != RV_OK)
        rv_pulled_clear(out);
    return st;
}

rv_status rv_backend_holds(rv_backend *b, const char *collection, bool *out)
{
    *out = false;
    return b->ops->holds(b->self, collection, out);
}

rv_status rv_backend_changes(rv_backend *b, const char *collection, const rv_ident *since, rv_changes *out,
                             bool *known)
{
    memset(out, 0, sizeof *out);
    *known = false;
    if (!b->ops->changes)
        return RV_OK;
    rv_status st = b->ops->changes(b->self, collection, since, out, known);
    if (st == RV_OK && *known) {
        rv_pulled rows = {out->ids, out->vectors, out->n, out->dim};
        if (!out->at.data_ref)
            st = rv_fail(RV_ERR_BACKEND, "backend '%s' reported changes of '%s' without an identity", b->name,
                         collection);
        else if (out->n && (st = rv_pulled_check(&rows, b->name, collection)) != RV_OK)
            ; /* message set */
        else if (out->nremoved && !out->removed)
            st = rv_fail(RV_ERR_BACKEND, "backend '%s' returned no removed ids for '%s'", b->name, collection);
    }
    if (st != RV_OK || !*known) {
        rv_changes_clear(out);
        *known = false;
    }
    return st;
}

bool rv_backend_tells_changes(const rv_backend *b) { return b->ops->changes != NULL; }
