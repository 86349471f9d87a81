/*
 * lake_update.c — incremental updates: bringing a stale cached entry to the backend's current
 * version in place instead of pulling and rebuilding, and the background re-prime that keeps
 * an often-updated entry from drifting far from a fresh build.
 *
 * When a key's entry is stale but only its generation moved (same data_ref and dim), the entry
 * is pinned by nothing and pointed at by this key alone, and the backend can say what changed
 * since the entry's generation, the priming thread (lake_prime.c, holding the key's single
 * flight) takes the entry out of the entry map (no new sharers), applies the change set to its
 * index under the index's write lock (rv_index_apply_changes), and re-keys it under the new
 * witness; concurrent searches of the entry see it before or after. A change set the index
 * could not apply cleanly after removals marks it damaged: it is unpointed, never served.
 *
 * Once the rows changed since the last full prime pass reprime_fraction x its rows, a pool task
 * pulls and builds the key afresh, catches the build up with the backend's changes (a few
 * rounds at most, against racing writers), and swaps it in at the same witness while the
 * updated entry serves. The job holds the backend and the old entry; L->bg_jobs counts the
 * jobs so rv_lake_destroy waits for them. Scheduling is best effort: without memory or a pool
 * slot the updated entry simply keeps serving.
 *
 * Anything else (adapters without changes(), forgotten history, sessions or saves pinning the
 * entry, entries shared by several keys, failures) falls back to priming as before. Rejected:
 * updating a shared or pinned entry copy-on-write — it would double the memory of exactly the
 * large entries updates exist to avoid rebuilding, and sessions promise an unchanged snapshot.
 */
#include <string.h>

#include "base/pool.h"
#include "lake/lake_internal.h"

/* The since-identity of an entry (borrowing its strings). */
static rv_ident rv_entry_since(const rv_entry *e)
{
    return (rv_ident){e->ident.data_ref, (uint32_t)e->ident.dim, e->ident.gen_opaque, e->ident.gen_num,
                      e->ident.gen_text};
}

bool rv_lake_can_update_locked(const rv_lake *L, rv_backend *b, const rv_key *key, const rv_ident *id, uint32_t dim)
{
    const rv_entry *e = key->entry;
    return e && L->params.reprime_fraction > 0 && L->params.pull_on_miss && rv_backend_tells_changes(b) &&
           e->pointers == 1 && e->pins == 0 && !e->updating && e->ident.dim == dim &&
           e->ident.gen_opaque == id->opaque && strcmp(e->ident.data_ref, id->data_ref) == 0 &&
           rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX) == e;
}

/* Moves the identity `at` into entry e's bundle with witness w (under mu, or on a private entry). */
static void rv_entry_take_ident(rv_entry *e, rv_ident *at, const char *w)
{
    rv_free(e->ident.data_ref);
    rv_free(e->ident.gen_text);
    e->ident.data_ref = at->data_ref;
    e->ident.gen_opaque = at->opaque;
    e->ident.gen_num = at->num;
    e->ident.gen_text = at->text;
    at->data_ref = at->text = NULL;
    memcpy(e->ident.witness, w, RV_WITNESS_HEX + 1);
}

/* Asks the backend what changed since e's generation and applies it to e's index (no lake lock
 * held; e must be private to the caller or marked updating). *applied tells whether it was;
 * *damaged that the index must not be served (a failed apply after removals). The new witness
 * goes to w and the new identity to *at (owned). Backend errors count as "not applied". */
static void rv_entry_catch_up(const rv_lake *L, rv_backend *b, const char *collection, rv_entry *e, rv_ident *at,
                              char w[RV_WITNESS_HEX + 1], size_t *rows, bool *applied, bool *damaged)
{
    *applied = *damaged = false;
    *rows = 0;
    memset(at, 0, sizeof *at);
    rv_ident since = rv_entry_since(e);
    rv_changes ch;
    bool known = false;
    uint32_t dim = (uint32_t)e->ident.dim;
    if (rv_backend_changes(b, collection, &since, &ch, &known) != RV_OK || !known)
        return;
    if ((ch.n == 0 || ch.dim == dim) && (!ch.at.dim || ch.at.dim == dim) &&
        rv_lake_witness_of_ident(L, &ch.at, dim, w) == RV_OK &&
        rv_index_apply_changes(e->index, ch.removed, ch.nremoved, ch.ids, ch.vectors, ch.n, dim, damaged) ==
            RV_OK) {
        *applied = true;
        *rows = ch.n + ch.nremoved;
        *at = ch.at;
        memset(&ch.at, 0, sizeof ch.at);
    }
    rv_changes_clear(&ch);
}

static void rv_lake_schedule_reprime_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection);

