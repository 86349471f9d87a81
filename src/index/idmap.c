/* index/idmap.c — see idmap.h. */
#include "base/internal.h"
#include "index/idmap.h"

static inline size_t rv_idmap_hash(int64_t key)
{
    uint64_t x = (uint64_t)key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return (size_t)x;
}

void rv_idmap_init(rv_idmap *m)
{
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}

void rv_idmap_free(rv_idmap *m)
{
    rv_free(m->slots);
    rv_idmap_init(m);
}

static size_t rv_idmap_capacity(const rv_idmap *m) { return m->slots ? m->mask + 1 : 0; }

static void rv_idmap_place(rv_idmap_slot *slots, size_t mask, int64_t key, uint64_t row)
{
    size_t i = rv_idmap_hash(key) & mask;
    while (slots[i].row != RV_IDMAP_EMPTY)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].row = row;
}

rv_status rv_idmap_reserve(rv_idmap *m, size_t extra)
{
    size_t need;
    if (__builtin_add_overflow(m->count, extra, &need) || need > SIZE_MAX / 16)
        return rv_fail(RV_ERR_NO_MEMORY, "id map cannot hold %zu more ids", extra);
    size_t cap = rv_idmap_capacity(m);
    if (need * 10 <= cap * 7)
        return RV_OK;
    size_t new_cap = cap ? cap : 16;
    while (need * 10 > new_cap * 7) {
        if (new_cap > SIZE_MAX / 2 / sizeof(rv_idmap_slot))
            return rv_fail(RV_ERR_NO_MEMORY, "id map cannot hold %zu ids", need);
        new_cap *= 2;
    }
    rv_idmap_slot *slots = rv_alloc(new_cap * sizeof *slots);
    if (!slots)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory growing the id map to %zu slots", new_cap);
    for (size_t i = 0; i < new_cap; i++)
        slots[i].row = RV_IDMAP_EMPTY;
    for (size_t i = 0; i < cap; i++)
        if (m->slots[i].row != RV_IDMAP_EMPTY)
            rv_idmap_place(slots, new_cap - 1, m->slots[i].key, m->slots[i].row);
    rv_free(m->slots);
    m->slots = slots;
    m->mask = new_cap - 1;
    return RV_OK;
}

static rv_idmap_slot *rv_idmap_find(const rv_idmap *m, int64_t key)
{
    if (!m->slots)
        return NULL;
    size_t i = rv_idmap_hash(key) & m->mask;
    while (m->slots[i].row != RV_IDMAP_EMPTY) {
        if (m->slots[i].key == key)
            return &m->slots[i];
        i = (i + 1) & m->mask;
    }
    return NULL;
}

bool rv_idmap_get(const rv_idmap *m, int64_t key, uint64_t *row)
{
    const rv_idmap_slot *s = rv_idmap_find(m, key);
    if (s && row)
        *row = s->row;
    return s != NULL;
}

bool rv_idmap_insert(rv_idmap *m, int64_t key, uint64_t row)
{
    size_t i = rv_idmap_hash(key) & m->mask;
    while (m->slots[i].row != RV_IDMAP_EMPTY) {
        if (m->slots[i].key == key)
            return false;
        i = (i + 1) & m->mask;
    }
    m->slots[i].key = key;
    m->slots[i].row = row;
    m->count++;
    return true;
}

void rv_idmap_update(rv_idmap *m, int64_t key, uint64_t row)
{
    rv_idmap_slot *s = rv_idmap_find(m, key);
    if (s)
        s->row = row;
}

bool rv_idmap_erase(rv_idmap *m, int64_t key)
{
    rv_idmap_slot *s = rv_idmap_find(m, key);
    if (!s)
        return false;
    size_t hole = (size_t)(s - m->slots);
    size_t i = hole;
    for (;;) {
        i = (i + 1) & m->mask;
        if (m->slots[i].row == RV_IDMAP_EMPTY)
            break;
        size_t home = rv_idmap_hash(m->slots[i].key) & m->mask;
        /* Move slot i into the hole if its home is not cyclically in (hole, i]. */
        bool home_in_range = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!home_in_range) {
            m->slots[hole] = m->slots[i];
            hole = i;
        }
    }
    m->slots[hole].row = RV_IDMAP_EMPTY;
    m->count--;
    return true;
}

size_t rv_idmap_bytes(const rv_idmap *m) { return rv_idmap_capacity(m) * sizeof(rv_idmap_slot); }
