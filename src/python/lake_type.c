/*
 * lake_type.c — ruvector.RuLake (its C base _RuLake), the session, LocalBackend and FsBackend.
 *
 * Every search is described by one rv_lake_call: parsed from the arguments, run by the core
 * with the GIL released (sync) or on a pool worker (async), then turned into Python objects.
 * Async methods create an asyncio future on the running loop, queue the call on the C pool
 * (rv_pool_submit: no executor, no thread per call) with copies of the query and names, and the
 * worker queues the finished call and wakes the loop through an eventfd the loop watches
 * (add_reader), without ever taking the GIL; the loop resolves queued futures in batches,
 * dropping results of cancelled futures.
 */
#include "module.h"

#include <string.h>
#include <structmember.h>

typedef struct rv_py_backend {
    PyObject_HEAD
    rv_backend *b;
    int is_fs;
    PyObject *root; /* FsBackend: the root as given */
} rv_py_backend;

typedef struct rv_py_lake {
    PyObject_HEAD
    rv_lake *lake;
    PyObject *weakrefs;
} rv_py_lake;

typedef struct rv_py_session {
    PyObject_HEAD
    rv_py_lake *owner; /* strong */
    rv_lake_session *s; /* NULL once closed */
} rv_py_session;

PyObject *rv_py_lake_attr(rv_module_state *st, const char *name)
{
    if (!st->lake_py && !(st->lake_py = PyImport_ImportModule("ruvector._lake")))
        return NULL;
    PyObject *v = PyObject_GetAttrString(st->lake_py, name);
    if (v)
        Py_DECREF(v); /* the module keeps it alive */
    return v;
}

int rv_py_str_get(rv_module_state *st, PyObject *obj, const char *what, const char **out)
{
    if (!obj || !PyUnicode_Check(obj)) {
        PyErr_Format(st->ArgumentTypeError, "%s must be a str, not %.100s", what,
                     obj ? Py_TYPE(obj)->tp_name : "nothing");
        return -1;
    }
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(obj, &n);
    if (!s)
        return -1;
    if ((size_t)n != strlen(s) || n == 0) {
        PyErr_Format(st->ArgumentError, "%s must be a non-empty str without NUL characters", what);
        return -1;
    }
    *out = s;
    return 0;
}

static int rv_py_key_get(rv_module_state *st, PyObject *key, const char **backend, const char **collection)
{
    if (!key || !PyTuple_Check(key) || PyTuple_GET_SIZE(key) != 2) {
        PyErr_Format(st->ArgumentTypeError, "key must be a (backend, collection) tuple of str, not %.100s",
                     key ? Py_TYPE(key)->tp_name : "nothing");
        return -1;
    }
    if (rv_py_str_get(st, PyTuple_GET_ITEM(key, 0), "key[0] (backend)", backend) < 0 ||
        rv_py_str_get(st, PyTuple_GET_ITEM(key, 1), "key[1] (collection)", collection) < 0)
        return -1;
    return 0;
}

static int rv_py_opt_str(rv_module_state *st, PyObject *obj, const char *what, const char **out)
{
    *out = NULL;
    if (!obj || obj == Py_None)
        return 0;
    return rv_py_str_get(st, obj, what, out);
}

static PyObject *rv_py_dir_arg(rv_module_state *st, PyObject *obj)
{
    PyObject *bytes = NULL;
    if (!obj) {
        PyErr_SetString(st->ArgumentTypeError, "a directory is required");
        return NULL;
    }
    return rv_py_path_get(st, obj, &bytes) < 0 ? NULL : bytes;
}

/* Sets the exception for a failed lake call with message msg. A BackendError from a
 * BackendAdapter chains the exception the adapter raised (__cause__), looked up by the backend
 * named in the message ("backend 'NAME': ..."). Returns NULL. GIL held. */
static PyObject *rv_lake_set_error(rv_module_state *st, rv_lake *lake, rv_status status, const char *msg)
{
    PyErr_SetString(rv_py_exc_class(st, status), msg);
    const char *at = status == RV_ERR_BACKEND && lake ? strstr(msg, "backend '") : NULL;
    const char *end = at ? strchr(at + 9, '\'') : NULL;
    char name[256];
    if (!end || (size_t)(end - at - 9) >= sizeof name)
        return NULL;
    memcpy(name, at + 9, (size_t)(end - at - 9));
    name[end - at - 9] = '\0';
    rv_backend *b = rv_lake_backend(lake, name);
    PyObject *cause = b ? rv_py_adapter_take_cause(b, msg) : NULL;
    if (b)
        rv_backend_release(b); /* the lake still holds it: no adapter teardown under the GIL here */
    if (cause) {
        PyObject *type, *exc, *tb;
        PyErr_Fetch(&type, &exc, &tb);
        PyErr_NormalizeException(&type, &exc, &tb);
        if (exc)
            PyException_SetCause(exc, cause); /* steals cause */
        else
            Py_DECREF(cause);
        PyErr_Restore(type, exc, tb);
    }
    return NULL;
}

/* rv_lake_set_error with the thread's last message. */
static PyObject *rv_lake_raise(rv_module_state *st, rv_lake *lake, rv_status status)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rv_last_error());
    return rv_lake_set_error(st, lake, status, msg);
}

/* A one-argument method that takes its argument by position or by keyword. */
#define RV_ONE_ARG(fn, impl, pyname, kw)                                                              \
    static PyObject *fn(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                               \
        static const char *const names_[] = {kw, NULL};                                             \
        PyObject *a_[1];                                                                            \
        if (rv_py_parse(rv_state_of(obj), pyname, args, nargs, kwnames, names_, 1, 1, a_) < 0)      \
            return NULL;                                                                            \
        return impl(obj, a_[0]);                                                                    \
    }

/* ---- backends --------------------------------------------------------------------------- */

static int rv_backend_init_common(rv_py_backend *self, rv_status st, rv_backend *b)
{
    if (st != RV_OK) {
        rv_py_raise(rv_state_of((PyObject *)self), st);
        return -1;
    }
    if (self->b)
        rv_backend_release(self->b);
    self->b = b;
    return 0;
}

/* The backends take keywords only; a positional argument gets a message showing the call. */
static int rv_backend_positional(rv_module_state *st, PyObject *args, const char *type, int is_fs)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    if (n == 0)
        return 0;
    PyObject *first = PyTuple_GET_ITEM(args, 0);
    if (!is_fs)
        PyErr_Format(st->ArgumentTypeError, "%s() takes its name as a keyword: write %s(name=%.100R)", type, type,
                     first);
    else if (n == 1)
        PyErr_Format(st->ArgumentTypeError, "%s() takes keywords only: write %s(name=%.100R, root=...)", type, type,
                     first);
    else
        PyErr_Format(st->ArgumentTypeError, "%s() takes keywords only: write %s(name=%.100R, root=%.100R)", type,
                     type, first, PyTuple_GET_ITEM(args, 1));
    return -1;
}

static int rv_local_init(PyObject *obj, PyObject *args, PyObject *kwds)
{
    rv_module_state *st = rv_state_of(obj);
    static char *kw[] = {"name", NULL};
    PyObject *name_obj = NULL;
    if (rv_backend_positional(st, args, "LocalBackend", 0) < 0)
        return -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$O", kw, &name_obj))
        return -1;
    const char *name = "local";
    if (name_obj && rv_py_str_get(st, name_obj, "name", &name) < 0)
        return -1;
    rv_backend *b = NULL;
    rv_status s = rv_local_backend_new(name, &b);
    return rv_backend_init_common((rv_py_backend *)obj, s, b);
}

