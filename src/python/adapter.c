/*
 * adapter.c — a Python BackendAdapter as a C backend.
 *
 * The lake calls backend callbacks from whatever thread runs the search (the caller with the
 * GIL released, or a pool worker for *_async and federated fan-out), never under a lake lock.
 * Each callback takes the GIL (PyGILState_Ensure — the one GIL re-entry point of RuLake), calls
 * the adapter, converts the result into C memory, and releases it. A Python exception becomes
 * RV_ERR_BACKEND with a message naming the backend, the method and the exception; the exception
 * itself is kept (a few per adapter, GIL-guarded) under that message, so the thread that raises
 * the BackendError — often not the one that called the adapter — can chain it as __cause__.
 */
#include "module.h"

#include <string.h>

#define RV_ADAPTER_CAUSES 8

typedef struct rv_py_adapter {
    PyObject *obj; /* strong */
    char name[256];
    /* the last exceptions the adapter raised and the messages they became (GIL held) */
    PyObject *cause[RV_ADAPTER_CAUSES];
    char *cause_msg[RV_ADAPTER_CAUSES];
    unsigned next_cause;
} rv_py_adapter;

static const rv_backend_ops rv_adapter_ops;

/* Keeps exc (a new reference, stolen) under msg, replacing the oldest. GIL held. */
static void rv_adapter_keep_cause(rv_py_adapter *a, PyObject *exc, const char *msg)
{
    unsigned slot = a->next_cause++ % RV_ADAPTER_CAUSES;
    Py_XDECREF(a->cause[slot]);
    PyMem_Free(a->cause_msg[slot]);
    size_t n = strlen(msg) + 1;
    a->cause_msg[slot] = PyMem_Malloc(n);
    if (!a->cause_msg[slot]) {
        a->cause[slot] = NULL;
        Py_DECREF(exc);
        return;
    }
    memcpy(a->cause_msg[slot], msg, n);
    a->cause[slot] = exc;
}

PyObject *rv_py_adapter_take_cause(rv_backend *b, const char *message)
{
    rv_py_adapter *a = b ? rv_backend_impl(b, &rv_adapter_ops) : NULL;
    const char *at = a ? strstr(message, "backend '") : NULL; /* where our text starts */
    size_t have = at ? strlen(at) : 0;
    for (unsigned i = 0; at && i < RV_ADAPTER_CAUSES; i++) {
        unsigned slot = (a->next_cause - 1 - i) % RV_ADAPTER_CAUSES; /* newest first */
        const char *m = a->cause_msg[slot];
        size_t len = m ? strlen(m) : 0;
        /* the message may have been cut to a buffer on its way: a prefix of ours matches */
        if (a->cause[slot] && have >= (len < 64 ? len : 64) && strncmp(at, m, have < len ? have : len) == 0) {
            PyObject *exc = a->cause[slot];
            a->cause[slot] = NULL;
            PyMem_Free(a->cause_msg[slot]);
            a->cause_msg[slot] = NULL;
            return exc;
        }
    }
    return NULL;
}

/* Turns the pending Python exception into a BACKEND status with a message. GIL held. */
static rv_status rv_adapter_fail(rv_py_adapter *a, const char *method, const char *collection)
{
    PyObject *type, *exc, *tb;
    PyErr_Fetch(&type, &exc, &tb);
    PyErr_NormalizeException(&type, &exc, &tb);
    PyObject *text = exc ? PyObject_Str(exc) : NULL;
    const char *msg = text ? PyUnicode_AsUTF8(text) : NULL;
    if (!msg)
        PyErr_Clear();
    rv_status st = rv_fail(RV_ERR_BACKEND, "backend '%s': %s('%s') raised %s: %s", a->name, method, collection,
                           exc ? Py_TYPE(exc)->tp_name : "an error", msg ? msg : "?");
    Py_XDECREF(text);
    if (exc && tb)
        PyException_SetTraceback(exc, tb);
    if (exc)
        rv_adapter_keep_cause(a, Py_NewRef(exc), rv_last_error());
    Py_XDECREF(type);
    Py_XDECREF(exc);
    Py_XDECREF(tb);
    return st;
}

