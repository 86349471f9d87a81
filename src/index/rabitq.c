/*
 * rabitq.c — RaBitQ (Gao & Long, "RaBitQ: Quantizing High-Dimensional Vectors with a Theoretical
 * Error Bound for Approximate Nearest Neighbor Search", SIGMOD 2024) over k-means lists.
 *
 * Encoding. Each vector x is assigned to its nearest centroid c; the residual o = x - c is
 * rotated by the seeded orthogonal P and stored as its D sign bits b (x_bar = (2b - 1)/sqrt(D))
 * with three floats:
 *     A   = ||o||^2 + 2 K1 <x_bar, Pc>        K1 = ||o|| / <o_bar, o_hat>
 *     K1s = 2 K1 / sqrt(D)                    E  = 2 ||o|| sqrt(1 - <o_bar,o_hat>^2) / <o_bar,o_hat>
 *                                                  * eps0 / sqrt(D - 1)
 * where <o_bar, o_hat> = sum |(Po)_i| / (sqrt(D) ||o||) (the paper's <o_bar, o>, ~0.8).
 *
 * Estimation. The estimator <o, q - c> ~ ||o|| <o_bar, q - c> / <o_bar, o_hat> is unbiased, and
 * because P is linear, <x_bar, P(q - c)> = <x_bar, Pq> - <x_bar, Pc>; the second term is a
 * per-vector constant folded into A. So one rotated query y = Pq serves every list:
 *     est ||x - q||^2 = A + ||q - c||^2 - 2 K1 <x_bar, y>.
 * y is quantized to B_q bits (u_i = round((y_i - lo) / delta)); then
 *     <u, y_q> = lo sum(u) + delta <u, uq>
 * with sum(u) stored per code. Error: with probability >= 1 - 2 exp(-c0 eps0^2) the estimate is
 * within E ||q - c|| (paper, Thm 3.2), plus K1s * sqrt(D) * eps0 * delta / sqrt(12) for the
 * query's rounding noise.
 *
 * Two stages (Extended RaBitQ's layout). The top bit of a B-bit level is the sign of r_i, so
 * every code contains a 1-bit RaBitQ code with its own factors (f1). Stage one scans the sign
 * codes of a whole list with FastScan (Andre et al., VLDB 2015; the RaBitQ paper's batch mode):
 * nibbles of 4 dimensions, one 16-entry table of query-level sums per nibble, byte shuffles over
 * 32 codes at a time (index/fastscan.h, kernels.h fastscan_dot; exact integers, so the result
 * equals the popcount form), then screens each block of 32 with the 1-bit bound (screen32).
 * Stage two computes the B-bit estimate (levels_dot) only for codes whose 1-bit interval,
 * widened by their own B-bit error, can still reach the candidates. At D = 384 stage one reads
 * 48 + 24 bytes per code instead of the 192 + 16 of a full 4-bit scan; the scan is memory-bound.
 *
 * Search. Lists are visited in order of a geometric lower bound (||q - c|| - radius)^2 (radius =
 * the farthest member ever added), while that bound is below the k-th smallest *upper* bound
 * (est + err) seen so far: no unvisited list can then hold a top-k vector. Candidates are the
 * k x rerank_factor best estimates; reranking (indexes that keep originals) computes exact
 * distances in estimate order and skips candidates whose lower bound (est - err) already exceeds
 * the current exact k-th. nprobe caps the lists visited. A search's result depends only on the
 * index content and the query, so search_batch rows equal single searches.
 *
 * Rejected: upstream's symmetric SimHash estimator (1-bit query, no correction factors, no
 * centering): recall@10 0.08 at n = 100k. Bit-plane popcounts over whole B-bit codes (the first
 * version): 4-bit codes with an 8-bit query cost 32 popcounts per code word; on 88k MiniLM
 * vectors (D = 384) a full scan took ~9 ms, the two stages ~0.7 ms. O(1) removal still holds
 * in blocks: the list's last code moves nibble by nibble into the freed slot.
 */
#include <math.h>
#include <stdatomic.h>

#include "base/internal.h"
#include "base/kernels.h"
#include "base/pool.h"
#include "base/soa.h"
#include "index/fastscan.h"
#include "index/kmeans.h"
#include "index/rabitq.h"
#include "index/rabitq_kernels.h"
#include "index/topk.h"

#define RV_RABITQ_CHUNK 16384u /* vectors encoded between progress reports */

/* ---- parameters -------------------------------------------------------------------------- */

rv_status rv_rabitq_check_params(rv_index_kind kind, const rv_index_params *p)
{
    if (kind == RV_INDEX_RABITQ && p->rerank_factor != 1)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "RabitqIndex keeps no original vectors, so it cannot rerank "
                       "(rerank_factor %u); use RabitqPlusIndex or RabitqAsymIndex", p->rerank_factor);
    if (p->rerank_factor < RV_RERANK_FACTOR_MIN || p->rerank_factor > RV_RERANK_FACTOR_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "rerank_factor must be in 1..%u, not %u",
                       RV_RERANK_FACTOR_MAX, p->rerank_factor);
    if (p->query_bits < RV_QUERY_BITS_MIN || p->query_bits > RV_QUERY_BITS_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "query_bits must be in %u..%u, not %u",
                       RV_QUERY_BITS_MIN, RV_QUERY_BITS_MAX, p->query_bits);
    if (p->bits < RV_CODE_BITS_MIN || p->bits > RV_CODE_BITS_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "bits must be in %u..%u, not %u", RV_CODE_BITS_MIN,
                       RV_CODE_BITS_MAX, p->bits);
    if (p->nlist > RV_NLIST_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "nlist must be at most %u (0 = automatic), not %u",
                       RV_NLIST_MAX, p->nlist);
    return RV_OK;
}

