/*
 * lake_prime.c — acquire: the entry a search runs on, checked for freshness per consistency
 * mode, and single-flight priming on a miss.
 *
 * rv_lake_acquire returns the key's current entry with a reference held, in three steps:
 *   1. the fast path: a session's snapshot of the key is served as is (no check, no backend
 *      call); under STALE a primed key is served as is; under EVENTUAL it is served while its
 *      last check is younger than the TTL;
 *   2. the witness check: otherwise the backend's identity is asked (without mu) and its
 *      witness compared with the entry's. The key memoises the last identity and its witness,
 *      so an unchanged identity costs a comparison instead of a SHAKE-256 on every FRESH hit;
 *   3. prime-and-install: on a miss exactly one thread per key primes (key->priming; others
 *      wait on `primed` and then re-check), first trying an in-place update (lake_update.c),
 *      then an entry with the same witness already in the cache (shared, no pull), then a saved
 *      entry in cache_dir whose witness is current (warm, no pull), then pulling and building a
 *      RABITQ_PLUS index with the lake's seed and rerank factor.
 * The scan then runs on the referenced entry without the lake lock (lake_search.c).
 *
 * A backend that cannot tell its dim cheaply (ident.dim 0) gets it hinted: the key's last dim,
 * or that of a cached entry of the same data_ref and generation, or a saved entry's; with no
 * hint the witness is computed after the pull. Rejected: a per-key mutex for single flight —
 * a flag and one condition variable under the lake lock keep "who primes" and "what is
 * installed" in one critical section, and primes are rare next to hits.
 */
#include <stdio.h>
#include <string.h>

#include "lake/lake_internal.h"

static rv_status rv_bundle_from_ident(const rv_lake *L, rv_ident *id, uint32_t dim, const char *witness,
                                      rv_bundle *b)
{
    memset(b, 0, sizeof *b);
    b->format_version = 2;
    b->data_ref = id->data_ref;
    id->data_ref = NULL;
    b->dim = dim;
    b->rotation_seed = L->params.rotation_seed;
    b->rerank_factor = L->params.rerank_factor;
    b->gen_opaque = id->opaque;
    b->gen_num = id->num;
    b->gen_text = id->text;
    id->text = NULL;
    memcpy(b->witness, witness, RV_WITNESS_HEX + 1);
    return RV_OK;
}

static bool rv_ident_matches(const rv_bundle *b, const rv_ident *id)
{
    if (strcmp(b->data_ref, id->data_ref) != 0 || b->gen_opaque != id->opaque)
        return false;
    return id->opaque ? strcmp(b->gen_text, id->text) == 0 : b->gen_num == id->num;
}

rv_status rv_lake_prime(rv_lake *L, rv_backend *b, const char *collection, rv_ident *id, const char *witness,
                        const rv_progress *progress, rv_entry **out, bool *warm, bool *pulled)
{
    *out = NULL;
    *warm = *pulled = false;
    rv_status st;
    char name[512];
    if (L->cache_dir && rv_lake_key_dirname(rv_backend_name(b), collection, name, sizeof name) == RV_OK) {
        char *dir = rv_path_join(L->cache_dir, name);
        char hinted[RV_WITNESS_HEX + 1];
        rv_bundle saved;
        if (dir && !witness && rv_bundle_read_dir(dir, &saved) == RV_OK) {
            /* the backend did not tell its dim: a saved entry of this very version does */
            if (rv_ident_matches(&saved, id) && saved.dim && saved.dim <= RV_LAKE_MAX_DIM &&
                rv_lake_witness_of_ident(L, id, (uint32_t)saved.dim, hinted) == RV_OK)
                witness = hinted;
            rv_bundle_clear(&saved);
        }
        if (dir && witness && rv_lake_load_entry(L, dir, witness, out) == RV_OK)
            *warm = true;
        rv_free(dir);
        if (*warm)
            return RV_OK;
    }
    if (!L->params.pull_on_miss)
        return rv_fail(RV_ERR_CACHE_MISS, "collection '%s' of backend '%s' is not cached at its current "
                       "version and pull_on_miss is off", collection, rv_backend_name(b));
    rv_pulled p;
    if ((st = rv_backend_pull(b, collection, &p)) != RV_OK)
        return st;
    *pulled = true;
    char w[RV_WITNESS_HEX + 1];
    if ((st = rv_lake_witness_of_ident(L, id, p.dim, w)) != RV_OK) {
        rv_pulled_clear(&p);
        return st;
    }
    rv_index_params ip = rv_index_params_default(RV_INDEX_RABITQ_PLUS);
    ip.seed = L->params.rotation_seed;
    ip.rerank_factor = L->params.rerank_factor;
    rv_index *idx = NULL;
    if (p.n)
        st = rv_index_build(RV_INDEX_RABITQ_PLUS, p.dim, &ip, p.vectors, p.ids, p.n, progress, &idx);
    else
        st = rv_index_create(RV_INDEX_RABITQ_PLUS, p.dim, &ip, &idx);
    rv_pulled_clear(&p);
    if (st == RV_ERR_DUPLICATE_ID || st == RV_ERR_INVALID_ARGUMENT) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", rv_last_error());
        return rv_fail(RV_ERR_BACKEND, "backend '%s' collection '%s': %s", rv_backend_name(b), collection, msg);
    }
    if (st != RV_OK)
        return st;
    rv_bundle bundle;
    rv_bundle_from_ident(L, id, p.dim ? p.dim : rv_index_dim(idx), w, &bundle);
    if ((st = rv_entry_new(idx, &bundle, out)) != RV_OK) {
        rv_index_release(idx);
        rv_bundle_clear(&bundle);
    }
    return st;
}