static int rv_fsb_init(PyObject *obj, PyObject *args, PyObject *kwds)
{
    rv_module_state *st = rv_state_of(obj);
    static char *kw[] = {"name", "root", NULL};
    PyObject *name_obj = NULL, *root_obj = NULL;
    if (rv_backend_positional(st, args, "FsBackend", 1) < 0)
        return -1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OO", kw, &name_obj, &root_obj))
        return -1;
    const char *name = "fs";
    if (name_obj && rv_py_str_get(st, name_obj, "name", &name) < 0)
        return -1;
    if (!root_obj) {
        PyErr_SetString(st->ArgumentTypeError, "FsBackend() needs its directory: write FsBackend(name=..., root=...)");
        return -1;
    }
    PyObject *root = rv_py_dir_arg(st, root_obj);
    if (!root)
        return -1;
    rv_backend *b = NULL;
    rv_status s;
    RV_NOGIL(s = rv_fsb_new(name, PyBytes_AS_STRING(root), &b););
    rv_py_backend *self = (rv_py_backend *)obj;
    self->is_fs = 1;
    Py_XSETREF(self->root, PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(root)));
    Py_DECREF(root);
    return rv_backend_init_common(self, s, b);
}

static void rv_backend_dealloc(PyObject *obj)
{
    rv_py_backend *self = (rv_py_backend *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    rv_backend_release(self->b);
    Py_XDECREF(self->root);
    tp->tp_free(obj);
    Py_DECREF(tp);
}

static int rv_backend_ready(rv_module_state *st, rv_py_backend *self)
{
    if (!self->b) {
        PyErr_SetString(st->LakeError, "backend is not initialised (its __init__ was not called)");
        return -1;
    }
    return 0;
}

static PyObject *rv_backend_upsert(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_backend *self = (rv_py_backend *)obj;
    static const char *const names[] = {"collection", "ids", "vectors", NULL};
    PyObject *a[3];
    const char *coll;
    if (rv_py_parse(st, "upsert", args, nargs, kwnames, names, 3, 3, a) < 0 || rv_backend_ready(st, self) < 0 ||
        rv_py_str_get(st, a[0], "collection", &coll) < 0)
        return NULL;
    rv_py_ids ids;
    rv_py_matrix m;
    if (rv_py_ids_get(st, a[1], "ids", &ids) < 0)
        return NULL;
    if (rv_py_matrix_get(st, a[2], 2, "vectors", &m) < 0) {
        rv_py_ids_release(&ids);
        return NULL;
    }
    PyObject *ret = NULL;
    if (ids.n != m.rows) {
        PyErr_Format(st->ArgumentError, "got %zd ids for %zd vectors", ids.n, m.rows);
    } else {
        rv_status s;
        RV_NOGIL(s = self->is_fs ? rv_fsb_upsert(self->b, coll, ids.data, m.data, (size_t)m.rows, (uint32_t)m.cols)
                                 : rv_local_upsert(self->b, coll, ids.data, m.data, (size_t)m.rows, (uint32_t)m.cols););
        ret = s == RV_OK ? Py_NewRef(Py_None) : rv_py_raise(st, s);
    }
    rv_py_matrix_release(&m);
    rv_py_ids_release(&ids);
    return ret;
}

static PyObject *rv_backend_delete(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_backend *self = (rv_py_backend *)obj;
    static const char *const names[] = {"collection", "ids", NULL};
    PyObject *a[2];
    const char *coll;
    if (rv_py_parse(st, "delete", args, nargs, kwnames, names, 2, 2, a) < 0 || rv_backend_ready(st, self) < 0 ||
        rv_py_str_get(st, a[0], "collection", &coll) < 0)
        return NULL;
    rv_py_ids ids;
    if (rv_py_ids_get(st, a[1], "ids", &ids) < 0)
        return NULL;
    size_t removed = 0;
    rv_status s;
    RV_NOGIL(s = self->is_fs ? rv_fsb_delete(self->b, coll, ids.data, (size_t)ids.n, &removed)
                             : rv_local_delete(self->b, coll, ids.data, (size_t)ids.n, &removed););
    rv_py_ids_release(&ids);
    return s == RV_OK ? PyLong_FromSize_t(removed) : rv_py_raise(st, s);
}

static PyObject *rv_backend_drop_impl(PyObject *obj, PyObject *arg)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_backend *self = (rv_py_backend *)obj;
    const char *coll;
    if (rv_backend_ready(st, self) < 0 || rv_py_str_get(st, arg, "collection", &coll) < 0)
        return NULL;
    rv_status s;
    RV_NOGIL(s = self->is_fs ? rv_fsb_drop(self->b, coll) : rv_local_drop(self->b, coll););
    return s == RV_OK ? Py_NewRef(Py_None) : rv_py_raise(st, s);
}

RV_ONE_ARG(rv_backend_drop, rv_backend_drop_impl, "drop", "collection")

static PyObject *rv_names_to_list(char **names, size_t n)
{
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *s = PyUnicode_DecodeUTF8(names[i], (Py_ssize_t)strlen(names[i]), "surrogateescape");
        if (!s) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, s);
    }
    if (list && PyList_Sort(list) < 0)
        Py_CLEAR(list);
    return list;
}

static PyObject *rv_backend_list_collections(PyObject *obj, PyObject *unused)
{
    (void)unused;
    rv_module_state *st = rv_state_of(obj);
    rv_py_backend *self = (rv_py_backend *)obj;
    if (rv_backend_ready(st, self) < 0)
        return NULL;
    char **names = NULL;
    size_t n = 0;
    rv_status s;
    RV_NOGIL(s = rv_backend_list(self->b, &names, &n););
    if (s != RV_OK)
        return rv_py_raise(st, s);
    PyObject *list = rv_names_to_list(names, n);
    rv_lake_free_names(names, n);
    return list;
}

static PyObject *rv_backend_name_get(PyObject *obj, void *closure)
{
    (void)closure;
    rv_py_backend *self = (rv_py_backend *)obj;
    return self->b ? PyUnicode_FromString(rv_backend_name(self->b)) : Py_NewRef(Py_None);
}

static PyObject *rv_backend_root_get(PyObject *obj, void *closure)
{
    (void)closure;
    rv_py_backend *self = (rv_py_backend *)obj;
    return Py_NewRef(self->root ? self->root : Py_None);
}

static PyObject *rv_backend_repr(PyObject *obj)
{
    rv_py_backend *self = (rv_py_backend *)obj;
    const char *name = self->b ? rv_backend_name(self->b) : "?";
    if (self->is_fs)
        return PyUnicode_FromFormat("FsBackend(name=%R, root=%R)", PyUnicode_FromString(name), self->root);
    return PyUnicode_FromFormat("LocalBackend(name='%s')", name);
}

