/*
 * index_type.c — the Python index classes (FlatF32Index now; the RaBitQ family shares this file
 * and differs only in kind, docstrings and per-call search options).
 *
 * Every method converts its arguments (C-contiguous float32 arrays are read in place; build and
 * add copy the vectors once, into the index's own layout), releases the GIL
 * around the core call, and maps the status. The buffer protocol exports the stored (n, dim)
 * float32 matrix read-only without a copy; while any export lives the core refuses mutation
 * (IndexBusyError) instead of reallocating under the view.
 */
#include "module.h"

#include <structmember.h>

typedef struct rv_py_index {
    PyObject_HEAD
    rv_index *idx;
    PyObject *weakrefs;
} rv_py_index;

typedef struct rv_py_index_iter {
    PyObject_HEAD
    rv_py_index *owner; /* strong */
    uint64_t generation;
    size_t pos;
} rv_py_index_iter;

typedef struct rv_py_view_meta {
    Py_ssize_t shape[2], strides[2];
} rv_py_view_meta;

#define RV_STACK_K 64

static const char *rv_type_short_name(PyTypeObject *t)
{
    const char *dot = strrchr(t->tp_name, '.');
    return dot ? dot + 1 : t->tp_name;
}

static rv_index_kind rv_kind_of_type(rv_module_state *st, PyTypeObject *cls)
{
    for (int k = RV_INDEX_RABITQ_ASYM; k >= RV_INDEX_FLAT_F32; k--)
        if (st->IndexTypes[k] && PyType_IsSubtype(cls, st->IndexTypes[k]))
            return (rv_index_kind)k;
    return RV_INDEX_FLAT_F32;
}

static const char *rv_kind_name(rv_index_kind kind)
{
    switch (kind) {
    case RV_INDEX_FLAT_F32: return "FlatF32Index";
    case RV_INDEX_RABITQ: return "RabitqIndex";
    case RV_INDEX_RABITQ_PLUS: return "RabitqPlusIndex";
    case RV_INDEX_RABITQ_ASYM: return "RabitqAsymIndex";
    }
    return "unknown index";
}

static bool rv_is_index(rv_module_state *st, PyObject *obj)
{
    return PyObject_TypeCheck(obj, st->IndexTypes[rv_kind_of_type(st, Py_TYPE(obj))]);
}

