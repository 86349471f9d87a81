/*
 * embed/text/tokenizer.h — the BERT-uncased WordPiece tokenizer, as the Hugging Face fast tokenizer
 * (BertTokenizerFast) runs it: special-token split, cleaning, CJK spacing, NFD + accent
 * stripping, lowercasing, whitespace/punctuation pre-tokenization, greedy longest-match
 * WordPiece with "##" continuations and [UNK] for unmatched words.
 */
#ifndef RV_EMBED_TOKENIZER_H
#define RV_EMBED_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "ruvector/status.h"

typedef struct rv_vocab rv_vocab;

/* Loads vocab.txt (UTF-8, one token per line, id = line number). Errors: IO, FORMAT, NO_MEMORY. */
rv_status rv_vocab_load(const char *path, rv_vocab **out);
void rv_vocab_free(rv_vocab *v);
size_t rv_vocab_size(const rv_vocab *v);
/* The id of a token, or -1. */
int32_t rv_vocab_id(const rv_vocab *v, const char *token, size_t len);

/* Tokenizes len bytes of UTF-8 (invalid sequences become U+FFFD, which cleaning drops) into
 * [CLS] pieces [SEP], keeping the first max_len - 2 pieces. ids must hold max_len entries.
 * Errors: INVALID_ARGUMENT (max_len < 2), NO_MEMORY. */
rv_status rv_tokenize(const rv_vocab *v, const char *text, size_t len, size_t max_len, int32_t *ids,
                      size_t *n_out);
/* How many ids rv_tokenize would give with no length limit ([CLS] and [SEP] included).
 * Errors: NO_MEMORY. */
rv_status rv_token_count(const rv_vocab *v, const char *text, size_t len, size_t *count);

#endif