typedef struct rv_dim_ctx {
    const rv_ident *id;
    uint32_t dim;
} rv_dim_ctx;

static void rv_dim_visit(void *ctx, const char *k, size_t len, void *value)
{
    (void)k, (void)len;
    rv_dim_ctx *c = ctx;
    const rv_entry *e = value;
    if (!c->dim && rv_ident_matches(&e->ident, c->id))
        c->dim = (uint32_t)e->ident.dim;
}

static bool rv_same_ident(const rv_ident *a, const rv_ident *b)
{
    if (a->opaque != b->opaque || strcmp(a->data_ref, b->data_ref) != 0)
        return false;
    return a->opaque ? strcmp(a->text, b->text) == 0 : a->num == b->num;
}

/* Under mu: the dim to compute the witness with when the backend could not tell it cheaply:
 * the key's last one, or that of a cached entry with the same data_ref and generation. */
static uint32_t rv_dim_hint_locked(rv_lake *L, const rv_key *key, const rv_ident *id)
{
    if (id->dim)
        return id->dim;
    if (key->last_dim)
        return key->last_dim;
    rv_dim_ctx c = {id, 0};
    rv_strmap_each(&L->entries, rv_dim_visit, &c);
    return c.dim;
}

static bool rv_skip_check(const rv_lake *L, const rv_key *key)
{
    switch (L->params.consistency) {
    case RV_CONSISTENCY_STALE: return true;
    case RV_CONSISTENCY_EVENTUAL:
        return key->checked && rv_now_ms() - key->last_checked_ms < L->params.eventual_ttl_ms;
    default: return false;
    }
}

/* ---- acquire ---------------------------------------------------------------------------- */

/* Under mu: the witness of id at dim (dim != 0) into w — the key's memo when the backend
 * reported the identity it reported last time (a comparison instead of a SHAKE-256), else
 * computed and remembered. Errors: those of rv_witness. */
static rv_status rv_witness_memo_locked(const rv_lake *L, rv_key *key, const rv_ident *id, uint32_t dim,
                                        char w[RV_WITNESS_HEX + 1])
{
    if (key->memo.data_ref && key->memo_dim == dim && rv_same_ident(&key->memo, id)) {
        memcpy(w, key->memo_witness, RV_WITNESS_HEX + 1);
        return RV_OK;
    }
    rv_status st = rv_lake_witness_of_ident(L, id, dim, w);
    if (st != RV_OK)
        return st;
    rv_ident_clear(&key->memo); /* remember it (best effort: on no memory, just recompute) */
    key->memo.data_ref = rv_strdup(id->data_ref);
    key->memo.text = rv_strdup(id->text);
    key->memo.opaque = id->opaque;
    key->memo.num = id->num;
    key->memo_dim = dim;
    memcpy(key->memo_witness, w, RV_WITNESS_HEX + 1);
    if (!key->memo.data_ref || (id->text && !key->memo.text))
        rv_ident_clear(&key->memo);
    return RV_OK;
}

/* Under mu (dropped while priming; the key's single flight is held meanwhile): points the key
 * at an entry for its current identity id (consumed) — one already cached under witness w
 * (another key caches this very data), else a primed one. w NULL: the dim is unknown until the
 * pull. *e = the installed entry (not retained) on success. */
