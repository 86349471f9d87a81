/*
 * embed_type.c — ruvector._Embedder: the C text embedder (model resolution is Python's job, in
 * ruvector/_embed.py; this type loads a resolved directory).
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
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kw, &path_obj) || rv_py_path_get(st, path_obj, &bytes) < 0)
        return -1;
    rv_embedder *e = NULL;
    rv_status s;
    RV_NOGIL(s = rv_embedder_load(PyBytes_AS_STRING(bytes), &e););
    Py_DECREF(bytes);
    if (s != RV_OK) {
        PyErr_Format(st->EmbedError, "%s", rv_last_error());
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

static PyObject *rv_embed_common(PyObject *obj, PyObject *arg, int single)
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
    if (r == 0) {
        npy_intp dims[2] = {n, (npy_intp)rv_embedder_dim(self->e)};
        out = single ? PyArray_SimpleNew(1, dims + 1, NPY_FLOAT32) : PyArray_SimpleNew(2, dims, NPY_FLOAT32);
        if (out && n > 0) {
            rv_py_progress prog;
            rv_status s;
            if (rv_py_progress_init(st, NULL, "embedding", &prog) < 0) {
                Py_CLEAR(out);
            } else {
                float *dst = PyArray_DATA((PyArrayObject *)out);
                RV_NOGIL(s = rv_embedder_embed(self->e, ptrs, lens, (size_t)n, dst, &prog.c););
                rv_py_progress_done(&prog);
                if (s != RV_OK) {
                    Py_CLEAR(out);
                    if (!PyErr_Occurred())
                        PyErr_Format(s == RV_ERR_NO_MEMORY ? PyExc_MemoryError : st->EmbedError, "%s", rv_last_error());
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

static PyObject *rv_embed_one(PyObject *obj, PyObject *arg) { return rv_embed_common(obj, arg, 1); }
static PyObject *rv_embed_batch(PyObject *obj, PyObject *arg) { return rv_embed_common(obj, arg, 0); }

typedef struct rv_embed_task {
    rv_py_async base;
    const rv_embedder *e;
    size_t n;
    char **texts;
    size_t *lens;
    float *out;
    rv_status status;
    char msg[512];
} rv_embed_task;

static void rv_embed_task_run(rv_py_async *b)
{
    rv_embed_task *t = (rv_embed_task *)b;
    t->status = t->n ? rv_embedder_embed(t->e, (const char *const *)t->texts, t->lens, t->n, t->out, NULL) : RV_OK;
    if (t->status != RV_OK)
        snprintf(t->msg, sizeof t->msg, "%s", rv_last_error());
}

static PyObject *rv_embed_task_result(rv_module_state *st, rv_py_async *b)
{
    rv_embed_task *t = (rv_embed_task *)b;
    if (t->status != RV_OK) {
        PyErr_SetString(t->status == RV_ERR_NO_MEMORY ? PyExc_MemoryError : st->EmbedError, t->msg);
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

static PyObject *rv_embed_batch_async(PyObject *obj, PyObject *arg)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_embedder *self = (rv_py_embedder *)obj;
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

static PyObject *rv_tokenize_m(PyObject *obj, PyObject *arg)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_embedder *self = (rv_py_embedder *)obj;
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
    rv_status s = ids ? rv_embedder_tokenize(self->e, PyBytes_AS_STRING(b), (size_t)PyBytes_GET_SIZE(b), ids, cap, &n)
                      : RV_ERR_NO_MEMORY;
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
        PyErr_NoMemory();
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

static PyMethodDef rv_embedder_methods[] = {
    {"embed", rv_embed_one, METH_O, "embed(text: str) -> np.ndarray (dim,) float32, L2-normalised."},
    {"embed_batch", rv_embed_batch, METH_O,
     "embed_batch(texts: list[str]) -> np.ndarray (n, dim) float32; row i equals embed(texts[i])."},
    {"embed_batch_async", rv_embed_batch_async, METH_O,
     "embed_batch_async(texts: list[str]) -> asyncio.Future[np.ndarray]: embed_batch on the C pool."},
    {"tokenize", rv_tokenize_m, METH_O, "tokenize(text: str) -> list[int]: the token ids the model sees."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rv_embedder_getset[] = {
    {"dim", rv_dim_get, NULL, "Embedding dimension.", NULL},
    {"max_seq_length", rv_maxlen_get, NULL, "Tokens per text, [CLS] and [SEP] included; longer texts are truncated.",
     NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot rv_embedder_slots[] = {
    {Py_tp_doc, (void *)"The C text embedder (use ruvector.Embedder.from_pretrained)."},
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
    if (rv_py_progress_init(st, progress, "downloading", &prog) < 0) {
        Py_DECREF(bytes);
        return NULL;
    }
    rv_status s;
    RV_NOGIL(s = rv_download(url, sha, PyBytes_AS_STRING(bytes), &prog.c););
    rv_py_progress_done(&prog);
    Py_DECREF(bytes);
    if (s != RV_OK) {
        if (!PyErr_Occurred())
            PyErr_Format(st->EmbedError, "%s", rv_last_error());
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyMethodDef rv_embed_module_methods[] = {
    {"_download", rv_download_fn, METH_VARARGS, "_download(url, sha256, path, progress=None)"},
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