rv_status rv_lake_update_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection, rv_entry **out)
{
    *out = NULL;
    rv_entry *e = key->entry;
    key->priming = true; /* single flight: other checks of the key wait for us */
    e->updating = true;
    rv_entry_retain(e);
    rv_strmap_del(&L->entries, e->ident.witness, RV_WITNESS_HEX); /* no new sharers mid-update */
    pthread_mutex_unlock(&L->mu);
    rv_ident at;
    char w[RV_WITNESS_HEX + 1];
    size_t rows;
    bool applied, damaged;
    rv_entry_catch_up(L, b, collection, e, &at, w, &rows, &applied, &damaged);
    pthread_mutex_lock(&L->mu);
    key->priming = false;
    e->updating = false;
    pthread_cond_broadcast(&L->primed);
    rv_status st = RV_OK;
    if (key->entry == e) {
        if (applied) {
            rv_entry_take_ident(e, &at, w);
            e->changed += rows;
            size_t bytes = rv_index_memory_bytes(e->index);
            L->bytes = L->bytes - e->bytes + bytes;
            e->bytes = bytes;
        }
        rv_entry *clash = rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX);
        if (damaged || clash || rv_strmap_put(&L->entries, e->ident.witness, RV_WITNESS_HEX, e) != RV_OK) {
            rv_lake_unpoint_locked(L, key); /* not servable, or that version is cached already */
            if (clash && applied && !damaged && (st = rv_lake_install_locked(L, key, clash)) == RV_OK) {
                RV_COUNT(L, key, shared_hits);
                *out = clash;
            }
        } else if (applied) {
            key->checked = true;
            key->last_checked_ms = rv_now_ms();
            *out = e;
            if ((double)e->changed > L->params.reprime_fraction * (double)(e->base_n ? e->base_n : 1) &&
                !e->rebuilding)
                rv_lake_schedule_reprime_locked(L, b, key, collection);
        }
    }
    rv_ident_clear(&at);
    rv_entry_release(e);
    return st;
}

typedef struct rv_reprime_job {
    rv_lake *L;
    rv_backend *b;
    rv_key *key;
    rv_entry *old;
    char *collection;
} rv_reprime_job;

/* On a pool worker: pulls and builds the key afresh, catches the build up with the backend's
 * changes, and swaps it in when it is at the version the key serves (the old entry serves
 * meanwhile). Gives up quietly when the key moved on or after a few rounds of racing writers. */
static void rv_reprime_task(void *ctx, size_t t)
{
    (void)t;
    rv_reprime_job *j = ctx;
    rv_lake *L = j->L;
    rv_ident id;
    rv_entry *fresh = NULL;
    bool warm = false, pulled = false;
    double t0 = rv_now_sec();
    if (rv_backend_ident(j->b, j->collection, &id) == RV_OK) {
        if (rv_lake_prime(L, j->b, j->collection, &id, NULL, NULL, &fresh, &warm, &pulled) != RV_OK)
            fresh = NULL;
        rv_ident_clear(&id);
    }
    double ms = (rv_now_sec() - t0) * 1e3;
    pthread_mutex_lock(&L->mu);
    if (pulled)
        RV_COUNT(L, j->key, pulls);
    for (int round = 0; fresh && round < 4; round++) {
        while (j->key->entry == j->old && j->old->updating)
            pthread_cond_wait(&L->primed, &L->mu);
        if (j->key->entry != j->old || fresh->ident.dim != j->old->ident.dim)
            break;
        if (strcmp(fresh->ident.witness, j->old->ident.witness) == 0) {
            rv_lake_unpoint_locked(L, j->key);
            if (rv_lake_install_locked(L, j->key, fresh) == RV_OK) {
                RV_COUNT(L, j->key, primes);
                rv_lake_prime_ms_locked(L, j->key, ms);
            }
            break;
        }
        pthread_mutex_unlock(&L->mu); /* fresh is private: bring it to the backend's version */
        rv_ident at;
        char w[RV_WITNESS_HEX + 1];
        size_t rows;
        bool applied, damaged;
        rv_entry_catch_up(L, j->b, j->collection, fresh, &at, w, &rows, &applied, &damaged);
        if (applied)
            rv_entry_take_ident(fresh, &at, w);
        rv_ident_clear(&at);
        pthread_mutex_lock(&L->mu);
        if (!applied || damaged)
            break;
    }
    j->old->rebuilding = false;
    L->bg_jobs--;
    pthread_cond_broadcast(&L->primed);
    pthread_mutex_unlock(&L->mu);
    rv_entry_release(fresh); /* the map holds it now, or it was dropped */
    rv_entry_release(j->old);
    rv_backend_release(j->b);
    rv_free(j->collection);
    rv_free(j);
}

static void rv_lake_schedule_reprime_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection)
{
    rv_reprime_job *j = rv_calloc(1, sizeof *j);
    char *name = rv_strdup(collection);
    if (!j || !name) {
        rv_free(j);
        rv_free(name);
        return; /* best effort: the updated entry keeps serving */
    }
    *j = (rv_reprime_job){L, b, key, key->entry, name};
    rv_backend_retain(b);
    rv_entry_retain(j->old);
    j->old->rebuilding = true;
    L->bg_jobs++;
    if (rv_pool_submit(rv_reprime_task, j) != 0) {
        j->old->rebuilding = false;
        L->bg_jobs--;
        rv_entry_release(j->old);
        rv_backend_release(b);
        rv_free(j->collection);
        rv_free(j);
    }
}
