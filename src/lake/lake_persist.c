/*
 * lake_persist.c — what RuLake writes to disk: bundles (publish, refresh), saved cache entries
 * (warm restart), and sessions: the entries a session has searched, retained and pinned (an
 * unchanged snapshot: no in-place update while pinned), saved to cache_dir on close.
 *
 * A saved entry is a directory with index.rvx (our checksummed index file: codes, originals and
 * the real 64-bit ids, so warming neither re-encodes nor loses ids) and table.rulake.json (the
 * bundle of the witness the entry was built from — never the backend's newer one — plus
 * "index_sha256" binding the index file to it; upstream readers ignore the extra field).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/hash.h"
#include "base/soa.h"
#include "lake/lake_internal.h"

rv_status rv_lake_key_dirname(const char *backend, const char *collection, char *out, size_t cap)
{
    if (cap < 160)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "buffer too small for a key directory name");
    size_t at = 0;
    const char *parts[2] = {backend, collection};
    for (int p = 0; p < 2; p++) {
        size_t n = 0;
        for (const char *c = parts[p]; *c && n < 60; c++, n++) {
            char ch = *c;
            bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                      ch == '-' || ch == '_' || (ch == '.' && n > 0);
            out[at++] = ok ? ch : '_';
        }
        if (p == 0) {
            out[at++] = '-';
            out[at++] = '-';
        }
    }
    /* the readable part may collide ("a/b" vs "a_b"); a hash of the exact key makes it unique */
    unsigned char digest[RV_SHA256_BYTES];
    rv_hash h;
    rv_hash_init(&h, RV_HASH_SHA256);
    rv_hash_update(&h, backend, strlen(backend) + 1);
    rv_hash_update(&h, collection, strlen(collection));
    rv_status st = rv_hash_final(&h, digest, sizeof digest);
    if (st != RV_OK)
        return st;
    out[at++] = '-';
    rv_hex(digest, 8, out + at);
    return RV_OK;
}

rv_status rv_lake_load_entry(rv_lake *L, const char *dir, const char *expect, rv_entry **out)
{
    *out = NULL;
    rv_bundle b;
    rv_status st = rv_bundle_read_dir(dir, &b);
    if (st != RV_OK)
        return st;
    char *index_path = NULL;
    rv_index *idx = NULL;
    char sha[65];
    if (expect && strcmp(b.witness, expect) != 0) {
        st = rv_fail(RV_ERR_WITNESS, "the entry saved in '%s' has witness %.16s..., the backend is now at "
                     "%.16s...", dir, b.witness, expect);
    } else if (b.rotation_seed != L->params.rotation_seed || b.rerank_factor != L->params.rerank_factor) {
        st = rv_fail(RV_ERR_WITNESS, "the entry saved in '%s' was made with rotation_seed %" PRIu64
                     " and rerank_factor %" PRIu64 "; this lake uses %" PRIu64 " and %u", dir,
                     b.rotation_seed, b.rerank_factor, L->params.rotation_seed, L->params.rerank_factor);
    } else if (!b.index_sha256) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' holds a bundle but no saved cache entry (no index_sha256)", dir);
    } else if (!(index_path = rv_path_join(dir, RV_ENTRY_INDEX_FILE))) {
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    } else if ((st = rv_sha256_file(index_path, sha)) != RV_OK) {
        /* message set */
    } else if (strcmp(sha, b.index_sha256) != 0) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' does not match its bundle (SHA-256 %.16s..., bundle says "
                     "%.16s...): the entry is corrupt or was tampered with", index_path, sha, b.index_sha256);
    } else if ((st = rv_index_load(index_path, &idx)) != RV_OK) {
        /* message set */
    } else if (rv_index_kind_of(idx) != RV_INDEX_RABITQ_PLUS || rv_index_dim(idx) != b.dim ||
               rv_index_params_of(idx).seed != L->params.rotation_seed) {
        st = rv_fail(RV_ERR_FORMAT, "'%s' is not the RabitqPlusIndex of dim %" PRIu64 " and seed %" PRIu64
                     " its bundle describes", index_path, b.dim, L->params.rotation_seed);
    } else {
        st = rv_entry_new(idx, &b, out);
        if (st == RV_OK)
            idx = NULL;
    }
    rv_index_release(idx);
    rv_free(index_path);
    rv_bundle_clear(&b);
    return st;
}

