/*
 * table.c — a backend collection's rows (see table.h).
 */
#include <math.h>
#include <string.h>

#include "base/soa.h"
#include "lake/table.h"

void rv_table_init(rv_table *t, uint32_t dim)
{
    memset(t, 0, sizeof *t);
    t->dim = dim;
    rv_idmap_init(&t->map);
}

void rv_table_free(rv_table *t)
{
    rv_changelog_free(&t->log);
    rv_free(t->ids);
    rv_free(t->vecs);
    rv_idmap_free(&t->map);
    memset(t, 0, sizeof *t);
}

static rv_status rv_table_grow(rv_table *t, size_t need)
{
    if (need <= t->cap)
        return RV_OK;
    size_t cap = t->cap ? t->cap : 64;
    while (cap < need)
        cap *= 2;
    rv_soa_col cols[2] = {{t->ids, sizeof *t->ids}, {t->vecs, (size_t)t->dim * sizeof(float)}};
    if (!rv_soa_grow(cols, 2, t->n, cap))
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory growing a collection to %zu rows", need);
    t->ids = cols[0].data;
    t->vecs = cols[1].data;
    t->cap = cap;
    return RV_OK;
}

rv_status rv_table_upsert(rv_table *t, const int64_t *ids, const float *vecs, size_t n, uint32_t dim)
{
    if (dim != t->dim)
        return rv_fail(RV_ERR_DIMENSION_MISMATCH, "vectors have dim %u, the collection has dim %u", dim, t->dim);
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(vecs[i]))
            return rv_fail(RV_ERR_INVALID_ARGUMENT, "row %zu (id %lld) has a non-finite value", i / dim,
                           (long long)ids[i / dim]);
    rv_status st = rv_table_grow(t, t->n + n);
    if (st == RV_OK)
        st = rv_idmap_reserve(&t->map, n);
    if (st != RV_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        uint64_t row;
        if (!rv_idmap_get(&t->map, ids[i], &row)) {
            row = t->n++;
            t->ids[row] = ids[i];
            rv_idmap_insert(&t->map, ids[i], row);
        }
        memcpy(t->vecs + row * dim, vecs + i * dim, dim * sizeof(float));
    }
    return RV_OK;
}

rv_status rv_ids_unique(const int64_t *ids, size_t n)
{
    if (n < 2)
        return RV_OK;
    rv_idmap seen;
    rv_idmap_init(&seen);
    rv_status st = rv_idmap_reserve(&seen, n);
    for (size_t i = 0; i < n && st == RV_OK; i++)
        if (!rv_idmap_insert(&seen, ids[i], i)) {
            uint64_t first = 0;
            rv_idmap_get(&seen, ids[i], &first);
            st = rv_fail(RV_ERR_DUPLICATE_ID, "id %lld is twice in one upsert (rows %llu and %zu); nothing "
                         "was written", (long long)ids[i], (unsigned long long)first, i);
        }
    rv_idmap_free(&seen);
    return st;
}

size_t rv_table_delete(rv_table *t, const int64_t *ids, size_t n)
{
    size_t removed = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t row;
        if (!rv_idmap_get(&t->map, ids[i], &row))
            continue;
        rv_idmap_erase(&t->map, ids[i]);
        size_t last = --t->n;
        if (row != last) {
            t->ids[row] = t->ids[last];
            memcpy(t->vecs + row * t->dim, t->vecs + last * t->dim, t->dim * sizeof(float));
            rv_idmap_update(&t->map, t->ids[row], row);
        }
        removed++;
    }
    return removed;
}

rv_status rv_table_copy_out(const rv_table *t, rv_pulled *out)
{
    memset(out, 0, sizeof *out);
    out->ids = rv_alloc((t->n ? t->n : 1) * sizeof(int64_t));
    out->vectors = rv_alloc((t->n ? t->n : 1) * t->dim * sizeof(float));
    if (!out->ids || !out->vectors) {
        rv_pulled_clear(out);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory copying %zu rows", t->n);
    }
    if (t->n) {
        memcpy(out->ids, t->ids, t->n * sizeof(int64_t));
        memcpy(out->vectors, t->vecs, t->n * t->dim * sizeof(float));
    }
    out->n = t->n;
    out->dim = t->dim;
    return RV_OK;
}

rv_status rv_table_changes(const rv_table *t, const int64_t *touched, size_t n, rv_changes *out)
{
    memset(out, 0, sizeof *out);
    out->dim = t->dim;
    size_t cells;
    out->ids = rv_lake_alloc((n ? n : 1) * sizeof(int64_t));
    out->removed = rv_lake_alloc((n ? n : 1) * sizeof(int64_t));
    out->vectors = rv_mul3(n ? n : 1, t->dim, sizeof(float), &cells) ? rv_lake_alloc(cells) : NULL;
    if (!out->ids || !out->removed || !out->vectors) {
        rv_changes_clear(out);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for a change set of %zu ids", n);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t row;
        if (rv_idmap_get(&t->map, touched[i], &row)) {
            out->ids[out->n] = touched[i];
            memcpy(out->vectors + out->n++ * t->dim, t->vecs + row * t->dim, t->dim * sizeof(float));
        } else {
            out->removed[out->nremoved++] = touched[i];
        }
    }
    return RV_OK;
}