/* Reads an optional integer keyword in lo..hi into *out (left alone when absent or None). */
static int rv_py_u32_opt(rv_module_state *st, PyObject *obj, const char *what, uint32_t lo, uint32_t hi,
                         uint32_t *out)
{
    if (!obj || obj == Py_None)
        return 0;
    int64_t v;
    if (rv_py_int_get(st, obj, what, lo, hi, &v) < 0)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* The build parameters from keyword objects (None = the kind's default). Every value is range
 * checked here, before any narrowing: seed=2**64 or seed=-1 is an error, not a wrapped seed. */
static int rv_py_params(rv_module_state *st, rv_index_kind kind, PyObject *seed, PyObject *rf, PyObject *qb,
                        PyObject *nlist, PyObject *bits, rv_index_params *p)
{
    *p = rv_index_params_default(kind);
    if (seed && seed != Py_None && rv_py_u64_get(st, seed, "seed", &p->seed) < 0)
        return -1;
    if (rv_py_u32_opt(st, rf, "rerank_factor", RV_RERANK_FACTOR_MIN, RV_RERANK_FACTOR_MAX, &p->rerank_factor) < 0 ||
        rv_py_u32_opt(st, qb, "query_bits", RV_QUERY_BITS_MIN, RV_QUERY_BITS_MAX, &p->query_bits) < 0 ||
        rv_py_u32_opt(st, nlist, "nlist", RV_NLIST_MIN, RV_NLIST_MAX, &p->nlist) < 0 ||
        rv_py_u32_opt(st, bits, "bits", RV_CODE_BITS_MIN, RV_CODE_BITS_MAX, &p->bits) < 0)
        return -1;
    return 0;
}

static PyObject *rv_wrap(PyTypeObject *cls, rv_index *idx)
{
    rv_py_index *self = (rv_py_index *)cls->tp_alloc(cls, 0);
    if (!self) {
        rv_index_release(idx);
        return NULL;
    }
    self->idx = idx;
    return (PyObject *)self;
}

PyObject *rv_py_index_wrap(rv_module_state *st, rv_index *idx)
{
    return rv_wrap(st->IndexTypes[rv_index_kind_of(idx)], idx);
}

rv_index *rv_py_index_handle(rv_module_state *st, PyObject *obj)
{
    for (int k = 1; k < 5; k++)
        if (st->IndexTypes[k] && PyObject_TypeCheck(obj, st->IndexTypes[k]))
            return ((rv_py_index *)obj)->idx;
    return NULL;
}

static void rv_index_dealloc(PyObject *obj)
{
    rv_py_index *self = (rv_py_index *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    if (self->weakrefs)
        PyObject_ClearWeakRefs(obj);
    rv_index_release(self->idx);
    tp->tp_free(obj);
    Py_DECREF(tp);
}

static PyObject *rv_index_tp_new(PyTypeObject *cls, PyObject *args, PyObject *kwds)
{
    PyObject *m = PyType_GetModuleByDef(cls, &rv_module_def);
    rv_module_state *st = PyModule_GetState(m);
    rv_index_kind kind = rv_kind_of_type(st, cls);
    static char *flat_kw[] = {"dim", NULL};
    static char *rq_kw[] = {"dim", "seed", "rerank_factor", "query_bits", "nlist", "bits", NULL};
    PyObject *dim_obj, *seed = NULL, *rf = NULL, *qb = NULL, *nl = NULL, *bits = NULL;
    const char *name = rv_kind_name(kind);
    if (PyTuple_GET_SIZE(args) == 0 && (!kwds || !PyDict_GetItemString(kwds, "dim")))
        return PyErr_Format(st->ArgumentTypeError,
                            "%s() needs a dim: %s.build(vectors) builds an index from an (n, dim) float32 array, "
                            "%s(dim) makes an empty one, %s.load(path) reads a saved one",
                            name, name, name, name);
    if (kind == RV_INDEX_FLAT_F32 ? !PyArg_ParseTupleAndKeywords(args, kwds, "O", flat_kw, &dim_obj)
                                  : !PyArg_ParseTupleAndKeywords(args, kwds, "O|$OOOOO", rq_kw, &dim_obj, &seed,
                                                                 &rf, &qb, &nl, &bits))
        return NULL;
    int64_t dim;
    rv_index_params p;
    if (rv_py_int_get(st, dim_obj, "dim", 1, RV_INDEX_MAX_DIM, &dim) < 0 ||
        rv_py_params(st, kind, seed, rf, qb, nl, bits, &p) < 0)
        return NULL;
    rv_index *idx;
    rv_status s;
    RV_NOGIL(s = rv_index_create(kind, (uint32_t)dim, &p, &idx));
    if (s != RV_OK)
        return rv_py_raise(st, s);
    return rv_wrap(cls, idx);
}

/* ---- build / load -------------------------------------------------------------------------- */

static PyObject *rv_index_build_m(PyObject *cls_obj, PyTypeObject *defcls, PyObject *const *args,
                                  Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    PyTypeObject *cls = (PyTypeObject *)cls_obj;
    rv_index_kind kind = rv_kind_of_type(st, cls);
    static const char *const flat_names[] = {"vectors", "ids", "progress", NULL};
    static const char *const rq_names[] = {"vectors", "ids", "progress", "seed", "rerank_factor", "query_bits",
                                           "nlist", "bits", NULL};
    PyObject *a[8] = {NULL};
    if (rv_py_parse(st, "build", args, nargs, kwnames, kind == RV_INDEX_FLAT_F32 ? flat_names : rq_names, 2, 1, a) < 0)
        return NULL;
    rv_index_params params;
    if (rv_py_params(st, kind, a[3], a[4], a[5], a[6], a[7], &params) < 0)
        return NULL;
    rv_py_matrix mat;
    rv_py_ids ids = {0};
    rv_py_progress prog = {0};
    PyObject *result = NULL;
    if (rv_py_matrix_get(st, a[0], 2, "vectors", &mat) < 0)
        return NULL;
    bool have_ids = a[1] && a[1] != Py_None;
    if (have_ids) {
        if (rv_py_ids_get(st, a[1], "ids", &ids) < 0)
            goto done;
        if (ids.n != mat.rows) {
            PyErr_Format(st->ArgumentError, "ids has %zd entries but vectors has %zd rows", ids.n, mat.rows);
            goto done;
        }
    }
    if (rv_py_progress_init(st, a[2], kind == RV_INDEX_FLAT_F32 ? "build" : "encode", &prog) < 0)
        goto done;
    rv_index *idx = NULL;
    rv_status s;
    RV_NOGIL(s = rv_index_build(kind, (uint32_t)mat.cols, &params, mat.data, have_ids ? ids.data : NULL,
                                (size_t)mat.rows, &prog.c, &idx));
    if (s != RV_OK)
        rv_py_raise(st, s);
    else
        result = rv_wrap(cls, idx);
done:
    rv_py_progress_done(&prog);
    rv_py_ids_release(&ids);
    rv_py_matrix_release(&mat);
    return result;
}

static PyObject *rv_index_load_m(PyObject *cls_obj, PyTypeObject *defcls, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    PyTypeObject *cls = (PyTypeObject *)cls_obj;
    static const char *const names[] = {"path", NULL};
    PyObject *a[1], *path = NULL;
    if (rv_py_parse(st, "load", args, nargs, kwnames, names, 1, 1, a) < 0 || rv_py_path_get(st, a[0], &path) < 0)
        return NULL;
    rv_index *idx = NULL;
    rv_status s;
    const char *cpath = PyBytes_AS_STRING(path);
    RV_NOGIL(s = rv_index_load(cpath, &idx));
    if (s != RV_OK) {
        rv_py_raise_load(st, s, path);
        Py_DECREF(path);
        return NULL;
    }
    rv_index_kind want = rv_kind_of_type(st, cls), got = rv_index_kind_of(idx);
    if (want != got) {
        PyErr_Format(st->PersistError, "'%s' holds a %s, not a %s; load it with ruvector.%s.load", cpath,
                     rv_kind_name(got), rv_kind_name(want), rv_kind_name(got));
        Py_DECREF(path);
        rv_index_release(idx);
        return NULL;
    }
    Py_DECREF(path);
    return rv_wrap(cls, idx);
}

/* ---- search ---------------------------------------------------------------------------------- */

/* Per-call overrides; FlatF32Index has none, and says so. */
static int rv_py_search_params(rv_module_state *st, PyObject *self, PyObject *rf, PyObject *nprobe,
                               rv_search_params *sp)
{
    *sp = (rv_search_params){0};
    bool given = (rf && rf != Py_None) || (nprobe && nprobe != Py_None);
    rv_index_kind kind = rv_index_kind_of(((rv_py_index *)self)->idx);
    if (!given)
        return 0;
    if (kind == RV_INDEX_FLAT_F32) {
        PyErr_SetString(st->ArgumentTypeError, "FlatF32Index.search is exact and takes no rerank_factor or nprobe");
        return -1;
    }
    if (rv_py_u32_opt(st, rf, "rerank_factor", 1, RV_RERANK_FACTOR_MAX, &sp->rerank_factor) < 0 ||
        rv_py_u32_opt(st, nprobe, "nprobe", 1, UINT32_MAX, &sp->nprobe) < 0)
        return -1;
    return 0;
}

/* What search and search_batch share: the query (ndim 1) or queries (ndim 2), k, the overrides,
 * and the per-query result capacity min(k, len) (at least 1) taken from a len() snapshot. */
static int rv_py_search_args(rv_module_state *st, PyObject *obj, const char *fname, int ndim,
                             PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, rv_py_matrix *q,
                             size_t *k, size_t *kcap, rv_search_params *sp)
{
    static const char *const one[] = {"query", "k", "rerank_factor", "nprobe", NULL};
    static const char *const many[] = {"queries", "k", "rerank_factor", "nprobe", NULL};
    PyObject *a[4];
    if (rv_py_parse(st, fname, args, nargs, kwnames, ndim == 1 ? one : many, 2, 1, a) < 0 ||
        rv_py_k_get(st, a[1], k) < 0 || rv_py_search_params(st, obj, a[2], a[3], sp) < 0 ||
        rv_py_matrix_get(st, a[0], ndim, ndim == 1 ? "query" : "queries", q) < 0)
        return -1;
    size_t n = rv_index_len(((rv_py_index *)obj)->idx);
    *kcap = *k < n ? *k : (n ? n : 1);
    return 0;
}

static PyObject *rv_index_search_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    rv_py_matrix q;
    size_t k, kcap;
    rv_search_params sp;
    if (rv_py_search_args(st, obj, "search", 1, args, nargs, kwnames, &q, &k, &kcap, &sp) < 0)
        return NULL;
    int64_t ids_stack[RV_STACK_K];
    float scores_stack[RV_STACK_K];
    int64_t *ids = ids_stack;
    float *scores = scores_stack;
    PyObject *list = NULL;
    if (kcap > RV_STACK_K) {
        ids = PyMem_Malloc(kcap * sizeof(int64_t));
        scores = PyMem_Malloc(kcap * sizeof(float));
        if (!ids || !scores) {
            PyErr_NoMemory();
            goto done;
        }
    }
    size_t kk = 0, got = 0;
    rv_status s;
    RV_NOGIL(s = rv_index_search(self->idx, q.data, 1, (uint32_t)q.cols, k, &sp, kcap, ids, scores, &got, &kk));
    if (s != RV_OK) {
        rv_py_raise(st, s);
        goto done;
    }
    list = PyList_New((Py_ssize_t)got); /* only real hits: fewer than k when nprobe cut the scan */
    for (size_t i = 0; list && i < got; i++) {
        PyObject *hit = rv_py_hit_new(st, ids[i], scores[i]);
        if (!hit)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)i, hit); /* steals */
    }
done:
    if (ids != ids_stack)
        PyMem_Free(ids);
    if (scores != scores_stack)
        PyMem_Free(scores);
    rv_py_matrix_release(&q);
    return list;
}

