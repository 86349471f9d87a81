/* base/soa.c — see soa.h. */
#include <string.h>

#include "base/internal.h"
#include "base/soa.h"

bool rv_soa_grow(rv_soa_col *cols, size_t ncols, size_t n, size_t cap)
{
    void *fresh[RV_SOA_MAX_COLS] = {0};
    if (ncols > RV_SOA_MAX_COLS || n > cap)
        return false;
    bool ok = true;
    for (size_t c = 0; c < ncols && ok; c++) {
        size_t bytes;
        ok = rv_mul(cap, cols[c].elem, &bytes) && (fresh[c] = rv_alloc(bytes)) != NULL;
    }
    if (!ok) {
        for (size_t c = 0; c < ncols; c++)
            rv_free(fresh[c]);
        return false;
    }
    for (size_t c = 0; c < ncols; c++) {
        if (n)
            memcpy(fresh[c], cols[c].data, n * cols[c].elem);
        rv_free(cols[c].data);
        cols[c].data = fresh[c];
    }
    return true;
}