bool rv_rabitq_retains(rv_index_kind kind, const rv_index_params *p)
{
    return kind == RV_INDEX_RABITQ_PLUS || (kind == RV_INDEX_RABITQ_ASYM && p->rerank_factor > 1);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

rv_status rv_rabitq_new(rv_index_kind kind, uint32_t dim, const rv_index_params *p,
                        const float *rotation, rv_rabitq **out)
{
    rv_rabitq *rq = rv_calloc(1, sizeof *rq);
    if (!rq)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory creating an index");
    rq->kind = kind;
    rq->dim = dim;
    rq->words = (dim + 63) / 64;
    rq->bits = p->bits;
    rq->cwords = p->bits * rq->words;
    rq->ex_bytes = p->bits == 1 ? 0 : p->bits <= 4 ? rq->words * 32 : rq->words * 64;
    rq->f1_rows = p->bits == 1 ? 4 : 6;
    rq->params = *p;
    rv_status st = RV_OK;
    if (rotation) {
        rq->rot.dim = dim;
        if (!(rq->rot.m = rv_alloc((size_t)dim * dim * sizeof(float))))
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory for a %u x %u rotation", dim, dim);
        else
            memcpy(rq->rot.m, rotation, (size_t)dim * dim * sizeof(float));
    } else {
        st = rv_rotation_haar(&rq->rot, dim, p->seed);
    }
    if (st != RV_OK) {
        rv_free(rq);
        return st;
    }
    *out = rq;
    return RV_OK;
}

static void rv_rabitq_untrain(rv_rabitq *rq)
{
    for (uint32_t l = 0; l < rq->nlist; l++) {
        rv_ivf_list *L = &rq->lists[l];
        rv_free(L->sign);
        rv_free(L->f1);
        rv_free(L->ex);
        rv_free(L->fx);
        rv_free(L->rows);
    }
    rv_free(rq->lists);
    rv_free(rq->centroids);
    rv_free(rq->centroids_rot);
    rq->lists = NULL;
    rq->centroids = rq->centroids_rot = NULL;
    rq->nlist = 0;
}

void rv_rabitq_free(rv_rabitq *rq)
{
    if (!rq)
        return;
    rv_rabitq_untrain(rq);
    rv_rotation_free(&rq->rot);
    rv_free(rq->row_list);
    rv_free(rq->row_pos);
    rv_free(rq);
}

rv_status rv_rabitq_set_lists(rv_rabitq *rq, uint32_t nlist, const float *centroids)
{
    size_t cells = (size_t)nlist * rq->dim;
    rq->centroids = rv_alloc(cells * sizeof(float));
    rq->centroids_rot = rv_alloc(cells * sizeof(float));
    rq->lists = rv_calloc(nlist, sizeof(rv_ivf_list));
    if (!rq->centroids || !rq->centroids_rot || !rq->lists) {
        rv_free(rq->centroids);
        rv_free(rq->centroids_rot);
        rv_free(rq->lists);
        rq->centroids = rq->centroids_rot = NULL;
        rq->lists = NULL;
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for %u lists", nlist);
    }
    memcpy(rq->centroids, centroids, cells * sizeof(float));
    for (uint32_t l = 0; l < nlist; l++)
        rv_rotation_apply(&rq->rot, rq->centroids + (size_t)l * rq->dim, rq->centroids_rot + (size_t)l * rq->dim);
    rq->nlist = nlist;
    return RV_OK;
}

static rv_status rv_rabitq_train(rv_rabitq *rq, const float *x, size_t n, const rv_progress *progress)
{
    size_t nlist = rq->params.nlist ? rq->params.nlist : (size_t)lround(sqrt((double)n));
    nlist = nlist < 1 ? 1 : nlist > n ? n : nlist;
    if (nlist > RV_NLIST_MAX)
        nlist = RV_NLIST_MAX;
    float *c = rv_alloc(nlist * rq->dim * sizeof(float));
    if (!c)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for %zu centroids", nlist);
    rv_status st = rv_kmeans_train(x, n, rq->dim, (uint32_t)nlist, rq->params.seed, c, progress);
    if (st == RV_OK)
        st = rv_rabitq_set_lists(rq, (uint32_t)nlist, c);
    rv_free(c);
    return st;
}

static rv_status rv_list_reserve(const rv_rabitq *rq, rv_ivf_list *L, size_t total)
{
    if (total <= L->cap)
        return RV_OK;
    size_t cap = L->cap + L->cap / 2;
    cap = cap < total ? total : cap;
    cap = rv_round_up(cap, RV_FS_BLOCK);
    const size_t bb = rv_fs_block_bytes(rq->words), old_bytes = L->cap / RV_FS_BLOCK * bb;
    const bool multi = rq->bits > 1;
    uint8_t *sign = rv_alloc(cap / RV_FS_BLOCK * bb), *ex = multi ? rv_alloc(cap * rq->ex_bytes) : NULL;
    float *f1 = rv_alloc(cap * rq->f1_rows * sizeof(float));
    rv_fac *fx = multi ? rv_alloc(cap * sizeof(rv_fac)) : NULL;
    uint32_t *rows = rv_alloc(cap * sizeof(uint32_t));
    if (!sign || !f1 || !rows || (multi && (!ex || !fx))) {
        rv_free(sign);
        rv_free(f1);
        rv_free(ex);
        rv_free(fx);
        rv_free(rows);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory growing a list to %zu entries", cap);
    }
    if (old_bytes)
        memcpy(sign, L->sign, old_bytes);
    memset(sign + old_bytes, 0, cap / RV_FS_BLOCK * bb - old_bytes); /* empty slots scan as zeros */
    if (L->n) {
        memcpy(f1, L->f1, L->cap * rq->f1_rows * sizeof(float)); /* whole blocks */
        memcpy(rows, L->rows, L->n * sizeof(uint32_t));
        if (multi) {
            memcpy(ex, L->ex, L->n * rq->ex_bytes);
            memcpy(fx, L->fx, L->n * sizeof(rv_fac));
        }
    }
    rv_free(L->sign);
    rv_free(L->f1);
    rv_free(L->ex);
    rv_free(L->fx);
    rv_free(L->rows);
    L->sign = sign;
    L->f1 = f1;
    L->ex = ex;
    L->fx = fx;
    L->rows = rows;
    L->cap = cap;
    return RV_OK;
}

/* The sign estimator of slot p in the blocked f1 arrays (and the B-bit error terms the screen
 * uses), and its inverse. */
static rv_fac rv_f1_get(const rv_rabitq *rq, const float *f1, size_t p)
{
    const float *b = f1 + p / RV_FS_BLOCK * rq->f1_rows * RV_FS_BLOCK + p % RV_FS_BLOCK;
    return (rv_fac){b[0], b[RV_FS_BLOCK], b[2 * RV_FS_BLOCK], (uint32_t)b[3 * RV_FS_BLOCK]};
}

static void rv_f1_put(const rv_rabitq *rq, float *f1, size_t p, rv_fac f, const rv_fac *fx)
{
    float *b = f1 + p / RV_FS_BLOCK * rq->f1_rows * RV_FS_BLOCK + p % RV_FS_BLOCK;
    b[0] = f.add;
    b[RV_FS_BLOCK] = f.scale;
    b[2 * RV_FS_BLOCK] = f.err;
    b[3 * RV_FS_BLOCK] = (float)f.lsum; /* <= 65536: exact */
    if (fx) {
        b[4 * RV_FS_BLOCK] = fx->err;
        b[5 * RV_FS_BLOCK] = fx->scale;
    }
}

/* sum_i u_i of a bit-plane code. */
static uint32_t rv_code_levels(const uint64_t *code, size_t words, unsigned bits)
{
    uint32_t sum = 0;
    for (unsigned b = 0; b < bits; b++)
        for (size_t w = 0; w < words; w++)
            sum += (uint32_t)__builtin_popcountll(code[b * words + w]) << b;
    return sum;
}

/* Packs a bit-plane code's levels for levels_dot (kernels.h): bits <= 4, byte 32 w + j of the
 * 64-dimension chunk w holds u_{64w+j} | u_{64w+j+32} << 4; bits > 4, one byte per level. */
static void rv_ex_pack(const uint64_t *code, size_t words, unsigned bits, uint8_t *ex)
{
    for (size_t i = 0; i < words * 64; i++) {
        unsigned u = 0;
        for (unsigned b = 0; b < bits; b++)
            u |= (unsigned)(code[b * words + i / 64] >> (i % 64) & 1) << b;
        if (bits > 4)
            ex[i] = (uint8_t)u;
        else if (i % 64 < 32)
            ex[i / 64 * 32 + i % 64] = (uint8_t)u;
        else
            ex[i / 64 * 32 + i % 64 - 32] |= (uint8_t)(u << 4);
    }
}

/* Writes code and factors (add, scale, err; lsum is derived here) into slot p of L. f1 is the
 * sign code's estimator; fx the B-bit one (ignored when bits = 1). */
static void rv_list_set(const rv_rabitq *rq, rv_ivf_list *L, size_t p, const uint64_t *code, rv_fac f1,
                        rv_fac fx, uint32_t row)
{
    const uint64_t *sign = code + (size_t)(rq->bits - 1) * rq->words; /* the top plane */
    rv_fs_put(L->sign, rq->words, p, sign);
    f1.lsum = rv_code_levels(sign, rq->words, 1);
    if (rq->bits > 1) {
        rv_ex_pack(code, rq->words, rq->bits, L->ex + p * rq->ex_bytes);
        fx.lsum = rv_code_levels(code, rq->words, rq->bits);
        L->fx[p] = fx;
    }
    rv_f1_put(rq, L->f1, p, f1, rq->bits > 1 ? &fx : NULL);
    L->rows[p] = row;
}

/* The bit-plane code of slot p (the inverse of rv_list_set's packing). */
static void rv_list_code(const rv_rabitq *rq, const rv_ivf_list *L, size_t p, uint64_t *code)
{
    if (rq->bits == 1) {
        rv_fs_get(L->sign, rq->words, p, code);
        return;
    }
    const uint8_t *ex = L->ex + p * rq->ex_bytes;
    memset(code, 0, rq->cwords * sizeof(uint64_t));
    for (size_t i = 0; i < rq->words * 64; i++) {
        unsigned u = rv_ex_level(ex, rq->bits, i);
        for (unsigned b = 0; b < rq->bits; b++)
            code[b * rq->words + i / 64] |= (uint64_t)(u >> b & 1) << (i % 64);
    }
}

static rv_status rv_rows_reserve(rv_rabitq *rq, size_t total)
{
    if (total <= rq->row_cap)
        return RV_OK;
    size_t cap = rq->row_cap + rq->row_cap / 2;
    cap = cap < total ? total : cap;
    rv_soa_col cols[2] = {{rq->row_list, sizeof(uint32_t)}, {rq->row_pos, sizeof(uint32_t)}};
    if (!rv_soa_grow(cols, 2, rq->row_cap, cap))
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for %zu rows", cap);
    rq->row_list = cols[0].data;
    rq->row_pos = cols[1].data;
    rq->row_cap = cap;
    return RV_OK;
}

/* ---- encoding ---------------------------------------------------------------------------- */

typedef struct rv_encoded {
    uint64_t *codes; /* n x cwords */
    rv_fac *f1, *fx; /* the sign code's and the B-bit code's estimators (lsum unset) */
    float *dist;     /* ||x - c|| for the list radius */
    uint32_t *assign;
} rv_encoded;

static void rv_encoded_free(rv_encoded *e)
{
    rv_free(e->codes);
    rv_free(e->f1);
    rv_free(e->fx);
    rv_free(e->dist);
    rv_free(e->assign);
}

#define RV_EXRABITQ_GRID 12u /* scales tried per vector for bits >= 2 */

/* Extended RaBitQ (Gao et al., SIGMOD 2025): the B-bit code whose levels v_i = u_i - (2^B - 1)/2
 * (a half-integer grid, floor(t r_i) + 1/2 clipped to +-(2^B - 1)/2) best align with r, the
 * scale t chosen by a grid search maximizing <v, r> / ||v||. Writes u into levels[] and returns
 * the cosine (in double, for the chosen t). For B = 1 the answer is the sign code (every t
 * gives it).
 *
 * The search runs the grid points side by side in the inner loop: one float accumulator per
 * grid point, so the compiler vectorizes across grid points without reassociating any sum —
 * the result is the same bit for bit whether or not it does. Levels come from a clamp and a
 * truncation (no libm floor(), which baseline x86-64 cannot inline). */
static double rv_best_levels(const float *r, size_t d, unsigned bits, double rnorm, uint8_t *levels)
{
    const int top = (1 << bits) - 1, half = 1 << (bits - 1);
    if (bits == 1) {
        double dot = 0;
        for (size_t i = 0; i < d; i++) {
            levels[i] = r[i] > 0;
            dot += fabs((double)r[i]) * 0.5;
        }
        return dot / (sqrt((double)d) * 0.5 * rnorm);
    }
    float amax = 0;
    for (size_t i = 0; i < d; i++)
        amax = fmaxf(amax, fabsf(r[i]));
    const float fhalf = (float)half, ftop = (float)top, center = (float)(top / 2.0);
    float ts[RV_EXRABITQ_GRID], dot[RV_EXRABITQ_GRID] = {0}, vv[RV_EXRABITQ_GRID] = {0};
    for (unsigned g = 0; g < RV_EXRABITQ_GRID; g++) /* the largest coordinate lands in [0.25, 1.5] x top level */
        ts[g] = (float)(half / (double)amax * (0.25 + 1.25 * g / (RV_EXRABITQ_GRID - 1)));
    for (size_t i = 0; i < d; i++) {
        const float ri = r[i];
        for (unsigned g = 0; g < RV_EXRABITQ_GRID; g++) {
            float z = ts[g] * ri + fhalf;
            z = z > 0.0f ? z : 0.0f;
            z = z < ftop ? z : ftop;
            float v = (float)(int)z - center;
            dot[g] += v * ri;
            vv[g] += v * v;
        }
    }
    unsigned best_g = 0;
    float best = -2;
    for (unsigned g = 0; g < RV_EXRABITQ_GRID; g++) {
        float cosine = vv[g] > 0 ? dot[g] / sqrtf(vv[g]) : -1;
        if (cosine > best) {
            best = cosine;
            best_g = g;
        }
    }
    double dotd = 0, vvd = 0;
    for (size_t i = 0; i < d; i++) {
        float z = ts[best_g] * r[i] + fhalf;
        z = z > 0.0f ? z : 0.0f;
        z = z < ftop ? z : ftop;
        int u = (int)z;
        levels[i] = (uint8_t)u;
        double v = u - top / 2.0;
        dotd += v * r[i];
        vvd += v * v;
    }
    return vvd > 0 ? dotd / (sqrt(vvd) * rnorm) : 0;
}

/* The estimator of levels u (B bits, center (2^B - 1)/2) for a residual of norm `norm` whose
 * rotation r has norm rnorm; pc = P c. <x_bar, o_hat> = <v, r> / (||v|| ||r||) in double. */
static rv_fac rv_factors(const uint8_t *levels, unsigned bits, const float *r, double rnorm, double norm,
                         const float *pc, size_t d)
{
    const double center = ((1 << bits) - 1) / 2.0;
    double vr = 0, vv = 0, vpc = 0;
    for (size_t i = 0; i < d; i++) {
        double v = levels[i] - center;
        vr += v * r[i];
        vv += v * v;
        vpc += v * pc[i];
    }
    double vnorm = sqrt(vv), ip = vr / (vnorm * rnorm), k1 = norm / ip;
    rv_fac f = {0};
    f.add = (float)(norm * norm + 2 * k1 * vpc / vnorm);
    f.scale = (float)(2 * k1 / vnorm);
    f.err = d > 1 ? (float)(2 * norm * sqrt(fmax(0.0, 1 - ip * ip)) / ip * RV_RABITQ_EPSILON0 / sqrt((double)d - 1))
                  : 0.0f;
    return f;
}

/* Codes and estimators of one vector from its residual o and rotated residual r = P o: the
 * B-bit code (fx) and its top plane, the sign code (f1; for B = 1 the same code). */
static void rv_encode_one(const rv_rabitq *rq, const float *o, const float *r, const float *pc,
                          uint64_t *code, rv_fac *f1, rv_fac *fx, float *dist, uint8_t *levels)
{
    const size_t d = rq->dim;
    double norm2 = 0, rnorm2 = 0;
    for (size_t i = 0; i < d; i++) {
        norm2 += (double)o[i] * o[i];
        rnorm2 += (double)r[i] * r[i];
    }
    double norm = sqrt(norm2), rnorm = sqrt(rnorm2);
    *dist = (float)norm;
    memset(code, 0, rq->cwords * sizeof(uint64_t));
    *f1 = *fx = (rv_fac){0};
    if (rnorm2 == 0) /* x is its centroid: the estimate is ||q - c||^2, exact */
        return;
    rv_best_levels(r, d, rq->bits, rnorm, levels);
    for (size_t i = 0; i < d; i++)
        for (unsigned b = 0; b < rq->bits; b++)
            if (levels[i] >> b & 1)
                code[b * rq->words + i / 64] |= 1ull << (i % 64);
    if (rq->bits > 1) {
        *fx = rv_factors(levels, rq->bits, r, rnorm, norm, pc, d);
        for (size_t i = 0; i < d; i++)
            levels[i] >>= rq->bits - 1; /* the top bit: r_i >= 0 */
    }
    *f1 = rv_factors(levels, 1, r, rnorm, norm, pc, d);
}

typedef struct rv_encode_job {
    const rv_rabitq *rq;
    const float *resid, *rotated;
    rv_encoded *out;
    size_t base, count;
    atomic_int failed;
} rv_encode_job;

static void rv_encode_task(void *ctx, size_t t)
{
    rv_encode_job *job = ctx;
    const rv_rabitq *rq = job->rq;
    size_t first = t * 256, last = rv_min(first + 256, job->count);
    uint8_t *levels = rv_alloc(rq->dim);
    if (!levels) {
        job->failed = 1;
        return;
    }
    for (size_t i = first; i < last; i++) {
        size_t g = job->base + i;
        const float *pc = rq->centroids_rot + (size_t)job->out->assign[g] * rq->dim;
        rv_encode_one(rq, job->resid + i * rq->dim, job->rotated + i * rq->dim, pc,
                      job->out->codes + g * rq->cwords, &job->out->f1[g], &job->out->fx[g], &job->out->dist[g],
                      levels);
    }
    rv_free(levels);
}

static rv_status rv_rabitq_encode(const rv_rabitq *rq, const float *x, size_t n, rv_encoded *e,
                                  const rv_progress *progress)
{
    const size_t d = rq->dim;
    size_t chunk = rv_min(RV_RABITQ_CHUNK, n);
    e->codes = rv_alloc(n * rq->cwords * sizeof(uint64_t));
    e->f1 = rv_alloc(n * sizeof(rv_fac));
    e->fx = rv_alloc(n * sizeof(rv_fac));
    e->dist = rv_alloc(n * sizeof(float));
    e->assign = rv_alloc(n * sizeof(uint32_t));
    float *resid = rv_alloc(chunk * d * sizeof(float)), *rotated = rv_alloc(chunk * d * sizeof(float));
    rv_status st = RV_OK;
    if (!e->codes || !e->f1 || !e->fx || !e->dist || !e->assign || !resid || !rotated) {
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory encoding %zu vectors of dim %u", n, rq->dim);
        goto done;
    }
    if ((st = rv_kmeans_assign(x, n, rq->dim, rq->centroids, rq->nlist, e->assign, NULL)) != RV_OK)
        goto done;
    for (size_t base = 0; base < n; base += chunk) {
        size_t count = rv_min(chunk, n - base);
        for (size_t i = 0; i < count; i++) {
            const float *xi = x + (base + i) * d, *c = rq->centroids + (size_t)e->assign[base + i] * d;
            float *ri = resid + i * d;
            for (size_t t = 0; t < d; t++)
                ri[t] = xi[t] - c[t];
        }
        if ((st = rv_rotation_apply_batch(&rq->rot, resid, count, rotated)) != RV_OK)
            goto done;
        rv_encode_job job = {rq, resid, rotated, e, base, count, 0};
        rv_parallel_for((count + 255) / 256, rv_encode_task, &job);
        if (job.failed) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory encoding");
            goto done;
        }
        if (progress && progress->fn && progress->fn(progress->ctx, "encode", base + count, n) != 0) {
            st = rv_fail(RV_ERR_CANCELLED, "cancelled after %zu of %zu vectors", base + count, n);
            goto done;
        }
    }
done:
    rv_free(resid);
    rv_free(rotated);
    return st;
}