static PyObject *rv_index_search_batch_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                         Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    rv_py_matrix q;
    size_t k, kcap;
    rv_search_params sp;
    if (rv_py_search_args(st, obj, "search_batch", 2, args, nargs, kwnames, &q, &k, &kcap, &sp) < 0)
        return NULL;
    npy_intp dims[2] = {q.rows, (npy_intp)kcap};
    PyArrayObject *ids = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_INT64);
    PyArrayObject *scores = (PyArrayObject *)PyArray_SimpleNew(2, dims, NPY_FLOAT32);
    PyObject *result = NULL;
    if (!ids || !scores)
        goto done;
    size_t kk = 0;
    rv_status s;
    int64_t *pid = PyArray_DATA(ids);
    float *psc = PyArray_DATA(scores);
    rv_py_progress interrupt; /* no bar: only lets Ctrl-C stop the batch between chunks */
    rv_py_progress_init(st, NULL, "search", &interrupt);
    sp.progress = &interrupt.c;
    /* Short rows come back padded with id -1 / score +inf (documented in the stubs). */
    RV_NOGIL(s = rv_index_search(self->idx, q.data, (size_t)q.rows, (uint32_t)q.cols, k, &sp, kcap, pid, psc, NULL, &kk));
    rv_py_progress_done(&interrupt);
    if (s != RV_OK) {
        rv_py_raise(st, s);
        goto done;
    }
    if (kk != kcap) { /* the index shrank between our len() and the search: results are packed */
        PyArray_Dims shape = {(npy_intp[]){q.rows, (npy_intp)kk}, 2};
        npy_intp total = q.rows * (npy_intp)kk;
        PyObject *flat_i = PyArray_SimpleNew(1, &total, NPY_INT64), *flat_s = PyArray_SimpleNew(1, &total, NPY_FLOAT32);
        if (!flat_i || !flat_s) {
            Py_XDECREF(flat_i);
            Py_XDECREF(flat_s);
            goto done;
        }
        memcpy(PyArray_DATA((PyArrayObject *)flat_i), pid, (size_t)total * sizeof(int64_t));
        memcpy(PyArray_DATA((PyArrayObject *)flat_s), psc, (size_t)total * sizeof(float));
        Py_SETREF(ids, (PyArrayObject *)PyArray_Newshape((PyArrayObject *)flat_i, &shape, NPY_CORDER));
        Py_SETREF(scores, (PyArrayObject *)PyArray_Newshape((PyArrayObject *)flat_s, &shape, NPY_CORDER));
        Py_DECREF(flat_i);
        Py_DECREF(flat_s);
        if (!ids || !scores)
            goto done;
    }
    result = PyTuple_Pack(2, (PyObject *)ids, (PyObject *)scores);
done:
    Py_XDECREF(ids);
    Py_XDECREF(scores);
    rv_py_matrix_release(&q);
    return result;
}

/* ---- mutation ------------------------------------------------------------------------------ */

