/*
 * embed_type.c — ruvector._Embedder: the C text embedder (model resolution is Python's job, in
 * ruvector/_embed.py; this type loads a resolved directory).
 *
 * Core failures are raised through the common status table (errors.c): RV_ERR_MODEL is
 * EmbedError, NO_MEMORY MemoryError. EmbedError is raised directly only for what the glue itself
 * decides (an unloaded embedder, a text over max_seq_length with truncate=False).
 */
#include "module.h"

#include <stdio.h>
#include <string.h>

#define RV_MAX_BATCH 1000000 /* texts per call: bounds the output a mistaken call allocates */

typedef struct rv_py_embedder {
    PyObject_HEAD
    rv_embedder *e;
} rv_py_embedder;

static int rv_embedder_init(PyObject *obj, PyObject *args, PyObject *kwds)
{
    rv_module_state *st = rv_state_of(obj);
    static char *kw[] = {"path", NULL};
    PyObject *path_obj, *bytes = NULL;
    if (PyTuple_GET_SIZE(args) == 0 && (!kwds || !PyDict_GetItemString(kwds, "path"))) {
        PyErr_SetString(st->ArgumentTypeError,
                        "Embedder() needs a model: Embedder.from_pretrained(\"all-MiniLM-L6-v2\") loads one by name "
                        "(or from a directory), Embedder(path) loads a model directory");
        return -1;
    }
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kw, &path_obj) || rv_py_path_get(st, path_obj, &bytes) < 0)
        return -1;
    rv_embedder *e = NULL;
    rv_status s;
    RV_NOGIL(s = rv_embedder_load(PyBytes_AS_STRING(bytes), &e););
    Py_DECREF(bytes);
    if (s != RV_OK) {
        rv_py_raise(st, s);
        return -1;
    }
    rv_py_embedder *self = (rv_py_embedder *)obj;
    rv_embedder_destroy(self->e);
    self->e = e;
    return 0;
}

static void rv_embedder_dealloc(PyObject *obj)
{
    rv_py_embedder *self = (rv_py_embedder *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    rv_embedder_destroy(self->e);
    tp->tp_free(obj);
    Py_DECREF(tp);
}

static int rv_ready(rv_module_state *st, rv_py_embedder *self)
{
    if (!self->e) {
        PyErr_SetString(st->EmbedError, "the embedder is not loaded (use Embedder.from_pretrained)");
        return -1;
    }
    return 0;
}

/* texts: a str or a list/tuple of str. Fills UTF-8 pointers and lengths (borrowed from the str
 * objects held by *seq). */
static int rv_texts_get(rv_module_state *st, PyObject *arg, int single, PyObject **seq, PyObject **holders,
                        const char ***ptrs, size_t **lens, Py_ssize_t *n)
{
    if (!(*holders = PyList_New(0)))
        return -1;
    if (single) {
        if (!PyUnicode_Check(arg)) {
            PyErr_Format(st->ArgumentTypeError, "embed() takes a str, not %.100s (use embed_batch for several texts)",
                         Py_TYPE(arg)->tp_name);
            return -1;
        }
        *seq = PyTuple_Pack(1, arg);
    } else {
        if (PyUnicode_Check(arg) || PyBytes_Check(arg)) {
            PyErr_SetString(st->ArgumentTypeError, "embed_batch() takes a list of str, not a single str (use embed)");
            return -1;
        }
        *seq = PySequence_Fast(arg, "embed_batch() takes a list (or tuple) of str");
        if (!*seq) {
            PyObject *t, *v, *tb;
            PyErr_Fetch(&t, &v, &tb);
            Py_XDECREF(t);
            Py_XDECREF(v);
            Py_XDECREF(tb);
            PyErr_Format(st->ArgumentTypeError, "embed_batch() takes a list (or tuple) of str, not %.100s",
                         Py_TYPE(arg)->tp_name);
            return -1;
        }
    }
    if (!*seq)
        return -1;
    *n = PySequence_Fast_GET_SIZE(*seq);
    if (*n > RV_MAX_BATCH) {
        PyErr_Format(st->ArgumentError, "embed_batch() takes at most %d texts per call, got %zd; split the corpus",
                     RV_MAX_BATCH, *n);
        return -1;
    }
    *ptrs = PyMem_Calloc((size_t)*n + 1, sizeof(char *));
    *lens = PyMem_Calloc((size_t)*n + 1, sizeof(size_t));
    if (!*ptrs || !*lens) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < *n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(*seq, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(st->ArgumentTypeError, "texts[%zd] is %.100s, not str", i, Py_TYPE(s)->tp_name);
            return -1;
        }
        Py_ssize_t len;
        const char *u = PyUnicode_AsUTF8AndSize(s, &len);
        if (!u) { /* lone surrogates: pass their bytes through; the C decoder drops them as invalid */
            PyErr_Clear();
            PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
            if (!b || PyList_Append(*holders, b) < 0) {
                Py_XDECREF(b);
                return -1;
            }
            Py_DECREF(b);
            u = PyBytes_AS_STRING(b);
            len = PyBytes_GET_SIZE(b);
        }
        (*ptrs)[i] = u;
        (*lens)[i] = (size_t)len;
    }
    return 0;
}