#define RV_FAST(fn) (PyCFunction)(void (*)(void))(fn), METH_FASTCALL | METH_KEYWORDS
static PyMethodDef rv_backend_methods[] = {
    {"upsert", RV_FAST(rv_backend_upsert),
     "upsert($self, /, collection, ids, vectors)\n--\n\nInserts or replaces rows by id.\n\nids: (n,) "
     "int64-compatible, unique (a duplicate raises DuplicateIdError and nothing is written); vectors: (n, dim) "
     "float32, finite. The first upsert creates the collection and fixes its dim. Every write changes the "
     "collection's generation (and so its witness)."},
    {"delete", RV_FAST(rv_backend_delete),
     "delete($self, /, collection, ids)\n--\n\nRemoves the ids the collection holds and returns how many "
     "(ids it does not hold are ignored)."},
    {"drop", RV_FAST(rv_backend_drop),
     "drop($self, /, collection)\n--\n\nRemoves the collection (LakeError if the backend has no such "
     "collection)."},
    {"list_collections", rv_backend_list_collections, METH_NOARGS,
     "list_collections($self, /)\n--\n\nThe collections this backend holds, sorted."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rv_local_getset[] = {
    {"name", rv_backend_name_get, NULL, "The backend's unique name.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyGetSetDef rv_fsb_getset[] = {
    {"name", rv_backend_name_get, NULL, "The backend's unique name.", NULL},
    {"root", rv_backend_root_get, NULL, "The directory holding one ruvec1 file per collection.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* ---- the call ------------------------------------------------------------------------- */

enum { RV_OP_ONE, RV_OP_BATCH, RV_OP_FED };

typedef struct rv_lake_call {
    int op;
    rv_lake *lake;
    rv_lake_session *session;
    const char *backend, *collection;
    const char **backends;
    size_t nbackends;
    const float *queries;
    size_t m;
    uint32_t dim;
    size_t k;
    const rv_progress *progress;
    /* results */
    rv_status status;
    char msg[512];
    int64_t *ids;
    float *scores;
    size_t *counts; /* real hits per row (rows of stride kk) */
    size_t kk;
    const char *bname;
    rv_lake_hit *hits;
    size_t count;
    /* copies owned by async calls */
    char *own_strings;
} rv_lake_call;

static void rv_lake_call_run(rv_lake_call *c)
{
    if (c->op == RV_OP_FED) {
        c->hits = rv_lake_alloc(c->k * sizeof *c->hits);
        c->status = c->hits ? rv_lake_search_federated(c->lake, c->session, c->backends, c->nbackends, c->collection,
                                                       c->queries, c->dim, c->k, c->hits, &c->count)
                            : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    } else {
        size_t rows = c->m ? c->m : 1, cells = rows * c->k;
        c->ids = rv_lake_alloc(cells * sizeof *c->ids);
        c->scores = rv_lake_alloc(cells * sizeof *c->scores);
        c->counts = rv_lake_alloc(rows * sizeof *c->counts);
        c->status = c->ids && c->scores && c->counts
                        ? rv_lake_search(c->lake, c->session, c->backend, c->collection, c->queries, c->m, c->dim,
                                         c->k, c->k, c->ids, c->scores, c->counts, &c->kk, &c->bname, c->progress)
                        : rv_fail(RV_ERR_NO_MEMORY, "out of memory");
    }
    if (c->status != RV_OK)
        snprintf(c->msg, sizeof c->msg, "%s", rv_last_error());
}

static void rv_lake_call_free(rv_lake_call *c)
{
    rv_lake_free(c->ids);
    rv_lake_free(c->scores);
    rv_lake_free(c->hits);
    rv_lake_free(c->counts);
    c->ids = NULL;
    c->scores = NULL;
    c->hits = NULL;
    c->counts = NULL;
}

static PyObject *rv_lake_hit_new(PyObject *hit_type, PyObject *backend, PyObject *collection, int64_t id, float score)
{
    PyObject *pid = PyLong_FromLongLong(id), *ps = PyFloat_FromDouble(score);
    PyObject *items = pid && ps ? PyTuple_Pack(4, backend, collection, pid, ps) : NULL;
    Py_XDECREF(pid);
    Py_XDECREF(ps);
    if (!items)
        return NULL;
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (!args)
        return NULL;
    PyObject *hit = PyTuple_Type.tp_new((PyTypeObject *)hit_type, args, NULL);
    Py_DECREF(args);
    return hit;
}

/* The call's result as Python objects, or NULL with the mapped exception set. GIL held. */
static PyObject *rv_lake_call_result(rv_module_state *st, rv_lake_call *c)
{
    if (c->status != RV_OK) {
        if (!PyErr_Occurred())
            rv_lake_set_error(st, c->lake, c->status, c->msg);
        return NULL;
    }
    PyObject *hit_type = rv_py_lake_attr(st, "LakeHit");
    if (!hit_type)
        return NULL;
    PyObject *coll = PyUnicode_FromString(c->collection);
    if (!coll)
        return NULL;
    PyObject *result = NULL;
    if (c->op == RV_OP_FED) {
        result = PyList_New((Py_ssize_t)c->count);
        for (size_t i = 0; result && i < c->count; i++) {
            PyObject *b = PyUnicode_FromString(c->hits[i].backend);
            PyObject *h = b ? rv_lake_hit_new(hit_type, b, coll, c->hits[i].id, c->hits[i].score) : NULL;
            Py_XDECREF(b);
            if (!h)
                Py_CLEAR(result);
            else
                PyList_SET_ITEM(result, (Py_ssize_t)i, h);
        }
    } else {
        PyObject *b = PyUnicode_FromString(c->bname);
        size_t rows = c->op == RV_OP_ONE ? 1 : c->m;
        PyObject *outer = b && c->op == RV_OP_BATCH ? PyList_New((Py_ssize_t)rows) : NULL;
        for (size_t q = 0; b && q < rows; q++) {
            /* Rows have stride kk (not k) and hold counts[q] real hits. */
            PyObject *list = PyList_New((Py_ssize_t)c->counts[q]);
            for (size_t i = 0; list && i < c->counts[q]; i++) {
                PyObject *h = rv_lake_hit_new(hit_type, b, coll, c->ids[q * c->kk + i], c->scores[q * c->kk + i]);
                if (!h)
                    Py_CLEAR(list);
                else
                    PyList_SET_ITEM(list, (Py_ssize_t)i, h);
            }
            if (!list) {
                Py_CLEAR(outer);
                break;
            }
            if (c->op == RV_OP_ONE) {
                result = list;
            } else if (outer) {
                PyList_SET_ITEM(outer, (Py_ssize_t)q, list);
            } else {
                Py_DECREF(list);
                break;
            }
        }
        if (c->op == RV_OP_BATCH)
            result = outer;
        Py_XDECREF(b);
    }
    Py_DECREF(coll);
    return result;
}

/* Parsed arguments of one search call; release with rv_call_args_release. */
typedef struct rv_call_args {
    rv_py_matrix q;
    int has_q;
    PyObject *backends_list; /* strong */
    const char **backends;
    rv_py_progress progress;
    int has_progress;
} rv_call_args;

static void rv_call_args_release(rv_call_args *a)
{
    if (a->has_q)
        rv_py_matrix_release(&a->q);
    a->has_q = 0;
    Py_CLEAR(a->backends_list);
    PyMem_Free(a->backends);
    a->backends = NULL;
    if (a->has_progress)
        rv_py_progress_done(&a->progress);
    a->has_progress = 0;
}

static int rv_call_parse(rv_module_state *st, int op, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames, int allow_progress, rv_lake_call *c, rv_call_args *a)
{
    memset(a, 0, sizeof *a);
    c->op = op;
    static const char *const one_names[] = {"collection", "query", "k", "backend", "progress", NULL};
    static const char *const batch_names[] = {"collection", "queries", "k", "backend", "progress", NULL};
    static const char *const fed_names[] = {"collection", "query", "k", "backends", NULL};
    const char *const *names = op == RV_OP_ONE ? one_names : op == RV_OP_BATCH ? batch_names : fed_names;
    PyObject *v[5] = {NULL};
    if (rv_py_parse(st, fname, args, nargs, kwnames, names, 3, 2, v) < 0)
        return -1;
    if (rv_py_str_get(st, v[0], "collection", &c->collection) < 0 || rv_py_k_get(st, v[2], &c->k) < 0)
        return -1;
    if (op != RV_OP_FED) {
        if (rv_py_opt_str(st, v[3], "backend", &c->backend) < 0)
            return -1;
        if (v[4] && v[4] != Py_None && v[4] != Py_False) {
            if (!allow_progress) {
                PyErr_Format(st->ArgumentTypeError, "%s() does not take progress=", fname);
                return -1;
            }
            if (rv_py_progress_init(st, v[4], "priming", &a->progress) < 0)
                return -1;
            a->has_progress = 1;
            c->progress = &a->progress.c;
        } else if (allow_progress) { /* sync: no bar, but Ctrl-C still stops a prime or a batch */
            rv_py_progress_init(st, NULL, "priming", &a->progress);
            a->has_progress = 1;
            c->progress = &a->progress.c;
        }
    } else if (v[3] && v[3] != Py_None) {
        if (PyUnicode_Check(v[3])) {
            PyErr_SetString(st->ArgumentTypeError, "backends must be a sequence of backend names, not a str");
            return -1;
        }
        if (!(a->backends_list = PySequence_List(v[3])))
            return -1;
        Py_ssize_t n = PyList_GET_SIZE(a->backends_list);
        a->backends = PyMem_Calloc((size_t)n + 1, sizeof(char *));
        if (!a->backends) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++)
            if (rv_py_str_get(st, PyList_GET_ITEM(a->backends_list, i), "backends[i]", &a->backends[i]) < 0)
                return -1;
        c->backends = a->backends;
        c->nbackends = (size_t)n;
        if (n == 0) {
            PyErr_SetString(st->ArgumentError, "backends is empty; pass None to search every backend holding "
                            "the collection");
            return -1;
        }
    }
    if (rv_py_matrix_get(st, v[1], op == RV_OP_BATCH ? 2 : 1, op == RV_OP_BATCH ? "queries" : "query", &a->q) < 0)
        return -1;
    a->has_q = 1;
    c->queries = a->q.data;
    c->m = (size_t)a->q.rows;
    c->dim = (uint32_t)a->q.cols;
    return 0;
}

/* ---- async -------------------------------------------------------------------------------- */

typedef struct rv_lake_task {
    rv_py_async base; /* first: the generic async task */
    rv_lake_call call;
    float *queries;
} rv_lake_task;

static void rv_lake_task_run(rv_py_async *base)
{
    rv_lake_call_run(&((rv_lake_task *)base)->call);
}

static PyObject *rv_lake_task_result(rv_module_state *st, rv_py_async *base)
{
    return rv_lake_call_result(st, &((rv_lake_task *)base)->call);
}

static void rv_lake_task_free(rv_py_async *base)
{
    rv_lake_task *t = (rv_lake_task *)base;
    rv_lake_call_free(&t->call);
    PyMem_RawFree(t->call.own_strings);
    PyMem_RawFree(t->queries);
    PyMem_RawFree(t);
}

/* Copies the borrowed strings and query of c into t, so the call outlives the arguments. */
static int rv_async_own(rv_lake_task *t)
{
    rv_lake_call *c = &t->call;
    size_t total = strlen(c->collection) + 1 + (c->backend ? strlen(c->backend) + 1 : 0);
    for (size_t i = 0; i < c->nbackends; i++)
        total += strlen(c->backends[i]) + 1;
    total += (c->nbackends + 1) * sizeof(char *) + sizeof(char *);
    char *buf = PyMem_RawMalloc(total);
    float *q = PyMem_RawMalloc(c->m * c->dim * sizeof(float) + sizeof(float));
    if (!buf || !q) {
        PyMem_RawFree(buf);
        PyMem_RawFree(q);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(q, c->queries, c->m * c->dim * sizeof(float));
    t->queries = q;
    c->queries = q;
    const char **list = (const char **)(void *)buf;
    char *at = buf + (c->nbackends + 1) * sizeof(char *) + sizeof(char *);
#define RV_COPY(dst, src)                  \
    do {                                   \
        size_t n_ = strlen(src) + 1;       \
        memcpy(at, (src), n_);             \
        (dst) = at;                        \
        at += n_;                          \
    } while (0)
    RV_COPY(c->collection, c->collection);
    if (c->backend)
        RV_COPY(c->backend, c->backend);
    for (size_t i = 0; i < c->nbackends; i++)
        RV_COPY(list[i], c->backends[i]);
#undef RV_COPY
    c->backends = c->nbackends ? list : NULL;
    c->own_strings = buf;
    return 0;
}

static PyObject *rv_lake_submit(PyObject *owner, rv_lake *lake, rv_lake_session *session, int op, const char *fname,
                                PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(owner);
    rv_lake_task *t = PyMem_RawCalloc(1, sizeof *t);
    if (!t)
        return PyErr_NoMemory();
    t->base.run = rv_lake_task_run;
    t->base.result = rv_lake_task_result;
    t->base.free = rv_lake_task_free;
    t->call.lake = lake;
    t->call.session = session;
    rv_call_args a;
    int bad = rv_call_parse(st, op, fname, args, nargs, kwnames, 0, &t->call, &a) < 0 || rv_async_own(t) < 0;
    rv_call_args_release(&a);
    if (bad) {
        rv_lake_task_free(&t->base);
        return NULL;
    }
    return rv_py_async_submit(st, owner, &t->base); /* owns t from here */
}

/* ---- sync search on a lake or session ------------------------------------------------- */

static PyObject *rv_lake_sync(PyObject *owner, rv_lake *lake, rv_lake_session *session, int op, const char *fname,
                              PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(owner);
    rv_lake_call c;
    memset(&c, 0, sizeof c);
    c.lake = lake;
    c.session = session;
    rv_call_args a;
    if (rv_call_parse(st, op, fname, args, nargs, kwnames, 1, &c, &a) < 0) {
        rv_call_args_release(&a);
        return NULL;
    }
    RV_NOGIL(rv_lake_call_run(&c););
    PyObject *r = rv_lake_call_result(st, &c);
    rv_lake_call_free(&c);
    rv_call_args_release(&a);
    return r;
}

/* ---- RuLake ------------------------------------------------------------------------------ */

static int rv_lake_ready(rv_module_state *st, rv_py_lake *self)
{
    if (!self->lake) {
        PyErr_SetString(st->LakeError, "RuLake is not initialised (use RuLake.builder()...build())");
        return -1;
    }
    return 0;
}

static int rv_py_u64_opt(rv_module_state *st, PyObject *obj, const char *what, uint64_t low, uint64_t high,
                         uint64_t *out)
{
    if (!obj || obj == Py_None)
        return 0;
    if (!PyLong_Check(obj) || PyBool_Check(obj)) {
        PyErr_Format(st->ArgumentTypeError, "%s must be an int, not %.100s", what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(obj);
    if ((v == (unsigned long long)-1 && PyErr_Occurred()) || v < low || v > high) {
        PyErr_Clear();
        PyErr_Format(st->ArgumentError, "%s must be in %llu..%llu", what, (unsigned long long)low,
                     (unsigned long long)high);
        return -1;
    }
    *out = v;
    return 0;
}

static int rv_lake_init(PyObject *obj, PyObject *args, PyObject *kwds)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    static char *kw[] = {"rerank_factor", "rotation_seed", "max_cache_entries", "max_cache_bytes", "consistency",
                         "eventual_ttl_ms", "pull_on_miss", "cache_dir", "reprime_fraction", NULL};
    PyObject *rf = NULL, *seed = NULL, *me = NULL, *mb = NULL, *cons = NULL, *ttl = NULL, *pom = NULL, *dir = NULL,
             *frac = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|$OOOOOOOOO", kw, &rf, &seed, &me, &mb, &cons, &ttl, &pom, &dir,
                                     &frac))
        return -1;
    rv_lake_params p = rv_lake_params_default();
    uint64_t v;
    v = p.rerank_factor;
    if (rv_py_u64_opt(st, rf, "rerank_factor", 1, 1024, &v) < 0)
        return -1;
    p.rerank_factor = (uint32_t)v;
    if (rv_py_u64_opt(st, seed, "rotation_seed", 0, INT64_MAX, &p.rotation_seed) < 0)
        return -1;
    v = 0;
    if (rv_py_u64_opt(st, me, "max_cache_entries", 1, INT64_MAX, &v) < 0)
        return -1;
    p.max_entries = (size_t)v;
    v = 0;
    if (rv_py_u64_opt(st, mb, "max_cache_bytes", 1, INT64_MAX, &v) < 0)
        return -1;
    p.max_bytes = (size_t)v;
    if (rv_py_u64_opt(st, ttl, "eventual_ttl_ms", 0, INT64_MAX, &p.eventual_ttl_ms) < 0)
        return -1;
    if (cons && cons != Py_None) {
        PyObject *cls = rv_py_lake_attr(st, "Consistency");
        if (!cls)
            return -1;
        int ok = PyObject_IsInstance(cons, cls);
        if (ok < 0)
            return -1;
        if (!ok) {
            PyErr_Format(st->ArgumentTypeError, "consistency must be ruvector.Consistency.FRESH, .EVENTUAL or "
                         ".STALE, not %R", cons);
            return -1;
        }
        p.consistency = (rv_consistency)PyLong_AsLong(cons);
    }
    if (pom && pom != Py_None) {
        if (!PyBool_Check(pom)) {
            PyErr_Format(st->ArgumentTypeError, "pull_on_miss must be a bool, not %.100s", Py_TYPE(pom)->tp_name);
            return -1;
        }
        p.pull_on_miss = pom == Py_True;
    }
    if (frac && frac != Py_None) {
        if (!PyFloat_Check(frac) && !(PyLong_Check(frac) && !PyBool_Check(frac))) {
            PyErr_Format(st->ArgumentTypeError, "reprime_fraction must be a float, not %.100s", Py_TYPE(frac)->tp_name);
            return -1;
        }
        p.reprime_fraction = PyFloat_AsDouble(frac);
        if (p.reprime_fraction == -1.0 && PyErr_Occurred())
            return -1;
        if (!(p.reprime_fraction >= RV_LAKE_REPRIME_FRACTION_MIN && p.reprime_fraction <= RV_LAKE_REPRIME_FRACTION_MAX)) {
            PyErr_Format(st->ArgumentError, "reprime_fraction must be in %.1f..%.1f, not %R",
                         RV_LAKE_REPRIME_FRACTION_MIN, RV_LAKE_REPRIME_FRACTION_MAX, frac);
            return -1;
        }
    }
    PyObject *dir_bytes = NULL;
    if (dir && dir != Py_None) {
        if (!(dir_bytes = rv_py_dir_arg(st, dir)))
            return -1;
        p.cache_dir = PyBytes_AS_STRING(dir_bytes);
    }
    rv_lake *lake = NULL;
    rv_status s = rv_lake_create(&p, &lake);
    Py_XDECREF(dir_bytes);
    if (s != RV_OK) {
        rv_py_raise(st, s);
        return -1;
    }
    if (self->lake)
        rv_lake_destroy(self->lake);
    self->lake = lake;
    return 0;
}

static void rv_lake_dealloc(PyObject *obj)
{
    rv_py_lake *self = (rv_py_lake *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    PyObject_GC_UnTrack(obj);
    if (self->weakrefs)
        PyObject_ClearWeakRefs(obj);
    if (self->lake) {
        rv_lake *lake = self->lake;
        self->lake = NULL;
        /* adapter backends take the GIL to drop their Python object: release it meanwhile */
        RV_NOGIL(rv_lake_destroy(lake););
    }
    tp->tp_free(obj);
    Py_DECREF(tp);
}

static int rv_lake_traverse(PyObject *obj, visitproc visit, void *arg)
{
    (void)obj, (void)visit, (void)arg;
    Py_VISIT(Py_TYPE(obj));
    return 0;
}

#define RV_LAKE_SEARCH(fn, op, name, async)                                                                      \
    static PyObject *fn(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)              \
    {                                                                                                           \
        rv_py_lake *self = (rv_py_lake *)obj;                                                                   \
        if (rv_lake_ready(rv_state_of(obj), self) < 0)                                                          \
            return NULL;                                                                                        \
        return async ? rv_lake_submit(obj, self->lake, NULL, op, name, args, nargs, kwnames)                    \
                     : rv_lake_sync(obj, self->lake, NULL, op, name, args, nargs, kwnames);                     \
    }
RV_LAKE_SEARCH(rv_lake_search_one, RV_OP_ONE, "search_one", 0)
RV_LAKE_SEARCH(rv_lake_search_batch, RV_OP_BATCH, "search_batch", 0)
RV_LAKE_SEARCH(rv_lake_search_fed, RV_OP_FED, "search_federated", 0)
RV_LAKE_SEARCH(rv_lake_search_one_async, RV_OP_ONE, "search_one_async", 1)
RV_LAKE_SEARCH(rv_lake_search_batch_async, RV_OP_BATCH, "search_batch_async", 1)
RV_LAKE_SEARCH(rv_lake_search_fed_async, RV_OP_FED, "search_federated_async", 1)

static PyObject *rv_lake_register_backend_impl(PyObject *obj, PyObject *arg)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    if (rv_lake_ready(st, self) < 0)
        return NULL;
    rv_backend *b = NULL;
    rv_status s;
    if (PyObject_TypeCheck(arg, st->LocalBackendType) || PyObject_TypeCheck(arg, st->FsBackendType)) {
        rv_py_backend *pb = (rv_py_backend *)arg;
        if (!pb->b) {
            PyErr_SetString(st->LakeError, "backend is not initialised");
            return NULL;
        }
        b = pb->b;
        rv_backend_retain(b);
    } else {
        PyObject *abc = rv_py_lake_attr(st, "BackendAdapter");
        if (!abc)
            return NULL;
        int ok = PyObject_IsInstance(arg, abc);
        if (ok < 0)
            return NULL;
        if (!ok) {
            PyErr_Format(st->ArgumentTypeError, "register_backend() takes a LocalBackend, an FsBackend or a "
                         "ruvector.BackendAdapter subclass instance, not %.100s", Py_TYPE(arg)->tp_name);
            return NULL;
        }
        PyObject *name_obj = PyObject_GetAttrString(arg, "name");
        const char *name;
        if (!name_obj)
            return NULL;
        if (rv_py_str_get(st, name_obj, "BackendAdapter.name", &name) < 0) {
            Py_DECREF(name_obj);
            return NULL;
        }
        s = rv_py_adapter_backend_new(arg, name, &b);
        Py_DECREF(name_obj);
        if (s != RV_OK)
            return rv_py_raise(st, s);
    }
    RV_NOGIL(s = rv_lake_register(self->lake, b););
    RV_NOGIL(rv_backend_release(b););
    return s == RV_OK ? Py_NewRef(Py_None) : rv_py_raise(st, s);
}

RV_ONE_ARG(rv_lake_register_backend, rv_lake_register_backend_impl, "register_backend", "backend")

static PyObject *rv_lake_publish(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    static const char *const names[] = {"collection", "out_dir", "backend", NULL};
    PyObject *a[3];
    const char *coll, *backend;
    if (rv_lake_ready(st, self) < 0 || rv_py_parse(st, "publish_bundle", args, nargs, kwnames, names, 2, 2, a) < 0 ||
        rv_py_str_get(st, a[0], "collection", &coll) < 0 || rv_py_opt_str(st, a[2], "backend", &backend) < 0)
        return NULL;
    PyObject *dir = rv_py_dir_arg(st, a[1]);
    if (!dir)
        return NULL;
    char w[RV_WITNESS_HEX + 1];
    rv_status s;
    RV_NOGIL(s = rv_lake_publish_bundle(self->lake, backend, coll, PyBytes_AS_STRING(dir), w););
    Py_DECREF(dir);
    return s == RV_OK ? PyUnicode_FromString(w) : rv_lake_raise(st, self->lake, s);
}

/* The (key, dir) arguments of refresh/save/warm: key strings borrowed from the tuple, the
 * directory as a new bytes object in *dir. */
static int rv_key_dir_args(PyObject *obj, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames, const char **b, const char **c, PyObject **dir)
{
    rv_module_state *st = rv_state_of(obj);
    static const char *const names[] = {"key", "dir", NULL};
    PyObject *a[2];
    if (rv_lake_ready(st, (rv_py_lake *)obj) < 0 || rv_py_parse(st, fname, args, nargs, kwnames, names, 2, 2, a) < 0 ||
        rv_py_key_get(st, a[0], b, c) < 0)
        return -1;
    *dir = rv_py_dir_arg(st, a[1]);
    return *dir ? 0 : -1;
}

static PyObject *rv_lake_refresh(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = rv_state_of(obj);
    const char *b, *c;
    PyObject *dir;
    if (rv_key_dir_args(obj, "refresh_from_bundle_dir", args, nargs, kwnames, &b, &c, &dir) < 0)
        return NULL;
    rv_refresh_result r = RV_REFRESH_UP_TO_DATE;
    rv_status s;
    RV_NOGIL(s = rv_lake_refresh_from_bundle_dir(((rv_py_lake *)obj)->lake, b, c, PyBytes_AS_STRING(dir), &r););
    Py_DECREF(dir);
    if (s != RV_OK)
        return rv_lake_raise(st, ((rv_py_lake *)obj)->lake, s);
    PyObject *cls = rv_py_lake_attr(st, "RefreshResult");
    return cls ? PyObject_CallFunction(cls, "i", (int)r) : NULL;
}

static PyObject *rv_lake_save(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    const char *b, *c;
    PyObject *dir;
    if (rv_key_dir_args(obj, "save_cache_to_dir", args, nargs, kwnames, &b, &c, &dir) < 0)
        return NULL;
    rv_status s;
    RV_NOGIL(s = rv_lake_save_entry(((rv_py_lake *)obj)->lake, b, c, PyBytes_AS_STRING(dir)););
    PyObject *r = s == RV_OK ? PyUnicode_DecodeFSDefault(PyBytes_AS_STRING(dir)) : rv_py_raise(rv_state_of(obj), s);
    Py_DECREF(dir);
    return r;
}

static PyObject *rv_lake_warm(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    const char *b, *c;
    PyObject *dir;
    if (rv_key_dir_args(obj, "warm_from_dir", args, nargs, kwnames, &b, &c, &dir) < 0)
        return NULL;
    size_t n = 0;
    rv_status s;
    RV_NOGIL(s = rv_lake_warm_from_dir(((rv_py_lake *)obj)->lake, b, c, PyBytes_AS_STRING(dir), &n););
    Py_DECREF(dir);
    return s == RV_OK ? PyLong_FromSize_t(n) : rv_py_raise(rv_state_of(obj), s);
}

static PyObject *rv_lake_invalidate_m_impl(PyObject *obj, PyObject *key)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    const char *b, *c;
    if (rv_lake_ready(st, self) < 0 || rv_py_key_get(st, key, &b, &c) < 0)
        return NULL;
    rv_status s;
    RV_NOGIL(s = rv_lake_invalidate(self->lake, b, c););
    return s == RV_OK ? Py_NewRef(Py_None) : rv_py_raise(st, s);
}

RV_ONE_ARG(rv_lake_invalidate_m, rv_lake_invalidate_m_impl, "invalidate_cache", "key")

static PyObject *rv_lake_witness_m_impl(PyObject *obj, PyObject *key)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    const char *b, *c;
    if (rv_lake_ready(st, self) < 0 || rv_py_key_get(st, key, &b, &c) < 0)
        return NULL;
    char w[RV_WITNESS_HEX + 1];
    bool found;
    RV_NOGIL(found = rv_lake_witness_of(self->lake, b, c, w););
    return found ? PyUnicode_FromString(w) : Py_NewRef(Py_None);
}

RV_ONE_ARG(rv_lake_witness_m, rv_lake_witness_m_impl, "cache_witness_of", "key")

static PyObject *rv_lake_cached_index_m_impl(PyObject *obj, PyObject *key)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    const char *b, *c;
    if (rv_lake_ready(st, self) < 0 || rv_py_key_get(st, key, &b, &c) < 0)
        return NULL;
    rv_index *idx;
    RV_NOGIL(idx = rv_lake_cached_index(self->lake, b, c););
    return idx ? rv_py_index_wrap(st, idx) : Py_NewRef(Py_None);
}

RV_ONE_ARG(rv_lake_cached_index_m, rv_lake_cached_index_m_impl, "cached_index", "key")

static PyObject *rv_stats_to_py(rv_module_state *st, const rv_lake_stats *s)
{
    PyObject *cls = rv_py_lake_attr(st, "CacheStats");
    if (!cls)
        return NULL;
    return PyObject_CallFunction(cls, "KKKKKKKKdd", (unsigned long long)s->hits, (unsigned long long)s->misses,
                                 (unsigned long long)s->primes, (unsigned long long)s->invalidations,
                                 (unsigned long long)s->evictions, (unsigned long long)s->shared_hits,
                                 (unsigned long long)s->warm_installs, (unsigned long long)s->pulls,
                                 s->total_prime_ms, s->last_prime_ms);
}

static PyObject *rv_lake_stats_m(PyObject *obj, PyObject *unused)
{
    (void)unused;
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    if (rv_lake_ready(st, self) < 0)
        return NULL;
    rv_lake_stats s = rv_lake_stats_get(self->lake);
    return rv_stats_to_py(st, &s);
}

static PyObject *rv_lake_stats_by(PyObject *obj, int by_collection)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    if (rv_lake_ready(st, self) < 0)
        return NULL;
    char **bs = NULL, **cs = NULL;
    size_t n = 0;
    rv_status s = rv_lake_stat_keys(self->lake, &bs, &cs, &n);
    if (s != RV_OK)
        return rv_py_raise(st, s);
    PyObject *d = PyDict_New();
    for (size_t i = 0; d && i < n; i++) {
        rv_lake_stats row;
        if (!rv_lake_stats_for(self->lake, bs[i], by_collection ? cs[i] : NULL, &row))
            continue;
        PyObject *k = by_collection ? Py_BuildValue("(ss)", bs[i], cs[i]) : PyUnicode_FromString(bs[i]);
        PyObject *v = k ? rv_stats_to_py(st, &row) : NULL;
        if (!v || PyDict_SetItem(d, k, v) < 0)
            Py_CLEAR(d);
        Py_XDECREF(k);
        Py_XDECREF(v);
    }
    rv_lake_free_names(bs, n);
    rv_lake_free_names(cs, n);
    return d;
}