static char *rv_adapter_strdup(const char *s, size_t n)
{
    char *d = rv_lake_alloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static rv_status rv_adapter_ident(void *self, const char *collection, rv_ident *out)
{
    rv_py_adapter *a = self;
    rv_status st = RV_OK;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *gen = PyObject_CallMethod(a->obj, "generation", "s", collection);
    PyObject *dim = gen ? PyObject_CallMethod(a->obj, "dim", "s", collection) : NULL, *ref = NULL;
    if (!gen || !dim) {
        st = rv_adapter_fail(a, gen ? "dim" : "generation", collection);
        goto done;
    }
    if (PyLong_Check(gen) && !PyBool_Check(gen)) {
        unsigned long long v = PyLong_AsUnsignedLongLong(gen);
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            st = rv_fail(RV_ERR_BACKEND, "backend '%s': generation('%s') must be an int in 0..2**64-1 or a str",
                         a->name, collection);
            goto done;
        }
        out->num = v;
    } else if (PyUnicode_Check(gen)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(gen, &n);
        if (!s || (size_t)n != strlen(s) || n > 4096) {
            PyErr_Clear();
            st = rv_fail(RV_ERR_BACKEND, "backend '%s': generation('%s') must be a str of at most 4096 bytes "
                         "without NUL", a->name, collection);
            goto done;
        }
        out->opaque = true;
        if (!(out->text = rv_adapter_strdup(s, (size_t)n))) {
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
            goto done;
        }
    } else {
        st = rv_fail(RV_ERR_BACKEND, "backend '%s': generation('%s') returned %.100s; it must return an int or "
                     "a str", a->name, collection, Py_TYPE(gen)->tp_name);
        goto done;
    }
    if (dim != Py_None) {
        long d = PyLong_Check(dim) ? PyLong_AsLong(dim) : -1;
        if (d < 1 || d > (long)RV_LAKE_MAX_DIM) {
            PyErr_Clear();
            st = rv_fail(RV_ERR_BACKEND, "backend '%s': dim('%s') must return None or an int in 1..%u", a->name,
                         collection, RV_LAKE_MAX_DIM);
            goto done;
        }
        out->dim = (uint32_t)d;
    }
    ref = PyObject_CallMethod(a->obj, "data_ref", "s", collection);
    if (!ref) {
        st = rv_adapter_fail(a, "data_ref", collection);
        goto done;
    }
    if (ref != Py_None) {
        Py_ssize_t n;
        const char *s = PyUnicode_Check(ref) ? PyUnicode_AsUTF8AndSize(ref, &n) : NULL;
        if (!s || (size_t)n != strlen(s) || n == 0 || n > 4096) {
            PyErr_Clear();
            st = rv_fail(RV_ERR_BACKEND, "backend '%s': data_ref('%s') must return None or a non-empty str of "
                         "at most 4096 bytes", a->name, collection);
            goto done;
        }
        if (!(out->data_ref = rv_adapter_strdup(s, (size_t)n)))
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
        goto done;
    }
    size_t len = strlen(a->name) + strlen(collection) + 4;
    out->data_ref = rv_lake_alloc(len);
    if (!out->data_ref)
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    else
        snprintf(out->data_ref, len, "%s://%s", a->name, collection);
done:
    Py_XDECREF(gen);
    Py_XDECREF(dim);
    Py_XDECREF(ref);
    PyGILState_Release(g);
    return st;
}

static rv_status rv_adapter_pull(void *self, const char *collection, rv_pulled *out)
{
    rv_py_adapter *a = self;
    rv_status st = RV_OK;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *res = PyObject_CallMethod(a->obj, "pull", "s", collection), *ids = NULL, *vecs = NULL;
    if (!res) {
        st = rv_adapter_fail(a, "pull", collection);
        goto done;
    }
    if (!PyTuple_Check(res) || PyTuple_GET_SIZE(res) != 2) {
        st = rv_fail(RV_ERR_BACKEND, "backend '%s': pull('%s') must return a tuple (ids, vectors)", a->name,
                     collection);
        goto done;
    }
    ids = PyArray_FROMANY(PyTuple_GET_ITEM(res, 0), NPY_INT64, 1, 1, NPY_ARRAY_CARRAY);
    vecs = ids ? PyArray_FROMANY(PyTuple_GET_ITEM(res, 1), NPY_FLOAT32, 2, 2, NPY_ARRAY_CARRAY | NPY_ARRAY_FORCECAST)
               : NULL;
    if (!ids || !vecs) {
        st = rv_adapter_fail(a, "pull", collection);
        goto done;
    }
    npy_intp n = PyArray_DIM((PyArrayObject *)ids, 0), rows = PyArray_DIM((PyArrayObject *)vecs, 0),
             d = PyArray_DIM((PyArrayObject *)vecs, 1);
    if (n != rows) {
        st = rv_fail(RV_ERR_BACKEND, "backend '%s': pull('%s') returned %lld ids but %lld vectors", a->name,
                     collection, (long long)n, (long long)rows);
        goto done;
    }
    if (d < 1 || d > (npy_intp)RV_LAKE_MAX_DIM || n > (npy_intp)RV_LAKE_MAX_VECTORS) {
        st = rv_fail(RV_ERR_BACKEND, "backend '%s': pull('%s') returned %lld vectors of dim %lld (caps: %u "
                     "vectors, dim 1..%u)", a->name, collection, (long long)n, (long long)d,
                     RV_LAKE_MAX_VECTORS, RV_LAKE_MAX_DIM);
        goto done;
    }
    out->ids = rv_lake_alloc((size_t)(n ? n : 1) * sizeof(int64_t));
    out->vectors = rv_lake_alloc((size_t)(n ? n : 1) * (size_t)d * sizeof(float));
    if (!out->ids || !out->vectors) {
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory pulling %lld vectors", (long long)n);
        goto done;
    }
    memcpy(out->ids, PyArray_DATA((PyArrayObject *)ids), (size_t)n * sizeof(int64_t));
    memcpy(out->vectors, PyArray_DATA((PyArrayObject *)vecs), (size_t)n * (size_t)d * sizeof(float));
    out->n = (size_t)n;
    out->dim = (uint32_t)d;
done:
    Py_XDECREF(res);
    Py_XDECREF(ids);
    Py_XDECREF(vecs);
    PyGILState_Release(g);
    return st; /* on failure the caller clears *out */
}