static PyObject *rv_index_add_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    static const char *const names[] = {"id", "vector", NULL};
    PyObject *a[2];
    int64_t id;
    if (rv_py_parse(st, "add", args, nargs, kwnames, names, 2, 2, a) < 0 || rv_py_id_get(st, a[0], "id", &id) < 0)
        return NULL;
    rv_py_matrix v;
    if (rv_py_matrix_get(st, a[1], 1, "vector", &v) < 0)
        return NULL;
    rv_status s;
    RV_NOGIL(s = rv_index_add(self->idx, &id, v.data, 1, (uint32_t)v.cols, NULL));
    rv_py_matrix_release(&v);
    if (s != RV_OK)
        return rv_py_raise(st, s);
    Py_RETURN_NONE;
}

static PyObject *rv_index_add_batch_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                      Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    static const char *const names[] = {"ids", "vectors", "progress", NULL};
    PyObject *a[3], *result = NULL;
    if (rv_py_parse(st, "add_batch", args, nargs, kwnames, names, 2, 2, a) < 0)
        return NULL;
    rv_py_ids ids;
    rv_py_matrix v = {0};
    rv_py_progress prog = {0};
    if (rv_py_ids_get(st, a[0], "ids", &ids) < 0)
        return NULL;
    if (rv_py_matrix_get(st, a[1], 2, "vectors", &v) < 0)
        goto done;
    if (ids.n != v.rows) {
        PyErr_Format(st->ArgumentError, "ids has %zd entries but vectors has %zd rows", ids.n, v.rows);
        goto done;
    }
    bool flat = rv_index_kind_of(self->idx) == RV_INDEX_FLAT_F32;
    if (rv_py_progress_init(st, a[2], flat ? "add_batch" : "encode", &prog) < 0)
        goto done;
    rv_status s;
    RV_NOGIL(s = rv_index_add(self->idx, ids.data, v.data, (size_t)v.rows, (uint32_t)v.cols, &prog.c));
    if (s != RV_OK)
        rv_py_raise(st, s);
    else
        result = Py_NewRef(Py_None);
done:
    rv_py_progress_done(&prog);
    rv_py_matrix_release(&v);
    rv_py_ids_release(&ids);
    return result;
}

static PyObject *rv_index_remove_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    static const char *const names[] = {"id", NULL};
    PyObject *a[1];
    int64_t id;
    if (rv_py_parse(st, "remove", args, nargs, kwnames, names, 1, 1, a) < 0 || rv_py_id_get(st, a[0], "id", &id) < 0)
        return NULL;
    rv_status s;
    RV_NOGIL(s = rv_index_remove(self->idx, id));
    if (s != RV_OK)
        return rv_py_raise(st, s);
    Py_RETURN_NONE;
}

static PyObject *rv_index_save_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    static const char *const names[] = {"path", NULL};
    PyObject *a[1], *path = NULL;
    if (rv_py_parse(st, "save", args, nargs, kwnames, names, 1, 1, a) < 0 || rv_py_path_get(st, a[0], &path) < 0)
        return NULL;
    rv_status s;
    const char *cpath = PyBytes_AS_STRING(path);
    RV_NOGIL(s = rv_index_save(self->idx, cpath));
    Py_DECREF(path);
    if (s != RV_OK)
        return rv_py_raise(st, s);
    Py_RETURN_NONE;
}

/* ---- properties and protocols ---------------------------------------------------------------- */

static PyObject *rv_index_get_dim(PyObject *obj, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(rv_index_dim(((rv_py_index *)obj)->idx));
}

static PyObject *rv_index_get_memory_bytes(PyObject *obj, void *closure)
{
    (void)closure;
    size_t bytes;
    RV_NOGIL(bytes = rv_index_memory_bytes(((rv_py_index *)obj)->idx));
    return PyLong_FromSize_t(bytes);
}

static PyObject *rv_index_get_param(PyObject *obj, void *closure)
{
    rv_index_params p = rv_index_params_of(((rv_py_index *)obj)->idx);
    switch ((int)(intptr_t)closure) {
    case 0: return PyLong_FromUnsignedLongLong(p.seed);
    case 1: return PyLong_FromUnsignedLong(p.rerank_factor);
    case 2: return PyLong_FromUnsignedLong(p.query_bits);
    case 3: return PyLong_FromUnsignedLong(p.bits);
    default: return NULL;
    }
}

static PyObject *rv_index_get_nlist(PyObject *obj, void *closure)
{
    (void)closure;
    return PyLong_FromUnsignedLong(rv_index_nlist(((rv_py_index *)obj)->idx));
}

static PyObject *rv_index_array(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    /* np.asarray(idx): a zero-copy view through the buffer protocol; codes-only indexes raise
     * NotRetainedError here rather than letting NumPy fall back to an object array. */
    (void)args, (void)nargs, (void)kwnames;
    PyObject *view = PyMemoryView_FromObject(obj);
    if (!view)
        return NULL;
    PyObject *arr = PyArray_FromAny(view, NULL, 0, 0, 0, NULL);
    Py_DECREF(view);
    return arr;
}

static Py_ssize_t rv_index_length(PyObject *obj) { return (Py_ssize_t)rv_index_len(((rv_py_index *)obj)->idx); }

static PyObject *rv_index_subscript(PyObject *obj, PyObject *key)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_index *self = (rv_py_index *)obj;
    int64_t id;
    if (rv_py_id_get(st, key, "id", &id) < 0)
        return NULL;
    npy_intp dim = rv_index_dim(self->idx);
    PyObject *arr = PyArray_SimpleNew(1, &dim, NPY_FLOAT32);
    if (!arr)
        return NULL;
    rv_status s;
    float *out = PyArray_DATA((PyArrayObject *)arr);
    RV_NOGIL(s = rv_index_get(self->idx, id, out));
    if (s != RV_OK) {
        Py_DECREF(arr);
        return rv_py_raise(st, s);
    }
    return arr;
}

/* `x in idx`: whether x is a stored id. Anything that is not an int64 ("a", 2.5, 2**70) is not
 * one, so the answer is False rather than an exception (as `"a" in {1: 2}` is). */