/* truncate=False: the first text longer than the model reads, as (index, tokens); index n when
 * none is. Runs without the GIL. */
static rv_status rv_first_too_long(const rv_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                                   size_t *bad, size_t *tokens)
{
    size_t cap = rv_embedder_max_seq_length(e);
    *bad = n;
    *tokens = 0;
    for (size_t i = 0; i < n; i++) {
        size_t count;
        rv_status s = rv_embedder_token_count(e, texts[i], lens[i], &count);
        if (s != RV_OK)
            return s;
        if (count > cap) {
            *bad = i;
            *tokens = count;
            return RV_OK;
        }
    }
    return RV_OK;
}

static void rv_too_long_error(rv_module_state *st, const rv_embedder *e, int single, size_t bad, size_t tokens)
{
    unsigned cap = rv_embedder_max_seq_length(e);
    char where[48];
    if (single)
        snprintf(where, sizeof where, "text");
    else
        snprintf(where, sizeof where, "texts[%zu]", bad);
    PyErr_Format(st->EmbedError,
                 "%s has %zu tokens, more than the model reads (max_seq_length %u, [CLS] and [SEP] included); "
                 "split it, or pass truncate=True to embed its first %u tokens",
                 where, tokens, cap, cap);
}

/* A truthy/falsy keyword (absent: dflt); -1 with an exception for objects without a truth value. */
static int rv_flag(PyObject *obj, int dflt) { return obj ? PyObject_IsTrue(obj) : dflt; }

static PyObject *rv_embed_common(PyObject *obj, PyObject *arg, int single, PyObject *progress, int truncate)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_embedder *self = (rv_py_embedder *)obj;
    if (rv_ready(st, self) < 0)
        return NULL;
    PyObject *seq = NULL;
    const char **ptrs = NULL;
    size_t *lens = NULL;
    Py_ssize_t n = 0;
    PyObject *holders = NULL;
    int r = rv_texts_get(st, arg, single, &seq, &holders, &ptrs, &lens, &n);
    PyObject *out = NULL;
    rv_py_progress prog = {0};
    if (r == 0 && !truncate) {
        size_t bad = 0, tokens = 0;
        rv_status s;
        RV_NOGIL(s = rv_first_too_long(self->e, ptrs, lens, (size_t)n, &bad, &tokens););
        if (s != RV_OK) {
            rv_py_raise(st, s);
            r = -1;
        } else if (bad < (size_t)n) {
            rv_too_long_error(st, self->e, single, bad, tokens);
            r = -1;
        }
    }
    if (r == 0) {
        npy_intp dims[2] = {n, (npy_intp)rv_embedder_dim(self->e)};
        out = single ? PyArray_SimpleNew(1, dims + 1, NPY_FLOAT32) : PyArray_SimpleNew(2, dims, NPY_FLOAT32);
        if (out && n > 0) {
            rv_status s;
            if (rv_py_progress_init(st, progress, "embed", &prog) < 0) {
                Py_CLEAR(out);
            } else {
                float *dst = PyArray_DATA((PyArrayObject *)out);
                RV_NOGIL(s = rv_embedder_embed(self->e, ptrs, lens, (size_t)n, dst, &prog.c););
                rv_py_progress_done(&prog);
                if (s != RV_OK) {
                    Py_CLEAR(out);
                    rv_py_raise(st, s); /* keeps an exception a progress callback raised */
                }
            }
        }
    }
    Py_XDECREF(holders);
    PyMem_Free(ptrs);
    PyMem_Free(lens);
    Py_XDECREF(seq);
    return out;
}