static rv_status rv_entry_save(rv_entry *e, const char *dir)
{
    rv_status st = rv_mkdirs(dir);
    if (st != RV_OK)
        return st;
    char *index_path = rv_path_join(dir, RV_ENTRY_INDEX_FILE);
    if (!index_path)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    char sha[65];
    if ((st = rv_index_save(e->index, index_path)) == RV_OK && (st = rv_sha256_file(index_path, sha)) == RV_OK) {
        rv_bundle b = e->ident; /* shallow: only index_sha256 is ours */
        b.index_sha256 = sha;
        st = rv_bundle_write_dir(&b, dir);
    }
    rv_free(index_path);
    return st;
}

static rv_entry *rv_lake_entry_of(rv_lake *L, const char *backend, const char *collection)
{
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_find_key_locked(L, backend, collection);
    rv_entry *e = key ? key->entry : NULL;
    if (e) {
        rv_entry_retain(e);
        rv_entry_pin_locked(L, e); /* no in-place update while its bundle and index are written */
    }
    pthread_mutex_unlock(&L->mu);
    return e;
}

rv_status rv_lake_save_entry(rv_lake *L, const char *backend, const char *collection, const char *dir)
{
    rv_entry *e = rv_lake_entry_of(L, backend, collection);
    if (!e)
        return rv_fail(RV_ERR_LAKE, "('%s', '%s') is not in the cache; search it (or warm it) first", backend,
                       collection);
    rv_status st = rv_entry_save(e, dir);
    pthread_mutex_lock(&L->mu);
    rv_entry_unpin_locked(e);
    pthread_mutex_unlock(&L->mu);
    rv_entry_release(e);
    return st;
}

rv_status rv_lake_warm_from_dir(rv_lake *L, const char *backend, const char *collection, const char *dir,
                                size_t *n_out)
{
    *n_out = 0;
    rv_entry *e;
    rv_status st = rv_lake_load_entry(L, dir, NULL, &e);
    if (st != RV_OK)
        return st;
    size_t n = rv_index_len(e->index);
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_key_locked(L, backend, collection);
    if (!key) {
        st = RV_ERR_NO_MEMORY;
    } else {
        rv_entry *existing = rv_strmap_get(&L->entries, e->ident.witness, RV_WITNESS_HEX);
        if (!existing)
            RV_COUNT(L, key, warm_installs);
        st = rv_lake_install_locked(L, key, existing ? existing : e);
    }
    pthread_mutex_unlock(&L->mu);
    rv_entry_release(e);
    if (st == RV_OK)
        *n_out = n;
    return st;
}

rv_status rv_lake_publish_bundle(rv_lake *L, const char *backend, const char *collection, const char *out_dir,
                                 char out[RV_WITNESS_HEX + 1])
{
    rv_backend *b;
    rv_status st = rv_lake_resolve(L, backend, collection, &b);
    if (st != RV_OK)
        return st;
    rv_ident id;
    if ((st = rv_backend_ident(b, collection, &id)) != RV_OK) {
        rv_backend_release(b);
        return st;
    }
    uint32_t dim = id.dim;
    if (!dim) {
        pthread_mutex_lock(&L->mu);
        rv_key *key = rv_lake_find_key_locked(L, rv_backend_name(b), collection);
        dim = key ? key->last_dim : 0;
        pthread_mutex_unlock(&L->mu);
    }
    if (!dim) { /* a backend that cannot tell its dim cheaply: learn it from a pull, as upstream */
        rv_pulled p;
        if ((st = rv_backend_pull(b, collection, &p)) == RV_OK) {
            dim = p.dim;
            rv_pulled_clear(&p);
        }
    }
    rv_bundle bundle = {0};
    if (st == RV_OK && (st = rv_lake_witness_of_ident(L, &id, dim, bundle.witness)) == RV_OK) {
        bundle.format_version = 2;
        bundle.data_ref = id.data_ref;
        bundle.dim = dim;
        bundle.rotation_seed = L->params.rotation_seed;
        bundle.rerank_factor = L->params.rerank_factor;
        bundle.gen_opaque = id.opaque;
        bundle.gen_num = id.num;
        bundle.gen_text = id.text;
        if ((st = rv_bundle_write_dir(&bundle, out_dir)) == RV_OK)
            memcpy(out, bundle.witness, RV_WITNESS_HEX + 1);
    }
    rv_ident_clear(&id);
    rv_backend_release(b);
    return st;
}