static int rv_index_contains_id(PyObject *obj, PyObject *key)
{
    rv_module_state *st = rv_state_of(obj);
    int64_t id;
    if (rv_py_id_get(st, key, "id", &id) < 0) {
        if (!PyErr_ExceptionMatches(st->ArgumentTypeError) && !PyErr_ExceptionMatches(st->ArgumentError))
            return -1;
        PyErr_Clear();
        return 0;
    }
    bool found;
    RV_NOGIL(found = rv_index_contains(((rv_py_index *)obj)->idx, id));
    return found;
}

static PyObject *rv_index_repr(PyObject *obj)
{
    rv_index *idx = ((rv_py_index *)obj)->idx;
    size_t bytes;
    RV_NOGIL(bytes = rv_index_memory_bytes(idx));
    if (rv_index_kind_of(idx) == RV_INDEX_FLAT_F32)
        return PyUnicode_FromFormat("%s(n=%zu, dim=%u, memory_bytes=%zu)", rv_type_short_name(Py_TYPE(obj)),
                                    rv_index_len(idx), rv_index_dim(idx), bytes);
    rv_index_params p = rv_index_params_of(idx);
    return PyUnicode_FromFormat("%s(n=%zu, dim=%u, memory_bytes=%zu, nlist=%u, rerank_factor=%u, seed=%llu)",
                                rv_type_short_name(Py_TYPE(obj)), rv_index_len(idx), rv_index_dim(idx), bytes,
                                rv_index_nlist(idx), p.rerank_factor, (unsigned long long)p.seed);
}

static PyObject *rv_index_richcompare(PyObject *a, PyObject *b, int op)
{
    rv_module_state *st = rv_state_of(a);
    if ((op != Py_EQ && op != Py_NE) || !rv_is_index(st, b))
        Py_RETURN_NOTIMPLEMENTED;
    bool eq;
    rv_index *x = ((rv_py_index *)a)->idx, *y = ((rv_py_index *)b)->idx;
    RV_NOGIL(eq = rv_index_equal(x, y));
    return PyBool_FromLong(op == Py_EQ ? eq : !eq);
}

static PyObject *rv_index_iter(PyObject *obj)
{
    rv_module_state *st = rv_state_of(obj);
    rv_py_index_iter *it = PyObject_New(rv_py_index_iter, st->IndexIterType);
    if (!it)
        return NULL;
    it->owner = (rv_py_index *)Py_NewRef(obj);
    it->generation = rv_index_generation(it->owner->idx);
    it->pos = 0;
    return (PyObject *)it;
}

static int rv_index_getbuffer(PyObject *obj, Py_buffer *view, int flags)
{
    rv_py_index *self = (rv_py_index *)obj;
    if (flags & PyBUF_WRITABLE) {
        PyErr_SetString(PyExc_BufferError, "the index's vectors are read-only");
        view->obj = NULL;
        return -1;
    }
    rv_py_view_meta *meta = PyMem_Malloc(sizeof *meta);
    if (!meta) {
        PyErr_NoMemory();
        view->obj = NULL;
        return -1;
    }
    static float empty_storage;
    const float *data = NULL;
    size_t rows = 0;
    rv_status s;
    RV_NOGIL(s = rv_index_pin(self->idx, &data, &rows));
    if (s != RV_OK) {
        PyMem_Free(meta);
        view->obj = NULL;
        rv_py_raise(rv_state_of(obj), s);
        return -1;
    }
    Py_ssize_t dim = rv_index_dim(self->idx);
    meta->shape[0] = (Py_ssize_t)rows;
    meta->shape[1] = dim;
    meta->strides[0] = dim * (Py_ssize_t)sizeof(float);
    meta->strides[1] = sizeof(float);
    view->buf = (void *)(data ? data : &empty_storage);
    view->obj = Py_NewRef(obj);
    view->len = (Py_ssize_t)rows * dim * (Py_ssize_t)sizeof(float);
    view->readonly = 1;
    view->itemsize = sizeof(float);
    view->format = (flags & PyBUF_FORMAT) ? (char *)"f" : NULL;
    view->ndim = 2;
    view->shape = (flags & PyBUF_ND) ? meta->shape : NULL;
    view->strides = (flags & PyBUF_STRIDES) == PyBUF_STRIDES ? meta->strides : NULL;
    view->suboffsets = NULL;
    view->internal = meta;
    return 0;
}

static void rv_index_releasebuffer(PyObject *obj, Py_buffer *view)
{
    rv_index_unpin(((rv_py_index *)obj)->idx);
    PyMem_Free(view->internal);
}

/* ---- iterator ---------------------------------------------------------------------------------- */

static void rv_iter_dealloc(PyObject *obj)
{
    PyTypeObject *tp = Py_TYPE(obj);
    Py_XDECREF(((rv_py_index_iter *)obj)->owner);
    PyObject_Free(obj);
    Py_DECREF(tp);
}

static PyObject *rv_iter_next(PyObject *obj)
{
    rv_py_index_iter *it = (rv_py_index_iter *)obj;
    rv_index *idx = it->owner->idx;
    rv_module_state *st = rv_state_of(obj);
    if (rv_index_generation(idx) != it->generation) {
        PyErr_SetString(st->ConcurrentModificationError, "the index changed during iteration");
        return NULL;
    }
    if (it->pos >= rv_index_len(idx))
        return NULL;
    npy_intp dim = rv_index_dim(idx);
    PyObject *arr = PyArray_SimpleNew(1, &dim, NPY_FLOAT32);
    if (!arr)
        return NULL;
    int64_t id = 0;
    rv_status s;
    float *out = PyArray_DATA((PyArrayObject *)arr);
    uint64_t gen = it->generation;
    size_t pos = it->pos;
    RV_NOGIL(s = rv_index_row(idx, gen, pos, &id, out));
    if (s != RV_OK) {
        Py_DECREF(arr);
        return rv_py_raise(st, s);
    }
    it->pos++;
    return Py_BuildValue("(LN)", (long long)id, arr);
}