/* The adapter's collections as a new list of str, or NULL with status set. GIL held. */
static PyObject *rv_adapter_names(rv_py_adapter *a, rv_status *st)
{
    PyObject *res = PyObject_CallMethod(a->obj, "list_collections", NULL);
    PyObject *list = res ? PySequence_List(res) : NULL;
    Py_XDECREF(res);
    if (!list) {
        *st = rv_adapter_fail(a, "list_collections", "");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++)
        if (!PyUnicode_Check(PyList_GET_ITEM(list, i))) {
            *st = rv_fail(RV_ERR_BACKEND, "backend '%s': list_collections() must return str names", a->name);
            Py_DECREF(list);
            return NULL;
        }
    *st = RV_OK;
    return list;
}

static rv_status rv_adapter_holds(void *self, const char *collection, bool *out)
{
    rv_py_adapter *a = self;
    rv_status st;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *list = rv_adapter_names(a, &st), *key = list ? PyUnicode_FromString(collection) : NULL;
    if (list && key) {
        int r = PySequence_Contains(list, key);
        *out = r == 1;
        if (r < 0)
            st = rv_adapter_fail(a, "list_collections", collection);
    } else if (list) {
        PyErr_Clear();
        st = rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    Py_XDECREF(key);
    Py_XDECREF(list);
    PyGILState_Release(g);
    return st;
}

static rv_status rv_adapter_list(void *self, char ***names, size_t *count)
{
    rv_py_adapter *a = self;
    rv_status st;
    PyGILState_STATE g = PyGILState_Ensure();
    PyObject *list = rv_adapter_names(a, &st);
    if (list) {
        Py_ssize_t n = PyList_GET_SIZE(list);
        char **out = rv_lake_alloc((size_t)(n + 1) * sizeof(char *));
        Py_ssize_t got = 0;
        for (; out && got < n; got++) {
            Py_ssize_t len;
            const char *s = PyUnicode_AsUTF8AndSize(PyList_GET_ITEM(list, got), &len);
            if (!s || !(out[got] = rv_adapter_strdup(s, (size_t)len)))
                break;
        }
        if (!out || got < n) {
            PyErr_Clear();
            if (out)
                rv_lake_free_names(out, (size_t)got);
            st = rv_fail(RV_ERR_NO_MEMORY, "out of memory listing collections");
        } else {
            *names = out;
            *count = (size_t)n;
        }
        Py_DECREF(list);
    }
    PyGILState_Release(g);
    return st;
}

static void rv_adapter_destroy(void *self)
{
    rv_py_adapter *a = self;
    if (!a)
        return;
    if (!Py_IsInitialized()) { /* at exit: the interpreter already freed the object's world */
        rv_lake_free(a);
        return;
    }
    PyGILState_STATE g = PyGILState_Ensure();
    Py_XDECREF(a->obj);
    for (unsigned i = 0; i < RV_ADAPTER_CAUSES; i++) {
        Py_XDECREF(a->cause[i]);
        PyMem_Free(a->cause_msg[i]);
    }
    PyGILState_Release(g);
    rv_lake_free(a);
}

static const rv_backend_ops rv_adapter_ops = {rv_adapter_ident, rv_adapter_pull, rv_adapter_holds, rv_adapter_list,
                                              rv_adapter_destroy, NULL /* changes: cannot say */};

rv_status rv_py_adapter_backend_new(PyObject *adapter, const char *name, rv_backend **out)
{
    rv_py_adapter *a = rv_lake_alloc(sizeof *a);
    if (!a)
        return rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    memset(a, 0, sizeof *a);
    snprintf(a->name, sizeof a->name, "%s", name);
    a->obj = Py_NewRef(adapter);
    return rv_backend_new(name, &rv_adapter_ops, a, out); /* destroys a on failure */
}
