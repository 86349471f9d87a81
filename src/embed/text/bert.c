/*
 * bert.c — the BERT encoder behind rv_embedder: sentence-transformers' all-MiniLM-L6-v2 graph
 * (embeddings, 6 post-LayerNorm layers, mean pooling, L2 normalisation), within 1e-6 of it.
 *
 * Ragged batching: the tokens of every text in a chunk are packed into one [tokens x hidden]
 * matrix, so embeddings, the four projections (QKV fused into one), LayerNorm and GELU run on all
 * tokens at once with no padding; only attention works per (text, head). Projections go through
 * rv_gemm_nt (our blocked AVX2/FMA kernel), whose every output element is computed the same way
 * whatever the row count, so embed(s) equals embed_batch([..., s, ...])[i] bit for bit. The
 * step after each projection runs in the GEMM's consumer while the tile is hot: bias + GELU per
 * block, bias + residual + LayerNorm per finished row block; attention is two small products
 * per (text, head) on the same micro-kernel.
 */
#include <jansson.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "base/gemm.h"
#include "base/internal.h"
#include "base/kernels.h"
#include "embed/nn_kernels.h"
#include "base/pool.h"
#include "embed/safetensors.h"
#include "embed/text/tokenizer.h"
#include "ruvector/embed.h"

#define RV_BERT_MAX_LAYERS 48
#define RV_CHUNK_TOKENS 4096 /* tokens per forward pass: bounds the activations (~45 MB at 384) */

typedef struct rv_bert_layer {
    float *wqkv, *bqkv; /* [3H x H], [3H] */
    float *wo, *bo;     /* [H x H] */
    float *ln1_g, *ln1_b;
    float *w1, *b1; /* [I x H] */
    float *w2, *b2; /* [H x I] */
    float *ln2_g, *ln2_b;
    rv_gemm_packed pqkv, po, p1, p2; /* the weights in the GEMM's panel layout (packed once) */
} rv_bert_layer;

struct rv_embedder {
    rv_embedder_kind kind; /* RV_EMBEDDER_TEXT: the first member of every model kind's struct */
    size_t vocab, hidden, heads, inter, layers, max_pos, max_seq;
    double eps;
    float *word, *pos, *type, *emb_g, *emb_b;
    rv_bert_layer layer[RV_BERT_MAX_LAYERS];
    rv_vocab *tok;
};

/* ---- loading ---------------------------------------------------------------------------- */