/* ---- type objects ---------------------------------------------------------------------------- */

/* Bound METH_METHOD methods are `builtin_method` objects, whose __doc__ is None on CPython 3.11
 * (that type's own __doc__ = None shadows the getter it inherits), so help(idx.search) and
 * `idx.search?` showed nothing. The method tables therefore hold plain METH_FASTCALL wrappers,
 * which find the defining class (for its module state) themselves. */
static PyTypeObject *rv_defining_type(PyObject *obj)
{
    PyTypeObject *t = PyType_Check(obj) ? (PyTypeObject *)obj : Py_TYPE(obj); /* classmethods get the class */
    PyObject *m = PyType_GetModuleByDef(t, &rv_module_def); /* borrowed */
    if (!m)
        return NULL;
    rv_module_state *st = PyModule_GetState(m);
    return st->IndexTypes[rv_kind_of_type(st, t)];
}

#define RV_PLAIN(fn)                                                                                          \
    static PyObject *fn##_w(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)      \
    {                                                                                                         \
        PyTypeObject *def = rv_defining_type(obj);                                                            \
        return def ? fn(obj, def, args, nargs, kwnames) : NULL;                                               \
    }
RV_PLAIN(rv_index_build_m)
RV_PLAIN(rv_index_load_m)
RV_PLAIN(rv_index_search_m)
RV_PLAIN(rv_index_search_batch_m)
RV_PLAIN(rv_index_add_m)
RV_PLAIN(rv_index_add_batch_m)
RV_PLAIN(rv_index_remove_m)
RV_PLAIN(rv_index_save_m)

/* Docstrings open with a text signature ("name($self, /, ...)\n--\n\n") so help(),
 * inspect.signature and Jupyter's `?` show the parameters; the names are exactly the keywords
 * rv_py_parse accepts and the defaults are the real ones (tests/test_glue_signatures.py). */
#define RV_METH (METH_FASTCALL | METH_KEYWORDS)
#define RV_COMMON_METHODS                                                                                     \
    {"load", (PyCFunction)(void (*)(void))rv_index_load_m_w, RV_METH | METH_CLASS,                              \
     "load($type, /, path)\n--\n\n"                                                                           \
     "Loads an index written by save() (str, bytes or os.PathLike path).\n\n"                                 \
     "Every length, offset and checksum is verified; a truncated, corrupt or foreign file raises\n"           \
     "PersistError, a missing one PersistFileNotFoundError (also a FileNotFoundError), and a file\n"         \
     "holding another index class says which class to load it with."},                                       \
    {"add", (PyCFunction)(void (*)(void))rv_index_add_m_w, RV_METH,                                             \
     "add($self, /, id, vector)\n--\n\n"                                                                      \
     "Appends one (dim,) float32 vector under a new int64 id.\n\n"                                            \
     "Raises DuplicateIdError (a ValueError), DimensionMismatch, ArgumentError (NaN/inf), and\n"             \
     "IndexBusyError while a view from np.asarray(index) is alive."},                                        \
    {"add_batch", (PyCFunction)(void (*)(void))rv_index_add_batch_m_w, RV_METH,                                 \
     "add_batch($self, /, ids, vectors, *, progress=None)\n--\n\n"                                            \
     "Appends n vectors under n new ids, all or nothing.\n\n"                                                 \
     "ids: n int64 ids (a list, range or integer array); vectors: (n, dim) float32, copied once\n"           \
     "into the index. progress: True for a bar on stderr (tqdm when installed), or a\n"                      \
     "callable(done, total). Raises as add() does, naming the offending row or id."},                        \
    {"remove", (PyCFunction)(void (*)(void))rv_index_remove_m_w, RV_METH,                                       \
     "remove($self, /, id)\n--\n\n"                                                                           \
     "Removes the vector stored under id in O(1) (the last row takes its slot).\n\n"                          \
     "Raises UnknownIdError (a KeyError) when id is not in the index."},                                      \
    {"save", (PyCFunction)(void (*)(void))rv_index_save_m_w, RV_METH,                                           \
     "save($self, /, path)\n--\n\n"                                                                           \
     "Writes the index to path atomically (temp file, fsync, rename).\n\n"                                    \
     "A crash leaves the old file or the new one, never a torn one. Raises PersistError on I/O\n"           \
     "failure."},                                                                                             \
    {"__array__", (PyCFunction)(void (*)(void))rv_index_array, METH_FASTCALL | METH_KEYWORDS,                  \
     "__array__($self, /, dtype=None, copy=None)\n--\n\n"                                                     \
     "The stored (n, dim) float32 vectors as a read-only view, without a copy.\n\n"                          \
     "Only on indexes that keep originals; others raise NotRetainedError (a LookupError)."}

#define RV_SEARCH_DOC                                                                                         \
    "search($self, /, query, k=10, *, rerank_factor=None, nprobe=None)\n--\n\n"                               \
    "The k nearest neighbours of a (dim,) float32 query, as a list of Hit(id, score).\n\n"                   \
    "Sorted by score (squared L2, ascending) then id; min(k, len) hits, fewer only when nprobe stops\n"    \
    "the scan before k candidates were seen (only real hits are returned). The query is used in place\n"  \
    "(no copy). Lists are visited nearest first until the RaBitQ error bound proves no unvisited\n"          \
    "list can hold a top-k vector; nprobe caps the lists visited. rerank_factor overrides the\n"             \
    "index's for this call (None: the index's). Raises EmptyIndex, DimensionMismatch,\n"                     \
    "ArgumentError (k < 1, NaN)."
