/*
 * strmap.c — the string map (see strmap.h).
 */
#include <xxhash.h>

#include "base/internal.h"
#include "base/strmap.h"

void rv_strmap_free(rv_strmap *m)
{
    for (size_t b = 0; b < m->nbuckets; b++)
        for (rv_strmap_node *n = m->buckets[b], *next; n; n = next) {
            next = n->next;
            rv_free(n);
        }
    rv_free(m->buckets);
    memset(m, 0, sizeof *m);
}

static rv_strmap_node **rv_strmap_slot(const rv_strmap *m, const char *key, size_t len, uint64_t h)
{
    rv_strmap_node **pp = &m->buckets[h & (m->nbuckets - 1)];
    while (*pp && !((*pp)->hash == h && (*pp)->key_len == len && memcmp((*pp)->key, key, len) == 0))
        pp = &(*pp)->next;
    return pp;
}

void *rv_strmap_get(const rv_strmap *m, const char *key, size_t key_len)
{
    if (!m->nbuckets)
        return NULL;
    rv_strmap_node **pp = rv_strmap_slot(m, key, key_len, XXH3_64bits(key, key_len));
    return *pp ? (*pp)->value : NULL;
}

rv_status rv_strmap_put(rv_strmap *m, const char *key, size_t key_len, void *value)
{
    if (m->count + 1 > m->nbuckets) { /* grow to keep the load factor <= 1 */
        size_t nb = m->nbuckets ? m->nbuckets * 2 : 16;
        rv_strmap_node **buckets = rv_calloc(nb, sizeof *buckets);
        if (!buckets)
            return rv_fail(RV_ERR_NO_MEMORY, "out of memory growing a map");
        for (size_t b = 0; b < m->nbuckets; b++)
            for (rv_strmap_node *n = m->buckets[b], *next; n; n = next) {
                next = n->next;
                n->next = buckets[n->hash & (nb - 1)];
                buckets[n->hash & (nb - 1)] = n;
            }
        rv_free(m->buckets);
        m->buckets = buckets;
        m->nbuckets = nb;
    }
    uint64_t h = XXH3_64bits(key, key_len);
    rv_strmap_node **pp = rv_strmap_slot(m, key, key_len, h);
    if (*pp) {
        (*pp)->value = value;
        return RV_OK;
    }
    rv_strmap_node *n = rv_alloc(sizeof *n + key_len + 1);
    if (!n)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory adding to a map");
    n->next = NULL;
    n->hash = h;
    n->key_len = key_len;
    n->value = value;
    memcpy(n->key, key, key_len);
    n->key[key_len] = '\0';
    *pp = n;
    m->count++;
    return RV_OK;
}

void *rv_strmap_del(rv_strmap *m, const char *key, size_t key_len)
{
    if (!m->nbuckets)
        return NULL;
    rv_strmap_node **pp = rv_strmap_slot(m, key, key_len, XXH3_64bits(key, key_len));
    rv_strmap_node *n = *pp;
    if (!n)
        return NULL;
    *pp = n->next;
    void *v = n->value;
    rv_free(n);
    m->count--;
    return v;
}

void rv_strmap_each(const rv_strmap *m, void (*fn)(void *ctx, const char *key, size_t key_len, void *value),
                    void *ctx)
{
    for (size_t b = 0; b < m->nbuckets; b++)
        for (rv_strmap_node *n = m->buckets[b]; n; n = n->next)
            fn(ctx, n->key, n->key_len, n->value);
}