rv_status rv_lake_refresh_from_bundle_dir(rv_lake *L, const char *backend, const char *collection,
                                          const char *dir, rv_refresh_result *out)
{
    /* a typo in the key must not read as "up to date": the backend must be registered, and it
     * must hold the collection unless the lake still caches it */
    rv_backend *b;
    rv_status st = rv_lake_resolve(L, backend, collection, &b);
    if (st != RV_OK)
        return st;
    pthread_mutex_lock(&L->mu);
    rv_key *known = rv_lake_find_key_locked(L, backend, collection);
    bool cached = known && known->entry;
    pthread_mutex_unlock(&L->mu);
    bool held = cached;
    if (!cached && (st = rv_backend_holds(b, collection, &held)) == RV_OK && !held)
        st = rv_fail(RV_ERR_LAKE, "backend '%s' holds no collection '%s' (refresh_from_bundle_dir key "
                     "('%s', '%s'))", backend, collection, backend, collection);
    rv_backend_release(b);
    if (st != RV_OK)
        return st;
    char *path = rv_path_join(dir, RV_BUNDLE_FILE);
    if (!path)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    struct stat sb;
    bool missing = stat(path, &sb) != 0 && errno == ENOENT;
    rv_free(path);
    if (missing) {
        *out = RV_REFRESH_BUNDLE_MISSING;
        return RV_OK;
    }
    rv_bundle bundle;
    if ((st = rv_bundle_read_dir(dir, &bundle)) != RV_OK)
        return st;
    pthread_mutex_lock(&L->mu);
    rv_key *key = rv_lake_find_key_locked(L, backend, collection);
    if (key && key->entry && strcmp(key->entry->ident.witness, bundle.witness) != 0) {
        RV_COUNT(L, key, invalidations);
        rv_lake_unpoint_locked(L, key);
        *out = RV_REFRESH_INVALIDATED;
    } else {
        *out = RV_REFRESH_UP_TO_DATE; /* current, or not primed (so polling daemons stay quiet) */
    }
    pthread_mutex_unlock(&L->mu);
    rv_bundle_clear(&bundle);
    return RV_OK;
}

rv_entry *rv_session_find(rv_lake_session *s, rv_key *key)
{
    for (size_t i = 0; s && i < s->n; i++)
        if (s->keys[i] == key)
            return s->entries[i];
    return NULL;
}

rv_status rv_session_add_locked(rv_lake_session *s, rv_key *key, rv_entry *e)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        rv_soa_col cols[2] = {{s->keys, sizeof *s->keys}, {s->entries, sizeof *s->entries}};
        if (!rv_soa_grow(cols, 2, s->n, cap))
            return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        s->keys = cols[0].data;
        s->entries = cols[1].data;
        s->cap = cap;
    }
    rv_entry_retain(e);
    e->pins++; /* the caller waited for any update to end: the snapshot stays as it is */
    s->keys[s->n] = key;
    s->entries[s->n++] = e;
    return RV_OK;
}

rv_status rv_lake_session_open(rv_lake *L, rv_lake_session **out)
{
    rv_lake_session *s = rv_calloc(1, sizeof *s);
    if (!s)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    s->lake = L;
    *out = s;
    return RV_OK;
}

rv_status rv_lake_session_close(rv_lake_session *s)
{
    if (!s)
        return RV_OK;
    rv_lake *L = s->lake;
    rv_status first = RV_OK;
    char msg[512] = "";
    for (size_t i = 0; i < s->n; i++) {
        if (L->cache_dir && first == RV_OK) {
            char name[512];
            char *dir = NULL;
            rv_status st = rv_lake_key_dirname(s->keys[i]->backend, s->keys[i]->collection, name, sizeof name);
            if (st == RV_OK && !(dir = rv_path_join(L->cache_dir, name)))
                st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
            if (st == RV_OK) {
                rv_bundle saved;
                bool same = false; /* skip the write when this exact entry is already saved there */
                if (rv_bundle_read_dir(dir, &saved) == RV_OK) {
                    same = strcmp(saved.witness, s->entries[i]->ident.witness) == 0 && saved.index_sha256;
                    rv_bundle_clear(&saved);
                }
                if (!same)
                    st = rv_entry_save(s->entries[i], dir);
            }
            rv_free(dir);
            if (st != RV_OK) {
                first = st;
                snprintf(msg, sizeof msg, "%s", rv_last_error());
            }
        }
        pthread_mutex_lock(&L->mu);
        rv_entry_unpin_locked(s->entries[i]);
        pthread_mutex_unlock(&L->mu);
        rv_entry_release(s->entries[i]);
    }
    rv_free(s->keys);
    rv_free(s->entries);
    rv_free(s);
    return first == RV_OK ? RV_OK : rv_fail(first, "%s", msg);
}
