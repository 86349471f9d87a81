/*
 * bundle.c — table.rulake.json, upstream format_version 2, read and written.
 *
 * Written by hand in upstream's field order with a 2-space indent (serde's to_string_pretty),
 * strings escaped by jansson; u64 fields printed exactly. Read with jansson after a size check
 * (64 KiB), each field type-checked and capped (4 KiB strings, 128-char witness), unknown fields
 * ignored, format_version > 2 rejected. jansson integers are int64: values of 2^63 and above are
 * refused with a clear message rather than rounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "base/atomic_file.h"
#include "lake/lake_internal.h"

void rv_bundle_clear(rv_bundle *b)
{
    rv_free(b->data_ref);
    rv_free(b->gen_text);
    rv_free(b->pii_policy);
    rv_free(b->lineage_id);
    rv_free(b->memory_class);
    rv_free(b->index_sha256);
    memset(b, 0, sizeof *b);
}

bool rv_bundle_verify(const rv_bundle *b)
{
    rv_generation g = {b->gen_opaque, b->gen_num, b->gen_text};
    char w[RV_WITNESS_HEX + 1];
    if (!b->data_ref || rv_witness(b->data_ref, b->dim, b->rotation_seed, b->rerank_factor, &g, w) != RV_OK)
        return false;
    return strcmp(w, b->witness) == 0;
}

/* ---- writing ---------------------------------------------------------------------------- */

typedef struct rv_textbuf {
    char *data;
    size_t len, cap;
    bool failed;
} rv_textbuf;

static void rv_tb_put(rv_textbuf *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = (t->len + n + 1) * 2;
        char *d = rv_alloc(cap);
        if (!d) {
            t->failed = true;
            return;
        }
        if (t->len)
            memcpy(d, t->data, t->len);
        rv_free(t->data);
        t->data = d;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void rv_tb_str(rv_textbuf *t, const char *s) { rv_tb_put(t, s, strlen(s)); }

static void rv_tb_json_string(rv_textbuf *t, const char *s)
{
    if (!s) {
        rv_tb_str(t, "null");
        return;
    }
    json_t *j = json_string(s);
    char *enc = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!enc) {
        t->failed = true;
        return;
    }
    rv_tb_str(t, enc);
    free(enc); /* jansson's allocation */
}

static void rv_tb_field(rv_textbuf *t, const char *name, bool first)
{
    rv_tb_str(t, first ? "{\n  \"" : ",\n  \"");
    rv_tb_str(t, name);
    rv_tb_str(t, "\": ");
}

static void rv_tb_u64(rv_textbuf *t, uint64_t v)
{
    char num[32];
    snprintf(num, sizeof num, "%" PRIu64, v);
    rv_tb_str(t, num);
}

rv_status rv_bundle_write_dir(const rv_bundle *b, const char *dir)
{
    if (!b->data_ref || (b->gen_opaque && !b->gen_text))
        return rv_fail(RV_ERR_INVALID_ARGUMENT, "bundle: data_ref and generation are required");
    rv_textbuf t = {0};
    rv_tb_field(&t, "format_version", true);
    rv_tb_u64(&t, 2);
    rv_tb_field(&t, "data_ref", false);
    rv_tb_json_string(&t, b->data_ref);
    rv_tb_field(&t, "dim", false);
    rv_tb_u64(&t, b->dim);
    rv_tb_field(&t, "rotation_seed", false);
    rv_tb_u64(&t, b->rotation_seed);
    rv_tb_field(&t, "rerank_factor", false);
    rv_tb_u64(&t, b->rerank_factor);
    rv_tb_field(&t, "generation", false);
    if (b->gen_opaque)
        rv_tb_json_string(&t, b->gen_text);
    else
        rv_tb_u64(&t, b->gen_num);
    rv_tb_field(&t, "rvf_witness", false);
    rv_tb_json_string(&t, b->witness);
    rv_tb_field(&t, "pii_policy", false);
    rv_tb_json_string(&t, b->pii_policy);
    rv_tb_field(&t, "lineage_id", false);
    rv_tb_json_string(&t, b->lineage_id);
    if (b->memory_class) {
        rv_tb_field(&t, "memory_class", false);
        rv_tb_json_string(&t, b->memory_class);
    }
    if (b->index_sha256) {
        rv_tb_field(&t, "index_sha256", false);
        rv_tb_json_string(&t, b->index_sha256);
    }
    rv_tb_str(&t, "\n}");
    if (t.failed) {
        rv_free(t.data);
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory writing a bundle");
    }
    rv_status st = rv_mkdirs(dir);
    char *path = st == RV_OK ? rv_path_join(dir, RV_BUNDLE_FILE) : NULL;
    if (st == RV_OK && !path)
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    rv_atomic_file f;
    if (st == RV_OK && (st = rv_atomic_file_open(&f, path)) == RV_OK) {
        if ((st = rv_atomic_file_write(&f, t.data, t.len)) == RV_OK)
            st = rv_atomic_file_commit(&f);
        else
            rv_atomic_file_abort(&f);
    }
    rv_free(path);
    rv_free(t.data);
    return st;
}

/* ---- reading ---------------------------------------------------------------------------- */

static rv_status rv_get_string(json_t *root, const char *name, bool required, size_t cap, char **out)
{
    json_t *v = json_object_get(root, name);
    if (!v || json_is_null(v)) {
        if (required)
            return rv_fail(RV_ERR_LAKE, "bundle: field '%s' is missing", name);
        return RV_OK;
    }
    if (!json_is_string(v))
        return rv_fail(RV_ERR_LAKE, "bundle: field '%s' must be a string", name);
    size_t len = json_string_length(v);
    if (len > cap)
        return rv_fail(RV_ERR_LAKE, "bundle: field '%s' is %zu bytes (cap %zu)", name, len, cap);
    if (memchr(json_string_value(v), '\0', len))
        return rv_fail(RV_ERR_LAKE, "bundle: field '%s' contains a NUL byte", name);
    if (!(*out = rv_strdup(json_string_value(v))))
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    return RV_OK;
}