static PyObject *rv_lake_stats_backend_m(PyObject *obj, PyObject *unused)
{
    (void)unused;
    return rv_lake_stats_by(obj, 0);
}

static PyObject *rv_lake_stats_collection_m(PyObject *obj, PyObject *unused)
{
    (void)unused;
    return rv_lake_stats_by(obj, 1);
}

static PyObject *rv_lake_session_m(PyObject *obj, PyObject *unused)
{
    (void)unused;
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    if (rv_lake_ready(st, self) < 0)
        return NULL;
    rv_lake_session *s = NULL;
    rv_status status = rv_lake_session_open(self->lake, &s);
    if (status != RV_OK)
        return rv_py_raise(st, status);
    rv_py_session *sess = (rv_py_session *)st->SessionType->tp_alloc(st->SessionType, 0);
    if (!sess) {
        rv_lake_session_close(s);
        return NULL;
    }
    sess->owner = (rv_py_lake *)Py_NewRef(obj);
    sess->s = s;
    return (PyObject *)sess;
}

static int rv_lake_contains(PyObject *obj, PyObject *x)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_lake *self = (rv_py_lake *)obj;
    if (rv_lake_ready(st, self) < 0)
        return -1;
    rv_index *idx = rv_py_index_handle(st, x);
    if (idx)
        return rv_lake_holds_index(self->lake, idx);
    if (PyTuple_Check(x)) {
        const char *b, *c;
        if (rv_py_key_get(st, x, &b, &c) < 0)
            return -1;
        char w[RV_WITNESS_HEX + 1];
        return rv_lake_witness_of(self->lake, b, c, w);
    }
    return 0;
}