rv_status rv_rabitq_add(rv_rabitq *rq, rv_store *s, const int64_t *ids, const float *x, size_t n,
                        const rv_progress *progress)
{
    if (n == 0)
        return RV_OK;
    rv_status st = rv_check_rows_finite(x, n, rq->dim); /* before encoding; the store trusts it */
    if (st != RV_OK)
        return st;
    if (n > UINT32_MAX - 1 - s->n)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "a RaBitQ index holds at most %u vectors", UINT32_MAX - 1);
    for (size_t i = 0; i < n; i++) /* fail fast, before encoding; the store re-checks within the batch */
        if (rv_idmap_get(&s->map, ids[i], NULL))
            return rv_fail(RV_ERR_DUPLICATE_ID, "id %lld is already in the index", (long long)ids[i]);
    bool trained_here = false;
    if (rq->nlist == 0) {
        if ((st = rv_rabitq_train(rq, x, n, progress)) != RV_OK)
            return st;
        trained_here = true;
    }
    rv_encoded e = {0};
    if ((st = rv_rabitq_encode(rq, x, n, &e, progress)) != RV_OK)
        goto fail;
    /* Reserve everything before the store takes the rows, so nothing can fail after it. */
    if ((st = rv_rows_reserve(rq, s->n + n)) != RV_OK)
        goto fail;
    size_t *counts = rv_calloc(rq->nlist, sizeof(size_t));
    if (!counts) {
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++)
        counts[e.assign[i]]++;
    for (uint32_t l = 0; l < rq->nlist && st == RV_OK; l++)
        if (counts[l])
            st = rv_list_reserve(rq, &rq->lists[l], rq->lists[l].n + counts[l]);
    rv_free(counts);
    if (st != RV_OK)
        goto fail;
    size_t base = s->n;
    if ((st = rv_store_append_finite(s, ids, x, n, NULL)) != RV_OK)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        uint32_t l = e.assign[i];
        rv_ivf_list *L = &rq->lists[l];
        size_t p = L->n++;
        rv_list_set(rq, L, p, e.codes + i * rq->cwords, e.f1[i], e.fx[i], (uint32_t)(base + i));
        L->radius = e.dist[i] > L->radius ? e.dist[i] : L->radius;
        rq->row_list[base + i] = l;
        rq->row_pos[base + i] = (uint32_t)p;
    }
    rv_encoded_free(&e);
    return RV_OK;