static size_t rv_json_size(json_t *root, const char *key, size_t dflt)
{
    json_t *v = json_object_get(root, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (size_t)json_integer_value(v) : dflt;
}

void rv_embedder_destroy(rv_embedder *e)
{
    if (!e)
        return;
    rv_free(e->word);
    rv_free(e->pos);
    rv_free(e->type);
    rv_free(e->emb_g);
    rv_free(e->emb_b);
    for (size_t l = 0; l < e->layers; l++) {
        rv_bert_layer *L = &e->layer[l];
        float *all[] = {L->wqkv, L->bqkv, L->wo, L->bo, L->ln1_g, L->ln1_b, L->w1, L->b1, L->w2, L->b2, L->ln2_g, L->ln2_b};
        for (size_t i = 0; i < RV_ARRAY_LEN(all); i++)
            rv_free(all[i]);
        rv_gemm_packed_free(&L->pqkv);
        rv_gemm_packed_free(&L->po);
        rv_gemm_packed_free(&L->p1);
        rv_gemm_packed_free(&L->p2);
    }
    rv_vocab_free(e->tok);
    rv_free(e);
}

/* Loads q, k, v weights and fuses them into one [3H x H] matrix and [3H] bias. */
static rv_status rv_load_qkv(const rv_safetensors *st, size_t l, size_t H, rv_bert_layer *L)
{
    static const char *const parts[] = {"query", "key", "value"};
    L->wqkv = rv_alloc(3 * H * H * sizeof(float));
    L->bqkv = rv_alloc(3 * H * sizeof(float));
    if (!L->wqkv || !L->bqkv)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    for (int p = 0; p < 3; p++) {
        char name[128];
        float *w = NULL, *b = NULL;
        size_t wd[2] = {H, H}, bd[1] = {H};
        snprintf(name, sizeof name, "encoder.layer.%zu.attention.self.%s.weight", l, parts[p]);
        rv_status s = rv_safetensors_f32(st, name, wd, 2, &w);
        snprintf(name, sizeof name, "encoder.layer.%zu.attention.self.%s.bias", l, parts[p]);
        if (s == RV_OK)
            s = rv_safetensors_f32(st, name, bd, 1, &b);
        if (s == RV_OK) {
            memcpy(L->wqkv + (size_t)p * H * H, w, H * H * sizeof(float));
            memcpy(L->bqkv + (size_t)p * H, b, H * sizeof(float));
        }
        rv_free(w);
        rv_free(b);
        if (s != RV_OK)
            return s;
    }
    return RV_OK;
}

rv_status rv_embedder_load(const char *dir, rv_embedder **out)
{
    *out = NULL;
    rv_embedder *e = rv_calloc(1, sizeof *e);
    if (!e)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    e->vocab = 30522, e->hidden = 384, e->heads = 12, e->inter = 1536, e->layers = 6, e->max_pos = 512;
    e->kind = RV_EMBEDDER_TEXT;
    e->eps = 1e-12, e->max_seq = 256;
    char *cfg_path = rv_path_join(dir, "config.json"), *st_path = rv_path_join(dir, "model.safetensors"),
         *vocab_path = rv_path_join(dir, "vocab.txt"), *sb_path = rv_path_join(dir, "sentence_bert_config.json");
    rv_status s = cfg_path && st_path && vocab_path && sb_path ? RV_OK : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    json_error_t err;
    json_t *cfg = s == RV_OK ? json_load_file(cfg_path, 0, &err) : NULL;
    if (cfg) {
        e->vocab = rv_json_size(cfg, "vocab_size", e->vocab);
        e->hidden = rv_json_size(cfg, "hidden_size", e->hidden);
        e->heads = rv_json_size(cfg, "num_attention_heads", e->heads);
        e->inter = rv_json_size(cfg, "intermediate_size", e->inter);
        e->layers = rv_json_size(cfg, "num_hidden_layers", e->layers);
        e->max_pos = rv_json_size(cfg, "max_position_embeddings", e->max_pos);
        json_t *eps = json_object_get(cfg, "layer_norm_eps");
        if (json_is_number(eps) && json_number_value(eps) > 0)
            e->eps = json_number_value(eps);
        json_t *act = json_object_get(cfg, "hidden_act");
        if (json_is_string(act) && strcmp(json_string_value(act), "gelu") != 0)
            s = rv_fail(RV_ERR_FORMAT, "%s: hidden_act '%s' is not supported (only exact 'gelu')", cfg_path,
                        json_string_value(act));
        json_decref(cfg);
    }
    json_t *sb = s == RV_OK ? json_load_file(sb_path, 0, &err) : NULL;
    if (sb) {
        e->max_seq = rv_json_size(sb, "max_seq_length", e->max_seq);
        json_decref(sb);
    }
    if (s == RV_OK && (e->layers > RV_BERT_MAX_LAYERS || e->hidden % e->heads || e->hidden > 8192 ||
                       e->inter > 65536 || e->max_pos > 65536 || e->vocab > 10000000))
        s = rv_fail(RV_ERR_FORMAT, "%s: unsupported model shape", cfg_path);
    if (e->max_seq > e->max_pos)
        e->max_seq = e->max_pos;
    rv_safetensors *st = NULL;
    if (s == RV_OK)
        s = rv_safetensors_open(st_path, &st);
    const size_t H = e->hidden, I = e->inter;
    if (s == RV_OK) {
        size_t d_word[2] = {e->vocab, H}, d_pos[2] = {e->max_pos, H}, d_type[2] = {2, H}, d_h[1] = {H};
        if ((s = rv_safetensors_f32(st, "embeddings.word_embeddings.weight", d_word, 2, &e->word)) == RV_OK &&
            (s = rv_safetensors_f32(st, "embeddings.position_embeddings.weight", d_pos, 2, &e->pos)) == RV_OK &&
            (s = rv_safetensors_f32(st, "embeddings.token_type_embeddings.weight", d_type, 2, &e->type)) == RV_OK &&
            (s = rv_safetensors_f32(st, "embeddings.LayerNorm.weight", d_h, 1, &e->emb_g)) == RV_OK)
            s = rv_safetensors_f32(st, "embeddings.LayerNorm.bias", d_h, 1, &e->emb_b);
    }
    for (size_t l = 0; l < e->layers && s == RV_OK; l++) {
        rv_bert_layer *L = &e->layer[l];
        char name[128];
        size_t d_hh[2] = {H, H}, d_h[1] = {H}, d_ih[2] = {I, H}, d_hi[2] = {H, I}, d_i[1] = {I};
#define RV_T(field, suffix, dims, nd)                                                       \
    if (s == RV_OK) {                                                                       \
        snprintf(name, sizeof name, "encoder.layer.%zu.%s", l, suffix);                     \
        s = rv_safetensors_f32(st, name, dims, nd, &L->field);                              \
    }
        s = rv_load_qkv(st, l, H, L);
        RV_T(wo, "attention.output.dense.weight", d_hh, 2)
        RV_T(bo, "attention.output.dense.bias", d_h, 1)
        RV_T(ln1_g, "attention.output.LayerNorm.weight", d_h, 1)
        RV_T(ln1_b, "attention.output.LayerNorm.bias", d_h, 1)
        RV_T(w1, "intermediate.dense.weight", d_ih, 2)
        RV_T(b1, "intermediate.dense.bias", d_i, 1)
        RV_T(w2, "output.dense.weight", d_hi, 2)
        RV_T(b2, "output.dense.bias", d_h, 1)
        RV_T(ln2_g, "output.LayerNorm.weight", d_h, 1)
        RV_T(ln2_b, "output.LayerNorm.bias", d_h, 1)
#undef RV_T
        /* pack the projections once; the row-major copies are not needed after that */
        if (s == RV_OK && (s = rv_gemm_pack(L->wqkv, 3 * H, H, &L->pqkv)) == RV_OK &&
            (s = rv_gemm_pack(L->wo, H, H, &L->po)) == RV_OK && (s = rv_gemm_pack(L->w1, I, H, &L->p1)) == RV_OK)
            s = rv_gemm_pack(L->w2, H, I, &L->p2);
        if (s == RV_OK) {
            rv_free(L->wqkv);
            rv_free(L->wo);
            rv_free(L->w1);
            rv_free(L->w2);
            L->wqkv = L->wo = L->w1 = L->w2 = NULL;
        }
    }
    rv_safetensors_close(st);
    if (s == RV_OK)
        s = rv_vocab_load(vocab_path, &e->tok);
    if (s == RV_OK && rv_vocab_size(e->tok) != e->vocab)
        s = rv_fail(RV_ERR_FORMAT, "%s has %zu tokens but the model has %zu embeddings", vocab_path,
                    rv_vocab_size(e->tok), e->vocab);
    rv_free(cfg_path);
    rv_free(st_path);
    rv_free(vocab_path);
    rv_free(sb_path);
    if (s != RV_OK) {
        rv_embedder_destroy(e);
        /* a file missing, unreadable or malformed (the message names it) is a model problem */
        return s == RV_ERR_NO_MEMORY ? s : RV_ERR_MODEL;
    }
    *out = e;
    return RV_OK;
}

rv_embedder_kind rv_embedder_kind_of(const rv_embedder *e) { return e->kind; }
uint32_t rv_embedder_dim(const rv_embedder *e) { return (uint32_t)e->hidden; }
uint32_t rv_embedder_max_seq_length(const rv_embedder *e) { return (uint32_t)e->max_seq; }

rv_status rv_embedder_tokenize(const rv_embedder *e, const char *text, size_t len, int32_t *ids, size_t cap,
                               size_t *n_out)
{
    return rv_tokenize(e->tok, text, len, rv_min(cap, e->max_seq), ids, n_out);
}

rv_status rv_embedder_token_count(const rv_embedder *e, const char *text, size_t len, size_t *count)
{
    return rv_token_count(e->tok, text, len, count);
}

/* ---- the forward pass ------------------------------------------------------------------- */

/* y[T x N] = x[T x K] . w[N x K]^T + b, written by the GEMM straight into y with every sum
 * started from the bias; the next step runs in the driver's consumer while the rows are hot:
 * GELU per finished block, or (residual r, then LayerNorm) per task's finished rows. */
typedef struct rv_linear_job {
    float *y;
    const float *r, *g, *beta;
    size_t n;
    double eps;
} rv_linear_job;

/* x = LayerNorm(x + r) row by row (r may be NULL): the dispatched kernel. */
static void rv_layernorm_rows(float *x, const float *r, size_t T, size_t H, const float *g, const float *b, double eps)
{
    const rv_nn_kernels *N = rv_nn_kernels_get();
    for (size_t t = 0; t < T; t++)
        N->layernorm(x + t * H, r ? r + t * H : NULL, H, g, b, (float)eps);
}

static void rv_gelu_block(void *ctx, size_t task, size_t i0, size_t rows, size_t j0, size_t cols, const float *c,
                          size_t ldc)
{
    (void)task, (void)c, (void)ldc;
    rv_linear_job *j = ctx;
    const rv_nn_kernels *N = rv_nn_kernels_get();
    for (size_t i = 0; i < rows; i++)
        N->gelu(j->y + (i0 + i) * j->n + j0, cols);
}

static void rv_ln_end(void *ctx, size_t task, size_t i0, size_t rows)
{
    (void)task;
    rv_linear_job *j = ctx;
    rv_layernorm_rows(j->y + i0 * j->n, j->r + i0 * j->n, rows, j->n, j->g, j->beta, j->eps);
}

static rv_status rv_linear(const float *x, size_t T, const rv_gemm_packed *w, const float *b, float *y)
{
    return rv_gemm_nt_packed_into(x, T, w, b, y, w->n, NULL);
}

/* y = GELU(x w^T + b). */
static rv_status rv_linear_gelu(const float *x, size_t T, const rv_gemm_packed *w, const float *b, float *y)
{
    rv_linear_job j = {y, NULL, NULL, NULL, w->n, 0};
    rv_gemm_consumer c = {&j, NULL, rv_gelu_block, NULL};
    return rv_gemm_nt_packed_into(x, T, w, b, y, w->n, &c);
}

/* y = LayerNorm(x w^T + b + r; g, beta). y may not alias x or r. */
static rv_status rv_linear_ln(const float *x, size_t T, const rv_gemm_packed *w, const float *b, const float *r,
                              const float *g, const float *beta, double eps, float *y)
{
    rv_linear_job j = {y, r, g, beta, w->n, eps};
    rv_gemm_consumer c = {&j, NULL, NULL, rv_ln_end};
    return rv_gemm_nt_packed_into(x, T, w, b, y, w->n, &c);
}

typedef struct rv_rows_job {
    float *x;
    const float *r, *g, *b;
    size_t T, H;
    double eps;
} rv_rows_job;

#define RV_ROWS_PER_TASK 32

static void rv_rows_task(void *ctx, size_t task)
{
    rv_rows_job *j = ctx;
    size_t t0 = task * RV_ROWS_PER_TASK, n = rv_min(RV_ROWS_PER_TASK, j->T - t0);
    rv_layernorm_rows(j->x + t0 * j->H, j->r ? j->r + t0 * j->H : NULL, n, j->H, j->g, j->b, j->eps);
}

static void rv_rows(rv_rows_job *j)
{
    rv_parallel_for((j->T + RV_ROWS_PER_TASK - 1) / RV_ROWS_PER_TASK, rv_rows_task, j);
}

typedef struct rv_attn_job {
    const float *qkv; /* [T x 3H] */
    float *ctx;       /* [T x H] */
    const size_t *start, *len;
    size_t nseq, heads, H, dh;
    atomic_int failed; /* a task could not allocate its scratch */
} rv_attn_job;

/* One (sequence, head) as two small products on the GEMM micro-kernel: S = Q K^T (Q rows read in
 * place, a last partial group of 6 copied zero-padded; 16-row K panels; k = dh), the softmax of
 * S / sqrt(dh) row by row in place (the dispatched kernel), then P V (6 rows of P at a time,
 * 16-column V panels, k = T) written straight into ctx; only tiles cut by the last row group or
 * the last column panel go through a small tile. Any T and dh work. */
static void rv_attn_task(void *c, size_t task)
{
    rv_attn_job *j = c;
    const size_t s = task / j->heads, h = task % j->heads, T = j->len[s], H = j->H, H3 = 3 * H, dh = j->dh;
    const size_t Tm = rv_round_up(T, RV_GEMM_MR), Tn = rv_round_up(T, RV_GEMM_NR), Dn = rv_round_up(dh, RV_GEMM_NR);
    const size_t full = T / RV_GEMM_MR, nq = RV_GEMM_MR * dh, nk = Tn * dh, ns = Tm * Tn, nv = Dn * T;
    const float *q = j->qkv + j->start[s] * H3 + h * dh, *k = q + H, *v = q + 2 * H;
    float *ctx = j->ctx + j->start[s] * H + h * dh;
    /* one scratch block: Q tail, K panels, scores, V panels, an output tile (each 64-byte aligned) */
    const size_t oq = 0, ok = rv_round_up(nq, 16), os = ok + rv_round_up(nk, 16), ov = os + rv_round_up(ns, 16),
                 ot = ov + rv_round_up(nv, 16);
    float *mem = rv_alloc((ot + RV_GEMM_MR * RV_GEMM_NR) * sizeof(float));
    if (!mem) {
        j->failed = 1;
        return;
    }
    float *qt = mem + oq, *kb = mem + ok, *sc = mem + os, *vb = mem + ov, *tile = mem + ot;
    const rv_kernels *K = rv_kernels_get();
    const rv_nn_kernels *N = rv_nn_kernels_get();
    if (T % RV_GEMM_MR) {
        memset(qt, 0, nq * sizeof(float));
        for (size_t i = full * RV_GEMM_MR; i < T; i++)
            memcpy(qt + (i - full * RV_GEMM_MR) * dh, q + i * H3, dh * sizeof(float));
    }
    for (size_t p = 0; p < Tn / RV_GEMM_NR; p++) {
        size_t first = p * RV_GEMM_NR, rows = T > first ? rv_min(RV_GEMM_NR, T - first) : 0;
        K->pack_rows16(k + first * H3, H3, rows, dh, kb + p * RV_GEMM_NR * dh);
    }
    for (size_t p = 0; p < Tn / RV_GEMM_NR; p++)
        for (size_t ip = 0; ip < Tm / RV_GEMM_MR; ip++)
            K->gemm_micro(dh, ip < full ? q + ip * RV_GEMM_MR * H3 : qt, ip < full ? H3 : dh,
                          kb + p * RV_GEMM_NR * dh, sc + ip * RV_GEMM_MR * Tn + p * RV_GEMM_NR, Tn, rv_gemm_zero_init);
    /* rows >= T (zero Q rows) keep their zero scores: they only feed discarded output rows */
    const float scale = 1.0f / sqrtf((float)dh);
    for (size_t i = 0; i < T; i++)
        N->softmax(sc + i * Tn, T, scale);
    for (size_t p = 0; p < Dn / RV_GEMM_NR; p++) { /* vb[p][t][c] = V[t][16p + c] */
        const size_t w = rv_min(RV_GEMM_NR, dh - p * RV_GEMM_NR);
        for (size_t t = 0; t < T; t++) {
            float *dst = vb + (p * T + t) * RV_GEMM_NR;
            if (w == RV_GEMM_NR) { /* a fixed-size copy the compiler inlines */
                memcpy(dst, v + t * H3 + p * RV_GEMM_NR, RV_GEMM_NR * sizeof(float));
                continue;
            }
            memcpy(dst, v + t * H3 + p * RV_GEMM_NR, w * sizeof(float));
            memset(dst + w, 0, (RV_GEMM_NR - w) * sizeof(float));
        }
    }
    for (size_t p = 0; p < Dn / RV_GEMM_NR; p++) {
        const size_t w = rv_min(RV_GEMM_NR, dh - p * RV_GEMM_NR);
        for (size_t ip = 0; ip < Tm / RV_GEMM_MR; ip++) {
            float *out = ctx + ip * RV_GEMM_MR * H + p * RV_GEMM_NR;
            const bool direct = ip < full && w == RV_GEMM_NR;
            K->gemm_micro(T, sc + ip * RV_GEMM_MR * Tn, Tn, vb + p * RV_GEMM_NR * T, direct ? out : tile,
                          direct ? H : RV_GEMM_NR, rv_gemm_zero_init);
            for (size_t i = 0; !direct && i < rv_min(RV_GEMM_MR, T - ip * RV_GEMM_MR); i++)
                memcpy(out + i * H, tile + i * RV_GEMM_NR, w * sizeof(float));
        }
    }
    rv_free(mem);
}

/* Encodes nseq packed sequences (ids, per-sequence start/len) and writes pooled, normalised rows. */
static rv_status rv_forward(const rv_embedder *e, const int32_t *ids, const size_t *start, const size_t *len,
                            size_t nseq, size_t T, float *out)
{
    const size_t H = e->hidden, I = e->inter;
    float *x = rv_alloc(T * H * sizeof(float)), *qkv = rv_alloc(T * 3 * H * sizeof(float)),
          *ctx = rv_alloc(T * H * sizeof(float)), *a = rv_alloc(T * H * sizeof(float)),
          *f = rv_alloc(T * I * sizeof(float));
    rv_status s = x && qkv && ctx && a && f ? RV_OK : rv_fail(RV_ERR_NO_MEMORY, "out of memory for %zu tokens", T);
    if (s == RV_OK) {
        for (size_t q = 0; q < nseq; q++)
            for (size_t t = 0; t < len[q]; t++) {
                float *row = x + (start[q] + t) * H;
                const float *w = e->word + (size_t)ids[start[q] + t] * H, *p = e->pos + t * H;
                for (size_t i = 0; i < H; i++)
                    row[i] = (w[i] + p[i]) + e->type[i];
            }
        rv_rows_job ln = {x, NULL, e->emb_g, e->emb_b, T, H, e->eps};
        rv_rows(&ln);
    }
    for (size_t l = 0; l < e->layers && s == RV_OK; l++) {
        const rv_bert_layer *L = &e->layer[l];
        if ((s = rv_linear(x, T, &L->pqkv, L->bqkv, qkv)) != RV_OK)
            break;
        rv_attn_job aj = {qkv, ctx, start, len, nseq, e->heads, H, H / e->heads, 0};
        rv_parallel_for(nseq * e->heads, rv_attn_task, &aj);
        if (aj.failed) {
            s = rv_fail(RV_ERR_NO_MEMORY, "out of memory in attention over %zu tokens", T);
            break;
        }
        if ((s = rv_linear_ln(ctx, T, &L->po, L->bo, x, L->ln1_g, L->ln1_b, e->eps, a)) != RV_OK ||
            (s = rv_linear_gelu(a, T, &L->p1, L->b1, f)) != RV_OK ||
            (s = rv_linear_ln(f, T, &L->p2, L->b2, a, L->ln2_g, L->ln2_b, e->eps, x)) != RV_OK)
            break;
    }
    for (size_t q = 0; q < nseq && s == RV_OK; q++) {
        float *o = out + q * H;
        for (size_t i = 0; i < H; i++) {
            double sum = 0;
            for (size_t t = 0; t < len[q]; t++)
                sum += x[(start[q] + t) * H + i];
            o[i] = (float)(sum / (double)len[q]);
        }
        double nrm = 0;
        for (size_t i = 0; i < H; i++)
            nrm += (double)o[i] * o[i];
        nrm = sqrt(nrm);
        if (!(nrm > 0) || !isfinite(nrm)) {
            s = rv_fail(RV_ERR_MODEL, "the model produced a non-finite or zero embedding: are its weights valid?");
            break;
        }
        float inv = (float)(1.0 / (nrm > 1e-12 ? nrm : 1e-12));
        for (size_t i = 0; i < H; i++)
            o[i] *= inv;
    }
    rv_free(x);
    rv_free(qkv);
    rv_free(ctx);
    rv_free(a);
    rv_free(f);
    return s;
}

rv_status rv_embedder_embed(const rv_embedder *e, const char *const *texts, const size_t *lens, size_t n, float *out,
                            const rv_progress *progress)
{
    const size_t cap = e->max_seq;
    int32_t *ids = rv_alloc((RV_CHUNK_TOKENS + cap) * sizeof(int32_t));
    size_t *start = rv_alloc((RV_CHUNK_TOKENS / 2 + 1) * sizeof(size_t)),
           *len = rv_alloc((RV_CHUNK_TOKENS / 2 + 1) * sizeof(size_t));
    rv_status s = ids && start && len ? RV_OK : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    size_t done = 0;
    while (s == RV_OK && done < n) {
        size_t T = 0, m = 0;
        while (done + m < n && T + cap <= RV_CHUNK_TOKENS + cap && m < RV_CHUNK_TOKENS / 2) {
            if (T >= RV_CHUNK_TOKENS)
                break;
            size_t got = 0;
            if ((s = rv_tokenize(e->tok, texts[done + m], lens[done + m], cap, ids + T, &got)) != RV_OK)
                break;
            start[m] = T;
            len[m] = got;
            T += got;
            m++;
        }
        if (s == RV_OK)
            s = rv_forward(e, ids, start, len, m, T, out + done * e->hidden);
        done += m;
        if (s == RV_OK && progress && progress->fn && progress->fn(progress->ctx, NULL, done, n) != 0)
            s = rv_fail(RV_ERR_CANCELLED, "cancelled after %zu of %zu texts", done, n);
    }
    rv_free(ids);
    rv_free(start);
    rv_free(len);
    return s;
}