static PyObject *rv_lake_entries_get(PyObject *obj, void *closure)
{
    (void)closure;
    rv_py_lake *self = (rv_py_lake *)obj;
    return self->lake ? PyLong_FromSize_t(rv_lake_entry_count(self->lake)) : NULL;
}

static PyObject *rv_lake_bytes_get(PyObject *obj, void *closure)
{
    (void)closure;
    rv_py_lake *self = (rv_py_lake *)obj;
    return self->lake ? PyLong_FromSize_t(rv_lake_cached_bytes(self->lake)) : NULL;
}

static PyObject *rv_lake_repr(PyObject *obj)
{
    rv_py_lake *self = (rv_py_lake *)obj;
    if (!self->lake)
        return PyUnicode_FromString("RuLake(<uninitialised>)");
    rv_lake_params p = rv_lake_params_of(self->lake);
    static const char *modes[] = {"FRESH", "EVENTUAL", "STALE"};
    return PyUnicode_FromFormat("RuLake(consistency=%s, rerank_factor=%u, rotation_seed=%llu, entries=%zu, "
                                "bytes=%zu)", modes[p.consistency], p.rerank_factor,
                                (unsigned long long)p.rotation_seed, rv_lake_entry_count(self->lake),
                                rv_lake_cached_bytes(self->lake));
}