#define RV_SEARCH_BATCH_DOC                                                                                   \
    "search_batch($self, /, queries, k=10, *, rerank_factor=None, nprobe=None)\n--\n\n"                       \
    "search() for each row of an (m, dim) float32 array, in parallel on the worker pool.\n\n"                \
    "The queries are used in place and the GIL is released. Returns (ids, scores): int64 and float32\n"     \
    "arrays of shape (m, min(k, len)); row i equals search(queries[i]), padded with id -1 and score\n"   \
    "+inf when that search returned fewer hits (nprobe)."
#define RV_RABITQ_METHODS(build_doc)                                                                          \
    {"build", (PyCFunction)(void (*)(void))rv_index_build_m_w, RV_METH | METH_CLASS, build_doc},                \
    {"search", (PyCFunction)(void (*)(void))rv_index_search_m_w, RV_METH, RV_SEARCH_DOC},                       \
    {"search_batch", (PyCFunction)(void (*)(void))rv_index_search_batch_m_w, RV_METH, RV_SEARCH_BATCH_DOC},     \
    RV_COMMON_METHODS,                                                                                        \
    {NULL, NULL, 0, NULL}

static PyMethodDef rv_flat_methods[] = {
    {"build", (PyCFunction)(void (*)(void))rv_index_build_m_w, RV_METH | METH_CLASS,
     "build($type, /, vectors, ids=None, *, progress=None)\n--\n\n"
     "Builds an exact index from an (n, dim) C-contiguous float32 array.\n\n"
     "The vectors are copied once, into the index's own layout (nothing else is copied; a list of\n"
     "lists is converted first). ids: n unique int64 ids (default 0..n-1). progress: True for a\n"
     "bar on stderr (tqdm when installed), or a callable(done, total). Releases the GIL.\n"
     "Raises ArgumentTypeError (dtype), ArgumentError (shape, NaN/inf, naming the row),\n"
     "DuplicateIdError."},
    {"search", (PyCFunction)(void (*)(void))rv_index_search_m_w, RV_METH,
     "search($self, /, query, k=10)\n--\n\n"
     "The k nearest stored vectors to a (dim,) float32 query, as a list of Hit(id, score).\n\n"
     "Sorted by exact squared L2 distance ascending, ties by id; min(k, len) hits. The query is\n"
     "used in place (no copy). Raises EmptyIndex, DimensionMismatch, ArgumentError (k < 1, NaN)."},
    {"search_batch", (PyCFunction)(void (*)(void))rv_index_search_batch_m_w, RV_METH,
     "search_batch($self, /, queries, k=10)\n--\n\n"
     "Searches an (m, dim) float32 array of queries in parallel on the worker pool.\n\n"
     "The queries are used in place and the GIL is released. Returns (ids, scores): int64 and float32\n"
     "arrays of shape (m, min(k, len)), each row as search() gives it."},
    RV_COMMON_METHODS,
    {NULL, NULL, 0, NULL},
};

#define RV_RABITQ_BUILD_DOC(defaults)                                                                        \
    "build($type, /, vectors, ids=None, *, progress=None, seed=0, " defaults ")\n--\n\n"                      \
    "Builds an index from an (n, dim) C-contiguous float32 array.\n\n"                                        \
    "Trains about sqrt(n) k-means lists, rotates each residual by a seeded random rotation and\n"           \
    "stores its RaBitQ code and correction factors (and, when the index keeps them, the vectors,\n"         \
    "copied once into its layout; the input array is read in place). Parallel, GIL released; the\n"          \
    "result depends only on the data and the parameters, never on the thread count (same data +\n"          \
    "seed => == and identical saved bytes).\n"                                                               \
    "ids: n unique int64 ids (default 0..n-1). seed: 0..2**64-1. rerank_factor: candidates\n"               \
    "reranked per result (1..1024). query_bits: precision of the rotated query in the code scan\n"          \
    "(1..8). nlist: lists (None or 0: about sqrt(n); at most 65536). bits: code bits per\n"                  \
    "coordinate, 1 (RaBitQ) or 2..8 (Extended RaBitQ: sharper estimates for bits x dim/8 bytes).\n"          \
    "progress: True for a bar on stderr naming the phase (k-means, encode), or a\n"                          \
    "callable(done, total)."

static PyMethodDef rv_rabitq_methods[] = {
    RV_RABITQ_METHODS(RV_RABITQ_BUILD_DOC("rerank_factor=1, query_bits=8, nlist=None, bits=1")),
};
static PyMethodDef rv_rabitq_plus_methods[] = {
    RV_RABITQ_METHODS(RV_RABITQ_BUILD_DOC("rerank_factor=20, query_bits=8, nlist=None, bits=4")),
};
static PyMethodDef rv_rabitq_asym_methods[] = {
    RV_RABITQ_METHODS(RV_RABITQ_BUILD_DOC("rerank_factor=1, query_bits=8, nlist=None, bits=4")),
};

#define RV_COMMON_GETSET                                                                                      \
    {"dim", rv_index_get_dim, NULL, "dimension of the stored vectors", NULL},                                 \
    {"memory_bytes", rv_index_get_memory_bytes, NULL,                                                        \
     "every heap byte the index owns (storage at capacity, codes, lists, id map, rotation)", NULL}

static PyGetSetDef rv_flat_getset[] = {
    RV_COMMON_GETSET,
    {NULL, NULL, NULL, NULL, NULL},
};