static rv_status rv_prime_and_install_locked(rv_lake *L, rv_backend *b, rv_key *key, const char *collection,
                                             rv_ident *id, const char *w, const rv_progress *progress,
                                             rv_entry **e)
{
    rv_entry *shared = w ? rv_strmap_get(&L->entries, w, RV_WITNESS_HEX) : NULL;
    if (shared) {
        rv_ident_clear(id);
        rv_status st = rv_lake_install_locked(L, key, shared);
        if (st == RV_OK) {
            RV_COUNT(L, key, shared_hits);
            *e = shared;
        }
        return st;
    }
    key->priming = true;
    pthread_mutex_unlock(&L->mu);
    double t0 = rv_now_sec();
    bool warm = false, pulled = false;
    rv_entry *fresh = NULL;
    rv_status st = rv_lake_prime(L, b, collection, id, w, progress, &fresh, &warm, &pulled);
    double ms = (rv_now_sec() - t0) * 1e3;
    rv_ident_clear(id);
    pthread_mutex_lock(&L->mu);
    key->priming = false;
    pthread_cond_broadcast(&L->primed);
    if (pulled)
        RV_COUNT(L, key, pulls);
    if (st != RV_OK)
        return st;
    rv_entry *existing = rv_strmap_get(&L->entries, fresh->ident.witness, RV_WITNESS_HEX);
    if (existing) { /* primed meanwhile under another key: share it, drop ours */
        rv_entry_release(fresh);
        fresh = existing;
        RV_COUNT(L, key, shared_hits);
    } else if (warm) {
        RV_COUNT(L, key, warm_installs);
    } else {
        RV_COUNT(L, key, primes);
        rv_lake_prime_ms_locked(L, key, ms);
    }
    st = rv_lake_install_locked(L, key, fresh);
    if (!existing)
        rv_entry_release(fresh); /* the map holds it now (or it failed to go in) */
    if (st == RV_OK)
        *e = fresh;
    return st;
}

/* Under mu (dropped around backend calls and primes): the key's current entry in *e (not yet
 * retained). A check the consistency mode lets us skip is a hit; otherwise the backend's
 * identity is asked and its witness compared with the entry's; on a miss the entry is updated
 * in place when it can be (once per call: on failure the key is primed as before), else
 * primed. Whoever finds the key priming waits on `primed` and checks again. */
static rv_status rv_acquire_locked(rv_lake *L, rv_lake_session *s, rv_backend *b, rv_key *key,
                                   const char *collection, const rv_progress *progress, rv_entry **e)
{
    bool tried_update = false;
    for (;;) {
        if (key->entry && rv_skip_check(L, key) && !(s && key->entry->updating)) {
            RV_COUNT(L, key, hits);
            *e = key->entry;
            return RV_OK;
        }
        if (key->priming) {
            pthread_cond_wait(&L->primed, &L->mu);
            continue;
        }
        pthread_mutex_unlock(&L->mu);
        rv_ident id;
        rv_status st = rv_backend_ident(b, collection, &id);
        pthread_mutex_lock(&L->mu);
        if (st != RV_OK)
            return st;
        uint32_t dim = rv_dim_hint_locked(L, key, &id);
        char w[RV_WITNESS_HEX + 1] = "";
        if (dim && (st = rv_witness_memo_locked(L, key, &id, dim, w)) != RV_OK) {
            rv_ident_clear(&id);
            return st;
        }
        if (dim && key->entry && strcmp(key->entry->ident.witness, w) == 0) {
            RV_COUNT(L, key, hits);
            key->checked = true;
            key->last_checked_ms = rv_now_ms();
            rv_ident_clear(&id);
            *e = key->entry;
            return RV_OK;
        }
        if (key->priming) { /* another thread started priming while we asked the backend */
            rv_ident_clear(&id);
            continue;
        }
        if (!tried_update)
            RV_COUNT(L, key, misses);
        if (!tried_update && dim && rv_lake_can_update_locked(L, b, key, &id, dim)) {
            tried_update = true;
            rv_ident_clear(&id);
            if ((st = rv_lake_update_locked(L, b, key, collection, e)) != RV_OK || *e)
                return st;
            continue;
        }
        return rv_prime_and_install_locked(L, b, key, collection, &id, dim ? w : NULL, progress, e);
    }
}

rv_status rv_lake_acquire(rv_lake *L, rv_lake_session *s, rv_backend *b, const char *collection,
                          const rv_progress *progress, rv_entry **out)
{
    *out = NULL;
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_key_locked(L, rv_backend_name(b), collection);
    if (!key) {
        pthread_mutex_unlock(&L->mu);
        return RV_ERR_NO_MEMORY;
    }
    rv_entry *e = rv_session_find(s, key);
    if (e) { /* the fast path: the session's snapshot, no check at all */
        RV_COUNT(L, key, hits);
        e->last_used = ++L->tick;
        rv_entry_retain(e);
        pthread_mutex_unlock(&L->mu);
        *out = e;
        return RV_OK;
    }
    rv_status st = rv_acquire_locked(L, s, b, key, collection, progress, &e);
    if (st == RV_OK && e) {
        e->last_used = ++L->tick;
        rv_entry_retain(e);
        if (s && (st = rv_session_add_locked(s, key, e)) != RV_OK) {
            rv_entry_release(e);
            e = NULL;
        }
    }
    pthread_mutex_unlock(&L->mu);
    *out = st == RV_OK ? e : NULL;
    return st;
}