#define RV_SEARCH_ONE_DOC                                                                                      \
    "search_one($self, /, collection, query, k=10, *, backend=None, progress=None)\n--\n\nThe k nearest "         \
    "vectors of one collection to query, as LakeHit(backend, collection, id, score), nearest first, scores "      \
    "exact squared L2.\n\nbackend=None: the one registered backend holding the collection (none or several "      \
    "raise LakeError naming them). Checks freshness per the lake's consistency, and primes the key (or updates "  \
    "it in place) when it is stale. progress: True or a callable(done, total) reporting a prime."
#define RV_SEARCH_BATCH_DOC                                                                                    \
    "search_batch($self, /, collection, queries, k=10, *, backend=None, progress=None)\n--\n\nsearch_one for "   \
    "every row of an (m, dim) float32 array, with one freshness check for the whole call; a list of m lists."
#define RV_SEARCH_FED_DOC                                                                                      \
    "search_federated($self, /, collection, query, k=10, *, backends=None)\n--\n\nSearches the collection on "    \
    "every backend holding it (or the named ones) in parallel and merges by score, ties by backend name then id."
static PyMethodDef rv_lake_methods[] = {
    {"register_backend", RV_FAST(rv_lake_register_backend),
     "register_backend($self, /, backend)\n--\n\nAdds a LocalBackend, FsBackend or BackendAdapter.\n\nNames "
     "are unique: a second backend with a registered name raises LakeError."},
    {"search_one", RV_FAST(rv_lake_search_one), RV_SEARCH_ONE_DOC},
    {"search_batch", RV_FAST(rv_lake_search_batch), RV_SEARCH_BATCH_DOC},
    {"search_federated", RV_FAST(rv_lake_search_fed), RV_SEARCH_FED_DOC},
    {"search_one_async", RV_FAST(rv_lake_search_one_async),
     "search_one_async($self, /, collection, query, k=10, *, backend=None)\n--\n\nsearch_one on the worker "
     "pool; returns an awaitable (RuLake wraps it in a coroutine for asyncio.create_task)."},
    {"search_batch_async", RV_FAST(rv_lake_search_batch_async),
     "search_batch_async($self, /, collection, queries, k=10, *, backend=None)\n--\n\nsearch_batch on the "
     "worker pool; returns an awaitable."},
    {"search_federated_async", RV_FAST(rv_lake_search_fed_async),
     "search_federated_async($self, /, collection, query, k=10, *, backends=None)\n--\n\nsearch_federated on "
     "the worker pool; returns an awaitable."},
    {"publish_bundle", RV_FAST(rv_lake_publish),
     "publish_bundle($self, /, collection, out_dir, *, backend=None)\n--\n\nWrites the backend's current "
     "table.rulake.json into out_dir and returns its witness (64 hex chars)."},
    {"refresh_from_bundle_dir", RV_FAST(rv_lake_refresh),
     "refresh_from_bundle_dir($self, /, key, dir)\n--\n\nCompares the key's cache with the bundle in dir.\n\n"
     "key = (backend, collection): an unregistered backend, or a collection it does not hold and the lake does "
     "not cache, raises LakeError. Then BUNDLE_MISSING without a bundle; UP_TO_DATE when the key's witness "
     "matches (or the key is not cached); INVALIDATED (and the key dropped) when it differs. A bundle that does "
     "not verify raises WitnessMismatch."},
    {"save_cache_to_dir", RV_FAST(rv_lake_save),
     "save_cache_to_dir($self, /, key, dir)\n--\n\nSaves the key's cache entry (codes, originals, real ids, "
     "and the bundle of the witness it was built from) into dir; returns dir."},
    {"warm_from_dir", RV_FAST(rv_lake_warm),
     "warm_from_dir($self, /, key, dir)\n--\n\nInstalls an entry saved by save_cache_to_dir without "
     "contacting the backend; returns its vector count."},
    {"invalidate_cache", RV_FAST(rv_lake_invalidate_m),
     "invalidate_cache($self, /, key)\n--\n\nDrops the key's cache entry; its next search primes again."},
    {"cache_witness_of", RV_FAST(rv_lake_witness_m),
     "cache_witness_of($self, /, key)\n--\n\nThe witness the key's cache entry was built from, or None when "
     "the key is not cached."},
    {"cached_index", RV_FAST(rv_lake_cached_index_m),
     "cached_index($self, /, key)\n--\n\nThe key's cached RabitqPlusIndex, or None.\n\nRead-only (shared "
     "with the lake's searches); the lake may update it in place with the backend's changes."},
    {"cache_stats", rv_lake_stats_m, METH_NOARGS,
     "cache_stats($self, /)\n--\n\nThe lake's cache counters (CacheStats)."},
    {"cache_stats_by_backend", rv_lake_stats_backend_m, METH_NOARGS,
     "cache_stats_by_backend($self, /)\n--\n\nCacheStats per backend name."},
    {"cache_stats_by_collection", rv_lake_stats_collection_m, METH_NOARGS,
     "cache_stats_by_collection($self, /)\n--\n\nCacheStats per (backend, collection) key."},
    {"session", rv_lake_session_m, METH_NOARGS,
     "session($self, /)\n--\n\nA consistent snapshot: each key is checked once for the whole session.\n\nUse "
     "as `with lake.session() as s:`; on exit, the entries used are saved to cache_dir when one is set."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rv_lake_getset[] = {
    {"cache_entries", rv_lake_entries_get, NULL, "Number of cached indexes.", NULL},
    {"cache_bytes", rv_lake_bytes_get, NULL, "Memory held by cached indexes.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyDoc_STRVAR(rv_lake_doc, "RuLake: a cache-first vector federation layer over backends.\n\n"
"Build one with RuLake.builder()...build(). Each (backend, collection) key is served from a cached\n"
"RabitqPlusIndex built from the backend's data; a SHAKE-256 witness over the collection's identity\n"
"and version tells whether the cache is current.");

/* ---- session ------------------------------------------------------------------------------ */

static int rv_session_ready(rv_module_state *st, rv_py_session *self)
{
    if (!self->s) {
        PyErr_SetString(st->LakeError, "the session is closed");
        return -1;
    }
    return 0;
}

#define RV_SESSION_SEARCH(fn, op, name)                                                                          \
    static PyObject *fn(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)              \
    {                                                                                                           \
        rv_py_session *self = (rv_py_session *)obj;                                                             \
        if (rv_session_ready(rv_state_of(obj), self) < 0)                                                       \
            return NULL;                                                                                        \
        return rv_lake_sync(obj, self->owner->lake, self->s, op, name, args, nargs, kwnames);                   \
    }
RV_SESSION_SEARCH(rv_session_search_one, RV_OP_ONE, "search_one")
RV_SESSION_SEARCH(rv_session_search_batch, RV_OP_BATCH, "search_batch")
RV_SESSION_SEARCH(rv_session_search_fed, RV_OP_FED, "search_federated")

static PyObject *rv_session_close_m(PyObject *obj, PyObject *unused)
{
    (void)unused;
    rv_py_session *self = (rv_py_session *)obj;
    rv_lake_session *s = self->s;
    self->s = NULL;
    if (!s)
        Py_RETURN_NONE;
    rv_status status;
    RV_NOGIL(status = rv_lake_session_close(s););
    return status == RV_OK ? Py_NewRef(Py_None) : rv_py_raise(rv_state_of(obj), status);
}

static PyObject *rv_session_enter(PyObject *obj, PyObject *unused)
{
    (void)unused;
    return Py_NewRef(obj);
}

static PyObject *rv_session_exit(PyObject *obj, PyObject *args)
{
    (void)args;
    PyObject *r = rv_session_close_m(obj, NULL);
    if (!r)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static void rv_session_dealloc(PyObject *obj)
{
    rv_py_session *self = (rv_py_session *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    if (self->s) {
        rv_lake_session *s = self->s;
        self->s = NULL;
        RV_NOGIL(rv_lake_session_close(s););
    }
    Py_XDECREF(self->owner);
    tp->tp_free(obj);
    Py_DECREF(tp);
}

static PyMethodDef rv_session_methods[] = {
    {"search_one", RV_FAST(rv_session_search_one), RV_SEARCH_ONE_DOC "\n\nWithin the session's snapshot."},
    {"search_batch", RV_FAST(rv_session_search_batch), RV_SEARCH_BATCH_DOC "\n\nWithin the session's snapshot."},
    {"search_federated", RV_FAST(rv_session_search_fed), RV_SEARCH_FED_DOC "\n\nWithin the session's snapshot."},
    {"close", rv_session_close_m, METH_NOARGS,
     "close($self, /)\n--\n\nReleases the snapshot, saving its entries to the lake's cache_dir when one is set."},
    {"__enter__", rv_session_enter, METH_NOARGS, "__enter__($self, /)\n--\n\nReturns the session."},
    {"__exit__", rv_session_exit, METH_VARARGS, "__exit__($self, /, *exc_info)\n--\n\nCloses the session."},
    {NULL, NULL, 0, NULL},
};

/* ---- module functions --------------------------------------------------------------------- */

static PyObject *rv_witness_fn(PyObject *module, PyObject *args)
{
    rv_module_state *st = PyModule_GetState(module);
    const char *data_ref;
    unsigned long long dim, seed, rf;
    PyObject *gen;
    if (!PyArg_ParseTuple(args, "sKKKO", &data_ref, &dim, &seed, &rf, &gen))
        return NULL;
    rv_generation g = {false, 0, NULL};
    if (PyUnicode_Check(gen)) {
        g.opaque = true;
        if (rv_py_str_get(st, gen, "generation", &g.text) < 0)
            return NULL;
    } else if (PyLong_Check(gen) && !PyBool_Check(gen)) {
        g.num = PyLong_AsUnsignedLongLong(gen);
        if (PyErr_Occurred())
            return NULL;
    } else {
        PyErr_SetString(st->ArgumentTypeError, "generation must be an int or a str");
        return NULL;
    }
    char w[RV_WITNESS_HEX + 1];
    rv_status s = rv_witness(data_ref, dim, seed, rf, &g, w);
    return s == RV_OK ? PyUnicode_FromString(w) : rv_py_raise(st, s);
}

static PyObject *rv_bundle_read_fn(PyObject *module, PyObject *arg)
{
    rv_module_state *st = PyModule_GetState(module);
    PyObject *dir = rv_py_dir_arg(st, arg);
    if (!dir)
        return NULL;
    rv_bundle b;
    rv_status s;
    RV_NOGIL(s = rv_bundle_read_dir(PyBytes_AS_STRING(dir), &b););
    Py_DECREF(dir);
    if (s != RV_OK)
        return rv_py_raise(st, s);
    PyObject *gen = b.gen_opaque ? PyUnicode_FromString(b.gen_text) : PyLong_FromUnsignedLongLong(b.gen_num);
    PyObject *d = gen ? Py_BuildValue("{s:I,s:s,s:K,s:K,s:K,s:O,s:s,s:z,s:z,s:z}", "format_version", b.format_version,
                                      "data_ref", b.data_ref, "dim", (unsigned long long)b.dim, "rotation_seed",
                                      (unsigned long long)b.rotation_seed, "rerank_factor",
                                      (unsigned long long)b.rerank_factor, "generation", gen, "rvf_witness",
                                      b.witness, "pii_policy", b.pii_policy, "lineage_id", b.lineage_id,
                                      "memory_class", b.memory_class)
                      : NULL;
    Py_XDECREF(gen);
    rv_bundle_clear(&b);
    return d;
}

static PyMethodDef rv_lake_module_methods[] = {
    {"_witness", rv_witness_fn, METH_VARARGS, "_witness(data_ref, dim, rotation_seed, rerank_factor, generation)"},
    {"_bundle_read", rv_bundle_read_fn, METH_O, "_bundle_read(dir) -> dict"},
    {NULL, NULL, 0, NULL},
};

/* ---- types -------------------------------------------------------------------------------- */

static PyType_Slot rv_local_slots[] = {
    {Py_tp_doc, (void *)"LocalBackend(*, name='local')\n--\n\nCollections held in memory, under a unique backend "
                        "name.\n\nupsert(collection, ids, vectors), delete(collection, ids), drop(collection), "
                        "list_collections(). Keeps a bounded log of its writes so a RuLake can update its cache in "
                        "place."},
    {Py_tp_new, PyType_GenericNew}, {Py_tp_init, rv_local_init}, {Py_tp_dealloc, rv_backend_dealloc},
    {Py_tp_methods, rv_backend_methods}, {Py_tp_getset, rv_local_getset}, {Py_tp_repr, rv_backend_repr},
    {0, NULL},
};

static PyType_Slot rv_fsb_slots[] = {
    {Py_tp_doc, (void *)"FsBackend(*, name='fs', root)\n--\n\nOne upstream ruvec1 file per collection under root."
                        "\n\nSame methods as LocalBackend; every write is an atomic rewrite of the collection's "
                        "file."},
    {Py_tp_new, PyType_GenericNew}, {Py_tp_init, rv_fsb_init}, {Py_tp_dealloc, rv_backend_dealloc},
    {Py_tp_methods, rv_backend_methods}, {Py_tp_getset, rv_fsb_getset}, {Py_tp_repr, rv_backend_repr},
    {0, NULL},
};

static PyMemberDef rv_lake_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(rv_py_lake, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot rv_lake_slots[] = {
    {Py_tp_doc, (void *)rv_lake_doc}, {Py_tp_new, PyType_GenericNew}, {Py_tp_init, rv_lake_init},
    {Py_tp_dealloc, rv_lake_dealloc}, {Py_tp_traverse, rv_lake_traverse}, {Py_tp_methods, rv_lake_methods},
    {Py_tp_getset, rv_lake_getset}, {Py_tp_members, rv_lake_members}, {Py_tp_repr, rv_lake_repr},
    {Py_sq_contains, rv_lake_contains}, {0, NULL},
};

static PyType_Slot rv_session_slots[] = {
    {Py_tp_doc, (void *)"A RuLake session (from lake.session()): one freshness check per key, a consistent "
                        "snapshot."},
    {Py_tp_dealloc, rv_session_dealloc}, {Py_tp_methods, rv_session_methods}, {0, NULL},
};

static PyType_Spec rv_local_spec = {"ruvector.LocalBackend", sizeof(rv_py_backend), 0,
                                    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, rv_local_slots};
static PyType_Spec rv_fsb_spec = {"ruvector.FsBackend", sizeof(rv_py_backend), 0,
                                 Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, rv_fsb_slots};
static PyType_Spec rv_lake_spec = {"ruvector._RuLake", sizeof(rv_py_lake), 0,
                                   Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, rv_lake_slots};
static PyType_Spec rv_session_spec = {"ruvector.LakeSession", sizeof(rv_py_session), 0,
                                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                                      rv_session_slots};

int rv_py_lake_types_init(PyObject *module, rv_module_state *st)
{
    st->LocalBackendType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_local_spec, NULL);
    st->FsBackendType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_fsb_spec, NULL);
    st->LakeType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_lake_spec, NULL);
    st->SessionType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_session_spec, NULL);
    if (!st->LocalBackendType || !st->FsBackendType || !st->LakeType || !st->SessionType)
        return -1;
    if (PyModule_AddType(module, st->LocalBackendType) < 0 || PyModule_AddType(module, st->FsBackendType) < 0 ||
        PyModule_AddObjectRef(module, "_RuLake", (PyObject *)st->LakeType) < 0 ||
        PyModule_AddType(module, st->SessionType) < 0 || PyModule_AddFunctions(module, rv_lake_module_methods) < 0)
        return -1;
    return 0;
}
