/*
 * ruvector/embed.h — embeddings in C. Text: a BERT encoder (all-MiniLM-L6-v2 and other BERT-base
 * shaped sentence-transformers) with the BERT-uncased WordPiece tokenizer, mean pooling and L2
 * normalisation (src/embed/text/). Model files are read by the shared safetensors parser and
 * fetched by rv_download (src/embed/).
 *
 * One handle type for every model kind: an rv_embedder carries its kind (rv_embedder_kind_of),
 * the calls below that name texts are for RV_EMBEDDER_TEXT models, and the image model
 * (src/embed/image/, to come) adds its own load and embed calls beside them while destroy, dim
 * and the kind stay shared. Considered: a separate rv_text_embedder type, rejected for now
 * because every existing caller (the Python glue) would change for no behaviour.
 *
 * Thread safety: a loaded embedder is immutable; rv_embedder_embed may run from any number of
 * threads at once. Work is spread over the process-wide pool.
 */
#ifndef RUVECTOR_EMBED_H
#define RUVECTOR_EMBED_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/base.h"
#include "ruvector/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rv_embedder rv_embedder;

/* What a loaded model embeds. */
typedef enum rv_embedder_kind { RV_EMBEDDER_TEXT = 1, RV_EMBEDDER_IMAGE = 2 } rv_embedder_kind;

/* Loads a model directory: model.safetensors and vocab.txt, plus config.json (hyperparameters;
 * all-MiniLM-L6-v2's when absent) and sentence_bert_config.json (max_seq_length; 256 when
 * absent). Every tensor offset and shape is validated. Errors: MODEL (a file missing, unreadable or
 * malformed; the message names it and why), NO_MEMORY. Free with rv_embedder_destroy. */
rv_status rv_embedder_load(const char *dir, rv_embedder **out);
void rv_embedder_destroy(rv_embedder *e);
/* The kind of model e holds (RV_EMBEDDER_TEXT for rv_embedder_load's). */
rv_embedder_kind rv_embedder_kind_of(const rv_embedder *e);
/* Output dimension (hidden size) and the token limit per text ([CLS] and [SEP] included). */
uint32_t rv_embedder_dim(const rv_embedder *e);
uint32_t rv_embedder_max_seq_length(const rv_embedder *e);

/* Tokenizes one UTF-8 text into at most cap ids ([CLS] ... [SEP], truncated to
 * min(cap, max_seq_length)). Errors: INVALID_ARGUMENT (cap < 2), NO_MEMORY. */
rv_status rv_embedder_tokenize(const rv_embedder *e, const char *text, size_t len, int32_t *ids, size_t cap,
                               size_t *n_out);
/* The number of tokens text has before truncation ([CLS] and [SEP] included): more than
 * max_seq_length means embed reads only the first max_seq_length. Errors: NO_MEMORY. */
rv_status rv_embedder_token_count(const rv_embedder *e, const char *text, size_t len, size_t *count);

/* Embeds n UTF-8 texts (lens[i] bytes each) into out (n x dim floats, L2-normalised rows).
 * Texts are packed without padding; each row depends only on its own text; a text of more than
 * max_seq_length tokens is truncated to its first max_seq_length (rv_embedder_token_count tells
 * which texts are). progress reports
 * texts done. Errors: NO_MEMORY, CANCELLED, MODEL (the weights gave a non-finite vector). */
rv_status rv_embedder_embed(const rv_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                            float *out, const rv_progress *progress);

/* Downloads url (http or https, TLS verified, ruvector/http.h's defaults) to path atomically,
 * verifying its SHA-256 (64 lowercase hex chars) before the rename. Errors: MODEL (network, HTTP
 * error status, file, or digest mismatch; the message names the URL), CANCELLED (progress asked
 * to stop), INVALID_ARGUMENT, NO_MEMORY. */
rv_status rv_download(const char *url, const char *sha256_hex, const char *path, const rv_progress *progress);

#ifdef __cplusplus
}
#endif

#endif