static rv_status rv_get_u64(json_t *root, const char *name, uint64_t *out)
{
    json_t *v = json_object_get(root, name);
    if (!v)
        return rv_fail(RV_ERR_LAKE, "bundle: field '%s' is missing", name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return rv_fail(RV_ERR_LAKE, "bundle: field '%s' must be a non-negative integer", name);
    *out = (uint64_t)json_integer_value(v);
    return RV_OK;
}

rv_status rv_bundle_parse(const char *json, size_t len, rv_bundle *out)
{
    memset(out, 0, sizeof *out);
    if (len > RV_BUNDLE_MAX_BYTES)
        return rv_fail(RV_ERR_LAKE, "bundle is %zu bytes (cap %u)", len, RV_BUNDLE_MAX_BYTES);
    json_error_t err;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (strstr(err.text, "too big"))
            return rv_fail(RV_ERR_LAKE, "bundle: an integer is 2^63 or above, which ruvector does not "
                           "support (line %d)", err.line);
        return rv_fail(RV_ERR_LAKE, "bundle is not valid JSON: %s (line %d)", err.text, err.line);
    }
    rv_status st = RV_OK;
    uint64_t version = 0;
    char *witness = NULL;
    json_t *gen;
    if (!json_is_object(root)) {
        st = rv_fail(RV_ERR_LAKE, "bundle must be a JSON object");
        goto done;
    }
    if ((st = rv_get_u64(root, "format_version", &version)) != RV_OK)
        goto done;
    if (version > 2) {
        st = rv_fail(RV_ERR_LAKE, "bundle format_version %" PRIu64 " is newer than this ruvector "
                     "reads (2)", version);
        goto done;
    }
    out->format_version = (uint32_t)version;
    if ((st = rv_get_string(root, "data_ref", true, RV_BUNDLE_MAX_FIELD, &out->data_ref)) != RV_OK ||
        (st = rv_get_u64(root, "dim", &out->dim)) != RV_OK ||
        (st = rv_get_u64(root, "rotation_seed", &out->rotation_seed)) != RV_OK ||
        (st = rv_get_u64(root, "rerank_factor", &out->rerank_factor)) != RV_OK ||
        (st = rv_get_string(root, "rvf_witness", true, 128, &witness)) != RV_OK ||
        (st = rv_get_string(root, "pii_policy", false, RV_BUNDLE_MAX_FIELD, &out->pii_policy)) != RV_OK ||
        (st = rv_get_string(root, "lineage_id", false, RV_BUNDLE_MAX_FIELD, &out->lineage_id)) != RV_OK ||
        (st = rv_get_string(root, "memory_class", false, RV_BUNDLE_MAX_FIELD, &out->memory_class)) != RV_OK ||
        (st = rv_get_string(root, "index_sha256", false, 64, &out->index_sha256)) != RV_OK)
        goto done;
    gen = json_object_get(root, "generation");
    if (json_is_integer(gen) && json_integer_value(gen) >= 0) {
        out->gen_num = (uint64_t)json_integer_value(gen);
    } else if (json_is_string(gen) && json_string_length(gen) <= RV_BUNDLE_MAX_FIELD &&
               !memchr(json_string_value(gen), '\0', json_string_length(gen))) {
        out->gen_opaque = true;
        if (!(out->gen_text = rv_strdup(json_string_value(gen)))) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
    } else {
        st = rv_fail(RV_ERR_LAKE, "bundle: field 'generation' must be a non-negative integer or a string");
        goto done;
    }
    if (strlen(witness) > RV_WITNESS_HEX) { /* fits the 128-char cap but cannot be a witness */
        st = rv_fail(RV_ERR_WITNESS, "bundle witness '%.16s...' is %zu characters, not %u", witness,
                     strlen(witness), RV_WITNESS_HEX);
        goto done;
    }
    memcpy(out->witness, witness, strlen(witness) + 1);
done:
    rv_free(witness);
    json_decref(root);
    if (st != RV_OK)
        rv_bundle_clear(out);
    return st;
}

rv_status rv_bundle_read_dir(const char *dir, rv_bundle *out)
{
    memset(out, 0, sizeof *out);
    char *path = rv_path_join(dir, RV_BUNDLE_FILE);
    if (!path)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    FILE *f = fopen(path, "rb");
    if (!f) {
        rv_status st = rv_fail(RV_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
        rv_free(path);
        return st;
    }
    char *buf = rv_alloc(RV_BUNDLE_MAX_BYTES + 1);
    size_t len = buf ? fread(buf, 1, RV_BUNDLE_MAX_BYTES + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    rv_status st = RV_OK;
    if (!buf)
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    else if (bad)
        st = rv_fail(RV_ERR_IO, "cannot read '%s'", path);
    else if (len > RV_BUNDLE_MAX_BYTES)
        st = rv_fail(RV_ERR_LAKE, "'%s' is larger than %u bytes", path, RV_BUNDLE_MAX_BYTES);
    else if ((st = rv_bundle_parse(buf, len, out)) == RV_OK && !rv_bundle_verify(out)) {
        st = rv_fail(RV_ERR_WITNESS, "'%s': witness %s does not match its fields (data_ref '%s', "
                     "dim %" PRIu64 ")", path, out->witness, out->data_ref, out->dim);
        rv_bundle_clear(out);
    }
    rv_free(buf);
    rv_free(path);
    return st;
}