static PyObject *rv_embed_one(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"text", "truncate", NULL};
    PyObject *a[2];
    int truncate;
    if (rv_py_parse(rv_state_of(obj), "embed", args, nargs, kwnames, names, 1, 1, a) < 0 ||
        (truncate = rv_flag(a[1], 1)) < 0)
        return NULL;
    return rv_embed_common(obj, a[0], 1, NULL, truncate);
}

static PyObject *rv_embed_batch(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"texts", "progress", "truncate", NULL};
    PyObject *a[3];
    int truncate;
    if (rv_py_parse(rv_state_of(obj), "embed_batch", args, nargs, kwnames, names, 1, 1, a) < 0 ||
        (truncate = rv_flag(a[2], 1)) < 0)
        return NULL;
    return rv_embed_common(obj, a[0], 0, a[1], truncate);
}

typedef struct rv_embed_task {
    rv_py_async base;
    const rv_embedder *e;
    size_t n;
    char **texts;
    size_t *lens;
    float *out;
    int truncate;
    size_t bad, bad_tokens; /* truncate=False: the first text too long (bad == n: none) */
    rv_status status;
    char msg[512];
} rv_embed_task;

static void rv_embed_task_run(rv_py_async *b)
{
    rv_embed_task *t = (rv_embed_task *)b;
    const char *const *texts = (const char *const *)t->texts;
    t->bad = t->n;
    t->status = t->truncate ? RV_OK : rv_first_too_long(t->e, texts, t->lens, t->n, &t->bad, &t->bad_tokens);
    if (t->status == RV_OK && t->bad == t->n && t->n)
        t->status = rv_embedder_embed(t->e, texts, t->lens, t->n, t->out, NULL);
    if (t->status != RV_OK)
        snprintf(t->msg, sizeof t->msg, "%s", rv_last_error());
}

static PyObject *rv_embed_task_result(rv_module_state *st, rv_py_async *b)
{
    rv_embed_task *t = (rv_embed_task *)b;
    if (t->status == RV_OK && t->bad < t->n) {
        rv_too_long_error(st, t->e, 0, t->bad, t->bad_tokens);
        return NULL;
    }
    if (t->status != RV_OK) {
        PyErr_SetString(rv_py_exc_class(st, t->status), t->msg); /* the worker thread's message */
        return NULL;
    }
    npy_intp dims[2] = {(npy_intp)t->n, (npy_intp)rv_embedder_dim(t->e)};
    PyObject *arr = PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    if (arr && t->n)
        memcpy(PyArray_DATA((PyArrayObject *)arr), t->out, t->n * (size_t)dims[1] * sizeof(float));
    return arr;
}

static void rv_embed_task_free(rv_py_async *b)
{
    rv_embed_task *t = (rv_embed_task *)b;
    for (size_t i = 0; t->texts && i < t->n; i++)
        PyMem_RawFree(t->texts[i]);
    PyMem_RawFree(t->texts);
    PyMem_RawFree(t->lens);
    PyMem_RawFree(t->out);
    PyMem_RawFree(t);
}