/* ---- the change log ----------------------------------------------------------------------- */

static void rv_changelog_reset(rv_changelog *log)
{
    for (size_t i = 0; i < log->nrecs; i++)
        rv_free(log->recs[i].text);
    log->nrecs = 0;
    log->nids = 0;
}

void rv_changelog_free(rv_changelog *log)
{
    rv_changelog_reset(log);
    rv_free(log->recs);
    rv_free(log->ids);
    memset(log, 0, sizeof *log);
}

/* Forgets the oldest records until `need` more ids and one more record fit. */
static void rv_changelog_trim(rv_changelog *log, size_t need)
{
    size_t drop = 0, ids = 0;
    while (drop < log->nrecs && (log->nids - ids + need > RV_CHANGELOG_MAX_IDS ||
                                 log->nrecs - drop + 1 > RV_CHANGELOG_MAX_WRITES || drop < log->nrecs / 4)) {
        ids += log->recs[drop].count;
        rv_free(log->recs[drop].text);
        drop++;
    }
    if (!drop)
        return;
    memmove(log->recs, log->recs + drop, (log->nrecs - drop) * sizeof *log->recs);
    log->nrecs -= drop;
    memmove(log->ids, log->ids + ids, (log->nids - ids) * sizeof *log->ids);
    log->nids -= ids;
    for (size_t i = 0; i < log->nrecs; i++)
        log->recs[i].first -= ids;
}

void rv_changelog_note(rv_changelog *log, uint64_t num, const char *text, const int64_t *ids, size_t n)
{
    if (n > RV_CHANGELOG_MAX_IDS) { /* too big to log: history before it is forgotten */
        rv_changelog_reset(log);
        n = 0;
    }
    if (log->nids + n > RV_CHANGELOG_MAX_IDS || log->nrecs + 1 > RV_CHANGELOG_MAX_WRITES)
        rv_changelog_trim(log, n);
    char *copy = text ? rv_strdup(text) : NULL;
    bool ok = !text || copy;
    if (ok && log->nrecs == log->recs_cap) {
        size_t cap = log->recs_cap ? log->recs_cap * 2 : 16;
        rv_soa_col col = {log->recs, sizeof *log->recs};
        if ((ok = rv_soa_grow(&col, 1, log->nrecs, cap))) {
            log->recs = col.data;
            log->recs_cap = cap;
        }
    }
    if (ok && log->nids + n > log->ids_cap) {
        size_t cap = log->ids_cap ? log->ids_cap : 256;
        while (cap < log->nids + n)
            cap *= 2;
        rv_soa_col col = {log->ids, sizeof *log->ids};
        if ((ok = rv_soa_grow(&col, 1, log->nids, cap))) {
            log->ids = col.data;
            log->ids_cap = cap;
        }
    }
    if (!ok) { /* no memory: forget everything (answers become "not known", never wrong) */
        rv_free(copy);
        rv_changelog_reset(log);
        return;
    }
    if (n)
        memcpy(log->ids + log->nids, ids, n * sizeof *ids);
    log->recs[log->nrecs++] = (rv_changelog_rec){num, copy, log->nids, n};
    log->nids += n;
}

const rv_changelog_rec *rv_changelog_last(const rv_changelog *log)
{
    return log->nrecs ? &log->recs[log->nrecs - 1] : NULL;
}

rv_status rv_changelog_since(const rv_changelog *log, uint64_t num, const char *text, int64_t **ids, size_t *n,
                             bool *known)
{
    *ids = NULL;
    *n = 0;
    *known = false;
    size_t at = log->nrecs;
    while (at > 0) {
        const rv_changelog_rec *r = &log->recs[at - 1];
        if (text ? (r->text && strcmp(r->text, text) == 0) : (!r->text && r->num == num))
            break;
        at--;
    }
    if (at == 0)
        return RV_OK;
    *known = true;
    size_t from = at < log->nrecs ? log->recs[at].first : log->nids, total = log->nids - from;
    if (!total)
        return RV_OK;
    rv_idmap seen;
    rv_idmap_init(&seen);
    int64_t *out = rv_alloc(total * sizeof *out);
    if (!out || rv_idmap_reserve(&seen, total) != RV_OK) {
        rv_free(out);
        rv_idmap_free(&seen);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for %zu changed ids", total);
    }
    size_t cnt = 0;
    for (size_t i = from; i < log->nids; i++)
        if (rv_idmap_insert(&seen, log->ids[i], 0))
            out[cnt++] = log->ids[i];
    rv_idmap_free(&seen);
    *ids = out;
    *n = cnt;
    return RV_OK;
}
