/*
 * lake_call.c — the search call behind every search method of RuLake and LakeSession
 * (search_one, search_batch, search_federated and their *_async twins).
 *
 * Every search is described by one rv_lake_call: parsed from the arguments, run by the core
 * with the GIL released (sync) or on a pool worker (async), then turned into Python objects.
 * Async methods create an asyncio future on the running loop, queue the call on the C pool
 * (rv_pool_submit: no executor, no thread per call) with copies of the query and names, and the
 * worker queues the finished call and wakes the loop through an eventfd the loop watches
 * (add_reader), without ever taking the GIL; the loop resolves queued futures in batches,
 * dropping results of cancelled futures.
 *
 * Invariants: a call's results are allocated by the core's allocator (rv_lake_alloc) and freed
 * by rv_lake_call_free on every path; the parsed arguments (buffers, the backends list, the
 * progress callback) are released by rv_call_args_release once the call ran (sync) or was
 * copied (async: rv_async_own copies the strings and the query into one block the task owns).
 * Sync calls report priming progress and let Ctrl-C cancel a prime or a batch; async calls
 * refuse progress=. Rows of a batch have stride kk and counts[q] real hits: padding never
 * reaches Python.
 */
#include "module.h"

#include <string.h>

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
            rv_py_lake_set_error(st, c->lake, c->status, c->msg);
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

PyObject *rv_py_lake_submit(PyObject *owner, rv_lake *lake, rv_lake_session *session, int op, const char *fname,
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

PyObject *rv_py_lake_sync(PyObject *owner, rv_lake *lake, rv_lake_session *session, int op, const char *fname,
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