fail:
    rv_encoded_free(&e);
    if (trained_here)
        rv_rabitq_untrain(rq);
    return st;
}

rv_status rv_rabitq_remove(rv_rabitq *rq, rv_store *s, int64_t id)
{
    uint64_t row;
    if (!rv_idmap_get(&s->map, id, &row))
        return rv_fail(RV_ERR_UNKNOWN_ID, "id %lld is not in the index", (long long)id);
    /* List level: the list's last entry takes the slot. */
    rv_ivf_list *L = &rq->lists[rq->row_list[row]];
    size_t p = rq->row_pos[row], last = L->n - 1;
    if (p != last) {
        rv_fs_move(L->sign, rq->words, last, p);
        rv_f1_put(rq, L->f1, p, rv_f1_get(rq, L->f1, last), rq->bits > 1 ? &L->fx[last] : NULL);
        if (rq->bits > 1) {
            memcpy(L->ex + p * rq->ex_bytes, L->ex + last * rq->ex_bytes, rq->ex_bytes);
            L->fx[p] = L->fx[last];
        }
        L->rows[p] = L->rows[last];
        rq->row_pos[L->rows[p]] = (uint32_t)p;
    }
    rv_fs_clear(L->sign, rq->words, last);
    L->n--;
    /* Store level: the last row takes the row's place; repoint its list slot. */
    size_t last_row = s->n - 1;
    rv_status st = rv_store_remove(s, id);
    if (st != RV_OK)
        return st;
    if (row != last_row) {
        rq->row_list[row] = rq->row_list[last_row];
        rq->row_pos[row] = rq->row_pos[last_row];
        rq->lists[rq->row_list[row]].rows[rq->row_pos[row]] = (uint32_t)row;
    }
    return RV_OK;
}