static PyGetSetDef rv_rabitq_getset[] = {
    RV_COMMON_GETSET,
    {"seed", rv_index_get_param, NULL, "the rotation and k-means seed", (void *)0},
    {"rerank_factor", rv_index_get_param, NULL, "candidates reranked per result (k x this)", (void *)1},
    {"query_bits", rv_index_get_param, NULL, "bits per rotated query coordinate in the code scan", (void *)2},
    {"nlist", rv_index_get_nlist, NULL, "the number of k-means lists (0 before the first vectors)", NULL},
    {"bits", rv_index_get_param, NULL, "bits per code coordinate (1 = RaBitQ, 2..8 = Extended RaBitQ)", (void *)3},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef rv_index_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(rv_py_index, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(rv_flat_doc,
"FlatF32Index(dim)\n--\n\n"
"Exact nearest-neighbour search by brute force over float32 vectors: the accuracy reference\n"
"(recall 1.0) and the fastest choice for small collections or large query batches (which run\n"
"as a blocked GEMM). Scores are squared L2 distances, ascending, ties by id.\n\n"
"Build with FlatF32Index.build(vectors, ids=None); FlatF32Index(dim) makes an empty one.\n"
"idx[id] returns a stored vector (a copy), `for id, vec in idx` iterates, np.asarray(idx) is\n"
"a read-only (n, dim) view of the stored vectors, without a copy.");

PyDoc_STRVAR(rv_rabitq_doc,
"RabitqIndex(dim, *, seed=0, rerank_factor=1, query_bits=8, nlist=None, bits=1)\n--\n\n"
"RaBitQ codes only (dim/8 bytes + 12 bytes of factors per vector, no originals): the smallest\n"
"index, returning estimated squared L2 distances; trades recall for memory (recall@10 ~0.4 on\n"
"clustered data with 1-bit codes, vs 0.08 for upstream's SimHash codes; bits=4 gives ~0.9).\n"
"idx[id], iteration and np.asarray raise NotRetainedError (a LookupError).");

PyDoc_STRVAR(rv_rabitq_plus_doc,
"RabitqPlusIndex(dim, *, seed=0, rerank_factor=20, query_bits=8, nlist=None, bits=4)\n--\n\n"
"RaBitQ codes (4-bit Extended RaBitQ by default) plus the original vectors: candidates come\n"
"from the error-bounded code scan and are reranked exactly, so scores are exact squared L2 and\n"
"recall@10 is ~1.0 at rerank_factor 5-20, at a fraction of a flat scan's cost. Keeps originals:\n"
"idx[id], iteration and zero-copy np.asarray(idx) work.");

PyDoc_STRVAR(rv_rabitq_asym_doc,
"RabitqAsymIndex(dim, *, seed=0, rerank_factor=1, query_bits=8, nlist=None, bits=4)\n--\n\n"
"Multi-bit RaBitQ codes (4 bits by default) scanned against a query kept at higher precision\n"
"(query_bits 8): with rerank_factor 1 it keeps codes only and returns estimates (recall@10 ~0.9\n"
"on clustered data, at bits x dim/8 bytes of code); with rerank_factor > 1 it also keeps the\n"
"originals and reranks exactly. The knob between RabitqIndex and RabitqPlusIndex.");

#define RV_INDEX_SLOTS(doc, methods, getset)                                                                 \
    {Py_tp_doc, (void *)(doc)}, {Py_tp_new, rv_index_tp_new}, {Py_tp_dealloc, rv_index_dealloc},             \
    {Py_tp_repr, rv_index_repr}, {Py_tp_richcompare, rv_index_richcompare},                                  \
    {Py_tp_hash, PyObject_HashNotImplemented}, {Py_tp_iter, rv_index_iter}, {Py_tp_methods, (methods)},     \
    {Py_tp_getset, (getset)}, {Py_tp_members, rv_index_members}, {Py_mp_length, rv_index_length},           \
    {Py_mp_subscript, rv_index_subscript}, {Py_sq_contains, rv_index_contains_id},                          \
    {Py_bf_getbuffer, rv_index_getbuffer}, {Py_bf_releasebuffer, rv_index_releasebuffer}, {0, NULL}

static PyType_Slot rv_flat_slots[] = {RV_INDEX_SLOTS(rv_flat_doc, rv_flat_methods, rv_flat_getset)};
static PyType_Slot rv_rabitq_slots[] = {RV_INDEX_SLOTS(rv_rabitq_doc, rv_rabitq_methods, rv_rabitq_getset)};
static PyType_Slot rv_rabitq_plus_slots[] = {
    RV_INDEX_SLOTS(rv_rabitq_plus_doc, rv_rabitq_plus_methods, rv_rabitq_getset)};
static PyType_Slot rv_rabitq_asym_slots[] = {
    RV_INDEX_SLOTS(rv_rabitq_asym_doc, rv_rabitq_asym_methods, rv_rabitq_getset)};

#define RV_INDEX_SPEC(pyname, table)                                                                         \
    {.name = "ruvector." pyname, .basicsize = sizeof(rv_py_index),                                          \
     .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE, .slots = (table)}

static PyType_Spec rv_index_specs[] = {
    RV_INDEX_SPEC("FlatF32Index", rv_flat_slots),
    RV_INDEX_SPEC("RabitqIndex", rv_rabitq_slots),
    RV_INDEX_SPEC("RabitqPlusIndex", rv_rabitq_plus_slots),
    RV_INDEX_SPEC("RabitqAsymIndex", rv_rabitq_asym_slots),
};

static PyType_Slot rv_iter_slots[] = {
    {Py_tp_dealloc, rv_iter_dealloc},
    {Py_tp_iter, PyObject_SelfIter},
    {Py_tp_iternext, rv_iter_next},
    {0, NULL},
};

static PyType_Spec rv_iter_spec = {
    .name = "ruvector._IndexIterator",
    .basicsize = sizeof(rv_py_index_iter),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .slots = rv_iter_slots,
};

int rv_py_index_types_init(PyObject *module, rv_module_state *st)
{
    for (int k = RV_INDEX_FLAT_F32; k <= RV_INDEX_RABITQ_ASYM; k++) {
        PyType_Spec *spec = &rv_index_specs[k - 1];
        st->IndexTypes[k] = (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
        if (!st->IndexTypes[k] ||
            PyModule_AddObjectRef(module, strchr(spec->name, '.') + 1, (PyObject *)st->IndexTypes[k]) < 0)
            return -1;
    }
    st->IndexIterType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_iter_spec, NULL);
    return st->IndexIterType ? 0 : -1;
}
