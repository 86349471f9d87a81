/*
 * local_backend.c — LocalBackend: collections in memory behind a readers/writer lock.
 *
 * Identity: data_ref "local://{name}/{collection}"; generation = a random 31-bit tag of this
 * backend instance in the high half and a per-backend write counter in the low half, so every
 * write gives a new witness and two processes' in-memory collections never share one (their
 * contents may differ under the same counter).
 *
 * Each collection keeps a bounded log of the ids its writes touched (table.h), so changes()
 * answers "what changed since generation g" with the touched ids' current rows, read under the
 * same lock as the identity it reports.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/rng.h"
#include "lake/table.h"

typedef struct rv_local {
    pthread_rwlock_t lock;
    rv_strmap tables; /* collection -> rv_table* */
    uint64_t tag, counter;
    char *name;
} rv_local;

static void rv_local_free_table(void *ctx, const char *key, size_t len, void *value)
{
    (void)ctx, (void)key, (void)len;
    rv_table_free(value);
    rv_free(value);
}

static void rv_local_destroy(void *self)
{
    rv_local *l = self;
    rv_strmap_each(&l->tables, rv_local_free_table, NULL);
    rv_strmap_free(&l->tables);
    pthread_rwlock_destroy(&l->lock);
    rv_free(l->name);
    rv_free(l);
}

static rv_table *rv_local_find(rv_local *l, const char *collection)
{
    return rv_strmap_get(&l->tables, collection, strlen(collection));
}

static rv_status rv_local_unknown(rv_local *l, const char *collection)
{
    return rv_fail(RV_ERR_LAKE, "backend '%s' has no collection '%s'", l->name, collection);
}

/* Under the lock: the identity of t. */
static rv_status rv_local_ident_locked(rv_local *l, const char *collection, const rv_table *t, rv_ident *out)
{
    size_t len = strlen(l->name) + strlen(collection) + 16;
    if (!(out->data_ref = rv_alloc(len)))
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    snprintf(out->data_ref, len, "local://%s/%s", l->name, collection);
    out->dim = t->dim;
    out->num = t->generation;
    return RV_OK;
}

static rv_status rv_local_ident(void *self, const char *collection, rv_ident *out)
{
    rv_local *l = self;
    pthread_rwlock_rdlock(&l->lock);
    rv_table *t = rv_local_find(l, collection);
    rv_status st = t ? rv_local_ident_locked(l, collection, t, out) : rv_local_unknown(l, collection);
    pthread_rwlock_unlock(&l->lock);
    return st;
}

/* The collection's change log answers for any generation of its last writes (table.h bounds). */
static rv_status rv_local_changes(void *self, const char *collection, const rv_ident *since, rv_changes *out,
                                  bool *known)
{
    rv_local *l = self;
    *known = false;
    if (since->opaque)
        return RV_OK;
    pthread_rwlock_rdlock(&l->lock);
    rv_table *t = rv_local_find(l, collection);
    rv_status st = t ? RV_OK : rv_local_unknown(l, collection);
    int64_t *touched = NULL;
    size_t n = 0;
    if (st == RV_OK)
        st = rv_changelog_since(&t->log, since->num, NULL, &touched, &n, known);
    if (st == RV_OK && *known && (st = rv_table_changes(t, touched, n, out)) == RV_OK &&
        (st = rv_local_ident_locked(l, collection, t, &out->at)) != RV_OK)
        rv_changes_clear(out);
    pthread_rwlock_unlock(&l->lock);
    rv_free(touched);
    if (st != RV_OK)
        *known = false;
    return st;
}

static rv_status rv_local_pull(void *self, const char *collection, rv_pulled *out)
{
    rv_local *l = self;
    pthread_rwlock_rdlock(&l->lock);
    rv_table *t = rv_local_find(l, collection);
    rv_status st = t ? rv_table_copy_out(t, out) : rv_local_unknown(l, collection);
    pthread_rwlock_unlock(&l->lock);
    return st;
}

static rv_status rv_local_holds(void *self, const char *collection, bool *out)
{
    rv_local *l = self;
    pthread_rwlock_rdlock(&l->lock);
    *out = rv_local_find(l, collection) != NULL;
    pthread_rwlock_unlock(&l->lock);
    return RV_OK;
}

typedef struct rv_names_ctx {
    char **names;
    size_t count;
    bool failed;
} rv_names_ctx;

static void rv_local_collect(void *ctx, const char *key, size_t len, void *value)
{
    (void)len, (void)value;
    rv_names_ctx *c = ctx;
    char *copy = rv_strdup(key);
    if (!copy)
        c->failed = true;
    else
        c->names[c->count++] = copy;
}