static PyObject *rv_embed_batch_async(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_embedder *self = (rv_py_embedder *)obj;
    static const char *const names[] = {"texts", "truncate", NULL};
    PyObject *a[2];
    int truncate;
    if (rv_py_parse(st, "embed_batch_async", args, nargs, kwnames, names, 1, 1, a) < 0 ||
        (truncate = rv_flag(a[1], 1)) < 0)
        return NULL;
    PyObject *arg = a[0];
    if (rv_ready(st, self) < 0)
        return NULL;
    if (PyUnicode_Check(arg) || PyBytes_Check(arg)) {
        PyErr_SetString(st->ArgumentTypeError, "embed_batch_async() takes a list of str, not a single str");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(arg, "embed_batch_async() takes a list (or tuple) of str");
    if (!seq)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (n > RV_MAX_BATCH) {
        Py_DECREF(seq);
        PyErr_Format(st->ArgumentError, "embed_batch_async() takes at most %d texts per call, got %zd", RV_MAX_BATCH, n);
        return NULL;
    }
    rv_embed_task *t = PyMem_RawCalloc(1, sizeof *t);
    if (!t) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    t->base.run = rv_embed_task_run;
    t->base.result = rv_embed_task_result;
    t->base.free = rv_embed_task_free;
    t->e = self->e;
    t->truncate = truncate;
    t->texts = PyMem_RawCalloc((size_t)n + 1, sizeof(char *));
    t->lens = PyMem_RawCalloc((size_t)n + 1, sizeof(size_t));
    t->out = PyMem_RawMalloc(((size_t)n + 1) * rv_embedder_dim(self->e) * sizeof(float));
    int bad = !t->texts || !t->lens || !t->out;
    if (bad)
        PyErr_NoMemory();
    for (Py_ssize_t i = 0; !bad && i < n; i++) {
        PyObject *s = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(s)) {
            PyErr_Format(st->ArgumentTypeError, "texts[%zd] is %.100s, not str", i, Py_TYPE(s)->tp_name);
            bad = 1;
            break;
        }
        PyObject *b = PyUnicode_AsEncodedString(s, "utf-8", "surrogatepass");
        if (!b || !(t->texts[i] = PyMem_RawMalloc((size_t)PyBytes_GET_SIZE(b) + 1))) {
            Py_XDECREF(b);
            if (!PyErr_Occurred())
                PyErr_NoMemory();
            bad = 1;
            break;
        }
        memcpy(t->texts[i], PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b) + 1);
        t->lens[i] = (size_t)PyBytes_GET_SIZE(b);
        t->n = (size_t)i + 1;
        Py_DECREF(b);
    }
    Py_DECREF(seq);
    if (bad) {
        rv_embed_task_free(&t->base);
        return NULL;
    }
    return rv_py_async_submit(st, obj, &t->base);
}

static PyObject *rv_tokenize_m(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_embedder *self = (rv_py_embedder *)obj;
    static const char *const names[] = {"text", NULL};
    PyObject *arg;
    if (rv_py_parse(st, "tokenize", args, nargs, kwnames, names, 1, 1, &arg) < 0)
        return NULL;
    if (rv_ready(st, self) < 0)
        return NULL;
    if (!PyUnicode_Check(arg)) {
        PyErr_Format(st->ArgumentTypeError, "tokenize() takes a str, not %.100s", Py_TYPE(arg)->tp_name);
        return NULL;
    }
    PyObject *b = PyUnicode_AsEncodedString(arg, "utf-8", "surrogatepass");
    if (!b)
        return NULL;
    size_t cap = rv_embedder_max_seq_length(self->e), n = 0;
    int32_t *ids = PyMem_Malloc(cap * sizeof(int32_t));
    if (!ids) {
        Py_DECREF(b);
        return PyErr_NoMemory();
    }
    rv_status s = rv_embedder_tokenize(self->e, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b), ids, cap, &n);
    Py_DECREF(b);
    PyObject *list = NULL;
    if (s == RV_OK) {
        list = PyList_New((Py_ssize_t)n);
        for (size_t i = 0; list && i < n; i++) {
            PyObject *v = PyLong_FromLong(ids[i]);
            if (!v)
                Py_CLEAR(list);
            else
                PyList_SET_ITEM(list, (Py_ssize_t)i, v);
        }
    } else {
        rv_py_raise(st, s);
    }
    PyMem_Free(ids);
    return list;
}

static PyObject *rv_dim_get(PyObject *obj, void *c)
{
    (void)c;
    rv_py_embedder *self = (rv_py_embedder *)obj;
    return self->e ? PyLong_FromUnsignedLong(rv_embedder_dim(self->e)) : PyLong_FromLong(0);
}

static PyObject *rv_maxlen_get(PyObject *obj, void *c)
{
    (void)c;
    rv_py_embedder *self = (rv_py_embedder *)obj;
    return self->e ? PyLong_FromUnsignedLong(rv_embedder_max_seq_length(self->e)) : PyLong_FromLong(0);
}

#define RV_EMETH (METH_FASTCALL | METH_KEYWORDS)