/* ---- search ------------------------------------------------------------------------------ */

typedef struct rv_list_key {
    float lb, dc;
    uint32_t list;
} rv_list_key;

static inline bool rv_list_key_less(const rv_list_key *a, const rv_list_key *b)
{
    if (a->lb != b->lb)
        return a->lb < b->lb;
    if (a->dc != b->dc)
        return a->dc < b->dc;
    return a->list < b->list;
}

static void rv_list_heap_down(rv_list_key *h, size_t n, size_t i)
{
    rv_list_key x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && rv_list_key_less(&h[c + 1], &h[c]))
            c++;
        if (!rv_list_key_less(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

typedef struct rv_scratch {
    float *y, *dc;
    rv_list_key *order;
    uint8_t *uq, *uq1, *lut; /* the quantized query (64 words levels) for the estimate and for the
                              * screen, and the screen's FastScan tables */
    float est1[RV_FS_BLOCK], err1[RV_FS_BLOCK]; /* one block's screen */
    uint32_t *scan;    /* max list length, rounded up to a block */
    rv_hit *cand, *ub, *exact;
    size_t max_list, m_cap, k_cap;
} rv_scratch;

static void rv_scratch_free(rv_scratch *sc)
{
    rv_free(sc->y);
    rv_free(sc->dc);
    rv_free(sc->order);
    rv_free(sc->uq);
    rv_free(sc->uq1);
    rv_free(sc->lut);
    rv_free(sc->scan);
    rv_free(sc->cand);
    rv_free(sc->ub);
    rv_free(sc->exact);
}

static rv_status rv_scratch_init(rv_scratch *sc, const rv_rabitq *rq, size_t m, size_t kk)
{
    memset(sc, 0, sizeof *sc);
    for (uint32_t l = 0; l < rq->nlist; l++)
        sc->max_list = rq->lists[l].n > sc->max_list ? rq->lists[l].n : sc->max_list;
    sc->m_cap = m;
    sc->k_cap = kk;
    sc->y = rv_alloc(rq->dim * sizeof(float));
    sc->dc = rv_alloc(rq->nlist * sizeof(float));
    sc->order = rv_alloc(rq->nlist * sizeof(rv_list_key));
    sc->uq = rv_alloc(rq->words * 64);
    sc->uq1 = rv_alloc(rq->words * 64);
    sc->lut = rv_alloc(2 * rq->words * 256);
    sc->scan = rv_alloc(rv_round_up(sc->max_list + 1, RV_FS_BLOCK) * sizeof(uint32_t));
    sc->cand = rv_alloc(m * sizeof(rv_hit));
    sc->ub = rv_alloc(kk * sizeof(rv_hit));
    sc->exact = rv_alloc(kk * sizeof(rv_hit));
    if (!sc->y || !sc->dc || !sc->order || !sc->uq || !sc->uq1 || !sc->lut || !sc->scan || !sc->cand || !sc->ub || !sc->exact) {
        rv_scratch_free(sc);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory for search scratch");
    }
    return RV_OK;
}

/* Quantizes y to `bits` bits per coordinate: uq[i] = round((y_i - lo) / delta) for i < d, zero
 * up to 64 words; returns lo, delta and sum(uq). */
static void rv_quantize_query(const float *y, size_t d, size_t words, unsigned bits, uint8_t *uq,
                              float *lo_out, float *delta_out, float *usum_out)
{
    float lo = y[0], hi = y[0];
    for (size_t i = 1; i < d; i++) {
        lo = y[i] < lo ? y[i] : lo;
        hi = y[i] > hi ? y[i] : hi;
    }
    const uint32_t top = (1u << bits) - 1;
    float delta = hi > lo ? (hi - lo) / (float)top : 0.0f;
    memset(uq, 0, words * 64);
    uint64_t usum = 0;
    for (size_t i = 0; i < d; i++) {
        uint32_t u = delta > 0 ? (uint32_t)((y[i] - lo) / delta + 0.5f) : 0;
        u = u > top ? top : u;
        usum += u;
        uq[i] = (uint8_t)u;
    }
    *lo_out = lo;
    *delta_out = delta;
    *usum_out = (float)usum;
}

/* Writes the row's real hits, ascending, then pads it to kk (rv_topk_pad); returns how many are
 * real. Fewer than kk exist when nprobe stops the scan before kk candidates were seen. */
static size_t rv_rabitq_search_one(const rv_rabitq *rq, const rv_store *s, const float *q, size_t kk,
                                   size_t m, bool rerank, uint32_t nprobe, rv_scratch *sc,
                                   int64_t *ids_out, float *scores_out)
{
    const rv_kernels *K = rv_kernels_get();
    const rv_rabitq_kernels *RK = rv_rabitq_kernels_get();
    const size_t d = rq->dim, words = rq->words;
    const unsigned bits = rq->params.query_bits;
    rv_rotation_apply(&rq->rot, q, sc->y);
    K->l2sq_rows(q, rq->centroids, d, rq->nlist, sc->dc);
    for (uint32_t l = 0; l < rq->nlist; l++) {
        float gap = sqrtf(sc->dc[l]) - rq->lists[l].radius;
        sc->order[l] = (rv_list_key){gap > 0 ? gap * gap : 0.0f, sc->dc[l], l};
    }
    for (size_t i = rq->nlist / 2; i-- > 0;)
        rv_list_heap_down(sc->order, rq->nlist, i);
    /* t = <u, y_q> - c sum(y_q) = lo (levels - c D) + delta (weighted - c U), c = (2^bits - 1)/2.
     * The query's rounding noise adds at most K1s * c sqrt(D) * eps0 * delta / sqrt(12). The
     * sign codes are the same with c = 1/2. Multi-bit indexes screen with the query at no more
     * than 6 bits (one byte per table entry, half the shuffles; the screen's own error dwarfs
     * the rounding) and estimate at query_bits. */
    const bool multi = rq->bits > 1;
    const unsigned bits1 = multi && bits > 6 ? 6 : bits;
    float lo1, delta1, usum1;
    rv_quantize_query(sc->y, d, words, bits1, sc->uq1, &lo1, &delta1, &usum1);
    const unsigned nluts = rv_fs_lut(sc->uq1, words, bits1, sc->lut);
    float lo = lo1, delta = delta1, usum = usum1;
    const uint8_t *uq = sc->uq1;
    if (bits != bits1) { /* only then does the estimate need its own quantization */
        rv_quantize_query(sc->y, d, words, bits, sc->uq, &lo, &delta, &usum);
        uq = sc->uq;
    }
    const float center = (float)((1 << rq->bits) - 1) / 2.0f, noise = (float)(sqrt((double)d) * RV_RABITQ_EPSILON0 / sqrt(12.0));
    const float qerr = center * noise * delta, lo_cd = lo * center * (float)d, delta_cu = delta * center * usum;
    const float qerr1 = 0.5f * noise * delta1, lo_cd1 = lo1 * 0.5f * (float)d, delta_cu1 = delta1 * 0.5f * usum1;

    rv_topk cand, ub;
    rv_topk_init(&cand, sc->cand, m);
    rv_topk_init(&ub, sc->ub, kk);
    size_t remaining = rq->nlist, visited = 0;
    while (remaining > 0) {
        rv_list_key key = sc->order[0];
        if (key.lb > rv_topk_bound(&ub) || (nprobe && visited >= nprobe))
            break;
        sc->order[0] = sc->order[--remaining];
        rv_list_heap_down(sc->order, remaining, 0);
        visited++;
        const rv_ivf_list *L = &rq->lists[key.list];
        if (L->n == 0)
            continue;
        RK->fastscan_dot(L->sign, words, (L->n + RV_FS_BLOCK - 1) / RV_FS_BLOCK, sc->lut, nluts, sc->scan);
        const float dc = key.dc, sqrt_dc = sqrtf(dc);
        /* multi: skip when (est - err) - err_B > cand and est - err > ub; else est > cand and est + err > ub */
        rv_screen scr = {.lo = lo1, .lo_cd = lo_cd1, .delta = delta1, .delta_cu = delta_cu1, .dc = dc, .sqrt_dc = sqrt_dc,
                         .qerr = qerr1, .qerr2 = qerr, .a = multi ? 1.0f : 0.0f, .b = multi ? -1.0f : 1.0f};
        for (size_t b0 = 0; b0 < L->n; b0 += RV_FS_BLOCK) {
            scr.cand = rv_topk_bound(&cand);
            scr.ub = rv_topk_bound(&ub);
            const float *f1 = L->f1 + b0 * rq->f1_rows;
            uint32_t keep = RK->screen32(f1, multi ? f1 + 4 * RV_FS_BLOCK : NULL, sc->scan + b0, &scr, sc->est1, sc->err1);
            if (L->n - b0 < RV_FS_BLOCK)
                keep &= (1u << (L->n - b0)) - 1;
            if (multi)
                for (uint32_t m2 = keep; m2; m2 &= m2 - 1)
                    __builtin_prefetch(L->ex + (b0 + (size_t)__builtin_ctz(m2)) * rq->ex_bytes);
            for (; keep; keep &= keep - 1) {
                const unsigned j = (unsigned)__builtin_ctz(keep);
                const size_t e = b0 + j;
                float est = sc->est1[j], err = sc->err1[j];
                float cand_bound = rv_topk_bound(&cand), ub_bound = rv_topk_bound(&ub);
                if (multi) {
                    /* The true distance is within err of the sign estimate, the B-bit estimate
                     * within its own error of the truth: skip what cannot pass the test below. */
                    const rv_fac *f = &L->fx[e];
                    if (est - err - (f->err * sqrt_dc + f->scale * qerr) > cand_bound && est - err > ub_bound)
                        continue;
                    uint32_t w = RK->levels_dot(L->ex + e * rq->ex_bytes, words, rq->bits, uq);
                    float t = lo * (float)f->lsum - lo_cd + delta * (float)w - delta_cu;
                    est = f->add + dc - f->scale * t;
                    err = f->err * sqrt_dc + f->scale * qerr;
                }
                if (!rerank)
                    est = est > 0 ? est : 0.0f;
                if (est > cand_bound && est + err > ub_bound)
                    continue;
                int64_t id = s->ids[L->rows[e]];
                if (est <= cand_bound)
                    rv_topk_push_aux(&cand, est, id, L->rows[e], err);
                if (est + err <= ub_bound)
                    rv_topk_push(&ub, est + err, id, L->rows[e]);
            }
        }
    }
    if (!rerank) {
        size_t got = rv_topk_drain_sorted(&cand, ids_out, scores_out, NULL);
        rv_topk_pad(ids_out, scores_out, got, kk);
        return got;
    }
    /* Exact rerank in ascending estimate order, skipping what the bound rules out. */
    size_t nc;
    rv_hit *sorted = rv_topk_sort(&cand, &nc);
    rv_topk exact;
    rv_topk_init(&exact, sc->exact, kk);
    for (size_t c = 0; c < nc; c++) {
        if (exact.size == kk && sorted[c].score - sorted[c].aux > rv_topk_bound(&exact))
            continue;
        float dist = K->l2sq(q, s->vectors + sorted[c].row * d, d);
        rv_topk_push(&exact, dist, sorted[c].id, sorted[c].row);
    }
    size_t got = rv_topk_drain_sorted(&exact, ids_out, scores_out, NULL);
    rv_topk_pad(ids_out, scores_out, got, kk);
    return got;
}

typedef struct rv_rq_batch {
    const rv_rabitq *rq;
    const rv_store *s;
    const float *q;
    size_t m_queries, kk, cand, per_task;
    bool rerank;
    uint32_t nprobe;
    int64_t *ids;
    float *scores;
    size_t *counts;
    atomic_int failed;
} rv_rq_batch;

static void rv_rq_batch_task(void *ctx, size_t t)
{
    rv_rq_batch *job = ctx;
    rv_scratch sc;
    if (rv_scratch_init(&sc, job->rq, job->cand, job->kk) != RV_OK) {
        job->failed = 1;
        return;
    }
    size_t first = t * job->per_task, last = rv_min(first + job->per_task, job->m_queries);
    for (size_t i = first; i < last; i++) {
        size_t got = rv_rabitq_search_one(job->rq, job->s, job->q + i * job->rq->dim, job->kk, job->cand,
                                          job->rerank, job->nprobe, &sc, job->ids + i * job->kk,
                                          job->scores + i * job->kk);
        if (job->counts)
            job->counts[i] = got;
    }
    rv_scratch_free(&sc);
}

rv_status rv_rabitq_search(const rv_rabitq *rq, const rv_store *s, const float *q, size_t m,
                           size_t kk, const rv_search_params *sp, int64_t *ids, float *scores,
                           size_t *counts)
{
    uint32_t rf = sp && sp->rerank_factor ? sp->rerank_factor : rq->params.rerank_factor;
    if (rf > RV_RERANK_FACTOR_MAX)
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "rerank_factor must be in 1..%u, not %u", RV_RERANK_FACTOR_MAX, rf);
    bool rerank = s->retain && rf > 1;
    if (rf > 1 && !s->retain)
        return rv_fail(RV_ERR_NOT_RETAINED, "rerank_factor %u needs the original vectors, which this index "
                       "does not keep (build it with rerank_factor > 1, or use RabitqPlusIndex)", rf);
    if (rq->kind == RV_INDEX_RABITQ_PLUS && s->retain)
        rerank = true; /* PLUS always returns exact distances, even at rerank_factor 1 */
    size_t cand = rerank ? rv_min(kk * rf, s->n) : kk;
    cand = cand < kk ? kk : cand;
    uint32_t nprobe = sp ? sp->nprobe : 0;
    if (m == 1) {
        rv_scratch sc;
        rv_status st = rv_scratch_init(&sc, rq, cand, kk);
        if (st != RV_OK)
            return st;
        size_t got = rv_rabitq_search_one(rq, s, q, kk, cand, rerank, nprobe, &sc, ids, scores);
        if (counts)
            counts[0] = got;
        rv_scratch_free(&sc);
        return RV_OK;
    }
    size_t threads = rv_pool_size(), per = (m + 4 * threads - 1) / (4 * threads);
    rv_rq_batch job = {rq, s, q, m, kk, cand, per ? per : 1, rerank, nprobe, ids, scores, counts, 0};
    rv_parallel_for((m + job.per_task - 1) / job.per_task, rv_rq_batch_task, &job);
    return job.failed ? rv_fail(RV_ERR_NO_MEMORY, "out of memory in batch search") : RV_OK;
}

/* ---- equality, size, persistence helpers ------------------------------------------------- */

bool rv_rabitq_equal(const rv_rabitq *a, const rv_store *sa, const rv_rabitq *b, const rv_store *sb)
{
    const rv_index_params *qa = &a->params, *qb = &b->params; /* field by field: the struct has padding */
    if (a->kind != b->kind || a->dim != b->dim || qa->seed != qb->seed || qa->rerank_factor != qb->rerank_factor ||
        qa->query_bits != qb->query_bits || qa->nlist != qb->nlist || qa->bits != qb->bits || a->nlist != b->nlist || sa->n != sb->n)
        return false;
    size_t d = a->dim;
    if (memcmp(a->rot.m, b->rot.m, d * d * sizeof(float)) != 0 ||
        (a->nlist && memcmp(a->centroids, b->centroids, (size_t)a->nlist * d * sizeof(float)) != 0))
        return false;
    /* The radii steer which lists a search visits: equal indexes must search alike. */
    for (uint32_t l = 0; l < a->nlist; l++)
        if (memcmp(&a->lists[l].radius, &b->lists[l].radius, sizeof(float)) != 0)
            return false;
    for (size_t r = 0; r < sa->n; r++) {
        uint64_t rb;
        if (!rv_idmap_get(&sb->map, sa->ids[r], &rb))
            return false;
        if (sa->retain && memcmp(sa->vectors + r * d, sb->vectors + rb * d, d * sizeof(float)) != 0)
            return false;
        uint32_t la = a->row_list[r], lb = b->row_list[rb];
        const rv_ivf_list *La = &a->lists[la], *Lb = &b->lists[lb];
        size_t pa = a->row_pos[r], pb = b->row_pos[rb];
        rv_fac fa = rv_f1_get(a, La->f1, pa), fb = rv_f1_get(b, Lb->f1, pb);
        if (la != lb || !rv_fs_same(La->sign, pa, Lb->sign, pb, a->words) || memcmp(&fa, &fb, sizeof fa) != 0)
            return false;
        if (a->bits > 1 && (memcmp(La->ex + pa * a->ex_bytes, Lb->ex + pb * b->ex_bytes, a->ex_bytes) != 0 ||
                            memcmp(&La->fx[pa], &Lb->fx[pb], sizeof(rv_fac)) != 0))
            return false;
    }
    return true;
}

size_t rv_rabitq_bytes(const rv_rabitq *rq)
{
    size_t d = rq->dim, bytes = rv_round_up(sizeof *rq, RV_ALIGN);
    bytes += rv_round_up(d * d * sizeof(float), RV_ALIGN);
    if (rq->nlist) {
        bytes += 2 * rv_round_up((size_t)rq->nlist * d * sizeof(float), RV_ALIGN);
        bytes += rv_round_up(rq->nlist * sizeof(rv_ivf_list), RV_ALIGN);
        for (uint32_t l = 0; l < rq->nlist; l++) {
            size_t cap = rq->lists[l].cap;
            if (cap)
                bytes += rv_round_up(cap / RV_FS_BLOCK * rv_fs_block_bytes(rq->words), RV_ALIGN) +
                         rv_round_up(cap * rq->f1_rows * sizeof(float), RV_ALIGN) + rv_round_up(cap * 4, RV_ALIGN) +
                         (rq->bits > 1 ? rv_round_up(cap * rq->ex_bytes, RV_ALIGN) + rv_round_up(cap * sizeof(rv_fac), RV_ALIGN) : 0);
        }
    }
    if (rq->row_cap)
        bytes += 2 * rv_round_up(rq->row_cap * sizeof(uint32_t), RV_ALIGN);
    return bytes;
}

rv_status rv_rabitq_export_rows(const rv_rabitq *rq, size_t n, uint64_t *codes, float *factors,
                                float *factors1, uint32_t *lists)
{
    for (size_t r = 0; r < n; r++) {
        uint32_t l = rq->row_list[r];
        const rv_ivf_list *L = &rq->lists[l];
        size_t p = rq->row_pos[r];
        rv_list_code(rq, L, p, codes + r * rq->cwords);
        rv_fac f1 = rv_f1_get(rq, L->f1, p), f = rq->bits > 1 ? L->fx[p] : f1;
        factors[3 * r] = f.add;
        factors[3 * r + 1] = f.scale;
        factors[3 * r + 2] = f.err;
        if (rq->bits > 1) {
            factors1[3 * r] = f1.add;
            factors1[3 * r + 1] = f1.scale;
            factors1[3 * r + 2] = f1.err;
        }
        lists[r] = l;
    }
    return RV_OK;
}

rv_status rv_rabitq_import_rows(rv_rabitq *rq, size_t n, const uint64_t *codes, const float *factors,
                                const float *factors1, const uint32_t *lists, const float *radii)
{
    rv_status st = rv_rows_reserve(rq, n ? n : 1);
    if (st != RV_OK)
        return st;
    size_t *counts = rv_calloc(rq->nlist ? rq->nlist : 1, sizeof(size_t));
    if (!counts)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    for (size_t r = 0; r < n; r++)
        counts[lists[r]]++;
    for (uint32_t l = 0; l < rq->nlist && st == RV_OK; l++) {
        rq->lists[l].radius = radii[l];
        if (counts[l])
            st = rv_list_reserve(rq, &rq->lists[l], counts[l]);
    }
    rv_free(counts);
    if (st != RV_OK)
        return st;
    for (size_t r = 0; r < n; r++) {
        rv_ivf_list *L = &rq->lists[lists[r]];
        size_t p = L->n++;
        rv_fac fx = {factors[3 * r], factors[3 * r + 1], factors[3 * r + 2], 0}, f1 = fx;
        if (rq->bits > 1)
            f1 = (rv_fac){factors1[3 * r], factors1[3 * r + 1], factors1[3 * r + 2], 0};
        rv_list_set(rq, L, p, codes + r * rq->cwords, f1, fx, (uint32_t)r);
        rq->row_list[r] = lists[r];
        rq->row_pos[r] = (uint32_t)p;
    }
    return RV_OK;
}

/* ---- validation (rv_index_check) --------------------------------------------------------- */

#define RV_BROKEN(...) rv_fail(RV_ERR_INTERNAL, __VA_ARGS__)

static bool rv_fac_sane(rv_fac f)
{
    return isfinite(f.add) && isfinite(f.scale) && isfinite(f.err) && f.err >= 0.0f;
}

/* One list's slots: rows map back to the slot, codes carry no bits past the dimension, padding
 * slots of the last block are all-zero nibbles, factors are finite with err >= 0, levels fit
 * the code width, and (retained vectors) every vector lies within the list's radius. */
static rv_status rv_rabitq_check_list(const rv_rabitq *rq, const rv_store *s, uint32_t l, uint64_t *code)
{
    const rv_kernels *K = rv_kernels_get();
    const rv_ivf_list *L = &rq->lists[l];
    const size_t d = rq->dim, words = rq->words;
    if (L->n > L->cap || L->cap % RV_FS_BLOCK != 0)
        return RV_BROKEN("list %u holds %zu of capacity %zu (a multiple of %u)", l, L->n, L->cap, RV_FS_BLOCK);
    if (!isfinite(L->radius) || L->radius < 0.0f)
        return RV_BROKEN("list %u has radius %g", l, (double)L->radius);
    const uint64_t tail = d % 64 ? ~0ull << (d % 64) : 0; /* the last word's bits past dim */
    for (size_t p = 0; p < rv_round_up(L->n, RV_FS_BLOCK); p++) {
        if (p >= L->n || tail) {
            rv_fs_get(L->sign, words, p, code);
            for (size_t w = p < L->n ? words - 1 : 0; w < words; w++)
                if (code[w] & (p < L->n ? tail : ~0ull))
                    return p < L->n ? RV_BROKEN("list %u slot %zu has sign bits set past dim %zu", l, p, d)
                                    : RV_BROKEN("list %u padding slot %zu is not zero (word %zu)", l, p, w);
        }
        if (p >= L->n)
            continue;
        uint32_t row = L->rows[p];
        if (row >= s->n || rq->row_list[row] != l || rq->row_pos[row] != p)
            return RV_BROKEN("list %u slot %zu names row %u, which maps elsewhere", l, p, row);
        rv_fac f = rv_f1_get(rq, L->f1, p);
        if (!rv_fac_sane(f) || f.lsum > d)
            return RV_BROKEN("list %u slot %zu (id %lld) has bad sign-code factors", l, p, (long long)s->ids[row]);
        if (rq->bits > 1) {
            if (!rv_fac_sane(L->fx[p]))
                return RV_BROKEN("list %u slot %zu (id %lld) has bad %u-bit factors", l, p, (long long)s->ids[row], rq->bits);
            const uint8_t *ex = L->ex + p * rq->ex_bytes;
            for (size_t i = 0; rq->bits != 4 && rq->bits != 8 && i < d; i++) /* 4 and 8 bits fill their field */
                if (rv_ex_level(ex, rq->bits, i) >> rq->bits)
                    return RV_BROKEN("list %u slot %zu level %zu exceeds %u bits", l, p, i, rq->bits);
        }
        if (s->retain) {
            /* float distance: within d 2^-23 relative of the truth, well inside the 1e-4 slack */
            double dist = sqrt((double)K->l2sq(s->vectors + (size_t)row * d, rq->centroids + (size_t)l * d, d));
            if (dist > L->radius * (1 + 1e-4) + 1e-6)
                return RV_BROKEN("id %lld lies %g from list %u's centroid, past its radius %g", (long long)s->ids[row],
                                 dist, l, (double)L->radius);
        }
    }
    return RV_OK;
}

rv_status rv_rabitq_check(const rv_rabitq *rq, const rv_store *s)
{
    if (rq->nlist == 0)
        return s->n == 0 ? RV_OK : RV_BROKEN("%zu vectors but no lists", s->n);
    if (s->n > rq->row_cap)
        return RV_BROKEN("%zu rows but row maps of %zu", s->n, rq->row_cap);
    size_t bad_row, bad_col;
    if (!rv_rows_finite(rq->centroids, rq->nlist, rq->dim, &bad_row, &bad_col) ||
        !rv_rows_finite(rq->centroids_rot, rq->nlist, rq->dim, &bad_row, &bad_col))
        return RV_BROKEN("centroid %zu has a non-finite value at column %zu", bad_row, bad_col);
    size_t total = 0;
    for (uint32_t l = 0; l < rq->nlist; l++)
        total += rq->lists[l].n;
    if (total != s->n)
        return RV_BROKEN("the lists hold %zu entries, the store %zu rows", total, s->n);
    uint64_t *code = rv_alloc(rq->words * sizeof(uint64_t));
    if (!code)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory checking an index");
    rv_status st = RV_OK;
    for (uint32_t l = 0; l < rq->nlist && st == RV_OK; l++)
        st = rv_rabitq_check_list(rq, s, l, code);
    rv_free(code);
    return st;
}