static rv_status rv_local_list(void *self, char ***names, size_t *count)
{
    rv_local *l = self;
    pthread_rwlock_rdlock(&l->lock);
    rv_names_ctx c = {rv_calloc(l->tables.count + 1, sizeof(char *)), 0, false};
    if (c.names)
        rv_strmap_each(&l->tables, rv_local_collect, &c);
    pthread_rwlock_unlock(&l->lock);
    if (!c.names || c.failed) {
        rv_lake_free_names(c.names, c.count);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory listing collections");
    }
    *names = c.names;
    *count = c.count;
    return RV_OK;
}

static const rv_backend_ops rv_local_ops = {rv_local_ident, rv_local_pull, rv_local_holds, rv_local_list,
                                            rv_local_destroy, rv_local_changes};

rv_status rv_local_backend_new(const char *name, rv_backend **out)
{
    rv_local *l = rv_calloc(1, sizeof *l);
    if (!l)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    if (pthread_rwlock_init(&l->lock, NULL) != 0) {
        rv_free(l);
        return rv_fail(RV_ERR_NO_MEMORY, "cannot create a lock");
    }
    l->tag = (rv_random_u64() & 0x7fffffffu) << 32; /* < 2^63: JSON readers keep it exact */
    l->name = rv_strdup(name ? name : "");
    return rv_backend_new(name, &rv_local_ops, l, out);
}

static rv_status rv_local_of(rv_backend *b, const char *collection, rv_local **out)
{
    *out = rv_backend_impl(b, &rv_local_ops);
    if (!*out)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "backend '%s' is not a LocalBackend", rv_backend_name(b));
    size_t len = collection ? strlen(collection) : 0;
    if (len == 0 || len > 4096)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a collection name must be 1..4096 bytes, not %zu", len);
    return RV_OK;
}

rv_status rv_local_upsert(rv_backend *b, const char *collection, const int64_t *ids,
                          const float *vectors, size_t n, uint32_t dim)
{
    rv_local *l;
    rv_status st = rv_local_of(b, collection, &l);
    if (st != RV_OK)
        return st;
    if (dim == 0 || dim > RV_LAKE_MAX_DIM)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "dim must be 1..%u, not %u", RV_LAKE_MAX_DIM, dim);
    if ((st = rv_ids_unique(ids, n)) != RV_OK)
        return st;
    pthread_rwlock_wrlock(&l->lock);
    rv_table *t = rv_local_find(l, collection), *fresh = NULL;
    if (!t) {
        fresh = t = rv_alloc(sizeof *t);
        if (!t) {
            pthread_rwlock_unlock(&l->lock);
            return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        }
        rv_table_init(t, dim);
    }
    st = rv_table_upsert(t, ids, vectors, n, dim);
    if (st == RV_OK && fresh)
        st = rv_strmap_put(&l->tables, collection, strlen(collection), t);
    if (st == RV_OK) {
        t->generation = l->tag | (++l->counter & 0xffffffffu);
        rv_changelog_note(&t->log, t->generation, NULL, ids, n);
    } else if (fresh) {
        rv_table_free(fresh);
        rv_free(fresh);
    }
    pthread_rwlock_unlock(&l->lock);
    return st;
}

rv_status rv_local_delete(rv_backend *b, const char *collection, const int64_t *ids, size_t n,
                          size_t *removed)
{
    rv_local *l;
    rv_status st = rv_local_of(b, collection, &l);
    *removed = 0;
    if (st != RV_OK)
        return st;
    pthread_rwlock_wrlock(&l->lock);
    rv_table *t = rv_local_find(l, collection);
    if (!t)
        st = rv_local_unknown(l, collection);
    else if ((*removed = rv_table_delete(t, ids, n)) > 0) {
        t->generation = l->tag | (++l->counter & 0xffffffffu);
        rv_changelog_note(&t->log, t->generation, NULL, ids, n);
    }
    pthread_rwlock_unlock(&l->lock);
    return st;
}

rv_status rv_local_drop(rv_backend *b, const char *collection)
{
    rv_local *l;
    rv_status st = rv_local_of(b, collection, &l);
    if (st != RV_OK)
        return st;
    pthread_rwlock_wrlock(&l->lock);
    rv_table *t = rv_strmap_del(&l->tables, collection, strlen(collection));
    if (t) {
        rv_table_free(t);
        rv_free(t);
    } else {
        st = rv_local_unknown(l, collection);
    }
    pthread_rwlock_unlock(&l->lock);
    return st;
}