/* Docstrings open with text signatures (help(), inspect.signature, Jupyter's `?`). */
static PyMethodDef rv_embedder_methods[] = {
    {"embed", (PyCFunction)(void (*)(void))rv_embed_one, RV_EMETH,
     "embed($self, /, text, *, truncate=True)\n--\n\n"
     "The embedding of one str: a (dim,) float32 array, L2-normalised.\n\n"
     "The model reads at most max_seq_length tokens (256 for all-MiniLM-L6-v2, [CLS] and [SEP]\n"
     "included): a longer text is truncated to its first max_seq_length tokens, silently by\n"
     "default. truncate=False raises EmbedError naming the text's token count instead."},
    {"embed_batch", (PyCFunction)(void (*)(void))rv_embed_batch, RV_EMETH,
     "embed_batch($self, /, texts, *, progress=None, truncate=True)\n--\n\n"
     "The embeddings of a list (or tuple) of str: an (n, dim) float32 array.\n\n"
     "Row i is bit-identical to embed(texts[i]) (texts are packed without padding). Texts longer\n"
     "than max_seq_length tokens are truncated; truncate=False raises EmbedError naming the first\n"
     "such text's index and token count. progress: True for a bar on stderr (tqdm when\n"
     "installed), or a callable(done, total) counting texts. Releases the GIL."},
    {"embed_batch_async", (PyCFunction)(void (*)(void))rv_embed_batch_async, RV_EMETH,
     "embed_batch_async($self, /, texts, *, truncate=True)\n--\n\n"
     "embed_batch on the C worker pool: an asyncio future of the (n, dim) float32 array.\n\n"
     "Needs a running event loop; truncate as for embed_batch."},
    {"tokenize", (PyCFunction)(void (*)(void))rv_tokenize_m, RV_EMETH,
     "tokenize($self, /, text)\n--\n\n"
     "The token ids the model sees for text: [CLS] ... [SEP], at most max_seq_length of them."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rv_embedder_getset[] = {
    {"dim", rv_dim_get, NULL, "Embedding dimension.", NULL},
    {"max_seq_length", rv_maxlen_get, NULL,
     "Tokens the model reads per text, [CLS] and [SEP] included; longer texts are truncated "
     "(embed(..., truncate=False) raises instead).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot rv_embedder_slots[] = {
    {Py_tp_doc, (void *)"_Embedder(path)\n--\n\nThe C text embedder of a model directory (use "
                        "ruvector.Embedder.from_pretrained)."},
    {Py_tp_new, PyType_GenericNew}, {Py_tp_init, rv_embedder_init}, {Py_tp_dealloc, rv_embedder_dealloc},
    {Py_tp_methods, rv_embedder_methods}, {Py_tp_getset, rv_embedder_getset}, {0, NULL},
};

static PyType_Spec rv_embedder_spec = {"ruvector._Embedder", sizeof(rv_py_embedder), 0,
                                       Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, rv_embedder_slots};

static PyObject *rv_download_fn(PyObject *module, PyObject *args)
{
    rv_module_state *st = PyModule_GetState(module);
    const char *url, *sha;
    PyObject *path_obj, *bytes = NULL, *progress = Py_None;
    if (!PyArg_ParseTuple(args, "ssO|O", &url, &sha, &path_obj, &progress) || rv_py_path_get(st, path_obj, &bytes) < 0)
        return NULL;
    rv_py_progress prog;
    if (rv_py_progress_init(st, progress, "download", &prog) < 0) {
        Py_DECREF(bytes);
        return NULL;
    }
    rv_status s;
    RV_NOGIL(s = rv_download(url, sha, PyBytes_AS_STRING(bytes), &prog.c););
    rv_py_progress_done(&prog);
    Py_DECREF(bytes);
    if (s != RV_OK)
        return rv_py_raise(st, s); /* keeps an exception a progress callback raised */
    Py_RETURN_NONE;
}

static PyMethodDef rv_embed_module_methods[] = {
    {"_download", rv_download_fn, METH_VARARGS,
     "_download($module, url, sha256, path, progress=None, /)\n--\n\n"
     "Downloads url to path atomically, verifying its SHA-256 (used by Embedder.from_pretrained)."},
    {NULL, NULL, 0, NULL},
};

int rv_py_embed_types_init(PyObject *module, rv_module_state *st)
{
    if (PyModule_AddFunctions(module, rv_embed_module_methods) < 0)
        return -1;
    PyObject *t = PyType_FromModuleAndSpec(module, &rv_embedder_spec, NULL);
    if (!t)
        return -1;
    int r = PyModule_AddObjectRef(module, "_Embedder", t);
    Py_DECREF(t);
    (void)st;
    return r;
}
