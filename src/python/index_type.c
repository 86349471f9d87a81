/*
 * index_type.c — the Python index classes (FlatF32Index now; the RaBitQ family shares this file
 * and differs only in kind, docstrings and per-call search options).
 *
 * Every method converts its arguments (zero-copy for C-contiguous float32), releases the GIL
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

static rv_module_state *rv_state_of(PyObject *self)
{
    PyObject *m = PyType_GetModuleByDef(Py_TYPE(self), &rv_module_def); /* borrowed */
    return m ? PyModule_GetState(m) : NULL;
}

static const char *rv_type_short_name(PyTypeObject *t)
{
    const char *dot = strrchr(t->tp_name, '.');
    return dot ? dot + 1 : t->tp_name;
}

static rv_index_kind rv_kind_of_type(rv_module_state *st, PyTypeObject *cls)
{
    (void)st;
    (void)cls;
    return RV_INDEX_FLAT_F32;
}

static const char *rv_kind_name(rv_index_kind kind)
{
    switch (kind) {
    case RV_INDEX_FLAT_F32: return "FlatF32Index";
    }
    return "unknown index";
}

static PyObject *rv_wrap(PyTypeObject *cls, rv_index *idx)
{
    rv_py_index *self = (rv_py_index *)cls->tp_alloc(cls, 0);
    if (!self) {
        rv_index_destroy(idx);
        return NULL;
    }
    self->idx = idx;
    return (PyObject *)self;
}

static void rv_index_dealloc(PyObject *obj)
{
    rv_py_index *self = (rv_py_index *)obj;
    PyTypeObject *tp = Py_TYPE(obj);
    if (self->weakrefs)
        PyObject_ClearWeakRefs(obj);
    rv_index_destroy(self->idx);
    tp->tp_free(obj);
    Py_DECREF(tp);
}

static PyObject *rv_index_tp_new(PyTypeObject *cls, PyObject *args, PyObject *kwds)
{
    PyObject *m = PyType_GetModuleByDef(cls, &rv_module_def);
    rv_module_state *st = PyModule_GetState(m);
    static char *kwlist[] = {"dim", NULL};
    PyObject *dim_obj;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O", kwlist, &dim_obj))
        return NULL;
    int64_t dim;
    if (rv_py_id_get(st, dim_obj, "dim", &dim) < 0)
        return NULL;
    if (dim < 1 || dim > (int64_t)RV_INDEX_MAX_DIM)
        return PyErr_Format(st->ArgumentError, "dim must be in 1..%u, not %lld", RV_INDEX_MAX_DIM, (long long)dim);
    rv_index *idx;
    rv_status s = rv_index_create(rv_kind_of_type(st, cls), (uint32_t)dim, &idx);
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
    static const char *const names[] = {"vectors", "ids", "progress", NULL};
    PyObject *a[3];
    if (rv_py_parse(st, "build", args, nargs, kwnames, names, 2, 1, a) < 0)
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
    if (rv_py_progress_init(st, a[2], "build", &prog) < 0)
        goto done;
    rv_index *idx = NULL;
    rv_status s;
    RV_NOGIL(s = rv_index_build(rv_kind_of_type(st, cls), (uint32_t)mat.cols, mat.data,
                                have_ids ? ids.data : NULL, (size_t)mat.rows, &prog.c, &idx));
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
        Py_DECREF(path);
        return rv_py_raise(st, s);
    }
    rv_index_kind want = rv_kind_of_type(st, cls), got = rv_index_kind_of(idx);
    if (want != got) {
        PyErr_Format(st->PersistError, "'%s' holds a %s, not a %s; load it with ruvector.%s.load", cpath,
                     rv_kind_name(got), rv_kind_name(want), rv_kind_name(got));
        Py_DECREF(path);
        rv_index_destroy(idx);
        return NULL;
    }
    Py_DECREF(path);
    return rv_wrap(cls, idx);
}

/* ---- search ---------------------------------------------------------------------------------- */

static PyObject *rv_index_search_m(PyObject *obj, PyTypeObject *defcls, PyObject *const *args,
                                   Py_ssize_t nargs, PyObject *kwnames)
{
    rv_module_state *st = PyType_GetModuleState(defcls);
    rv_py_index *self = (rv_py_index *)obj;
    static const char *const names[] = {"query", "k", NULL};
    PyObject *a[2];
    size_t k;
    if (rv_py_parse(st, "search", args, nargs, kwnames, names, 2, 1, a) < 0 || rv_py_k_get(st, a[1], &k) < 0)
        return NULL;
    rv_py_matrix q;
    if (rv_py_matrix_get(st, a[0], 1, "query", &q) < 0)
        return NULL;
    size_t n = rv_index_len(self->idx), kcap = k < n ? k : (n ? n : 1);
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
    size_t kk = 0;
    rv_status s;
    RV_NOGIL(s = rv_index_search(self->idx, q.data, 1, (uint32_t)q.cols, k, kcap, ids, scores, &kk));
    if (s != RV_OK) {
        rv_py_raise(st, s);
        goto done;
    }
    list = PyList_New((Py_ssize_t)kk);
    for (size_t i = 0; list && i < kk; i++) {
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
    static const char *const names[] = {"queries", "k", NULL};
    PyObject *a[2];
    size_t k;
    if (rv_py_parse(st, "search_batch", args, nargs, kwnames, names, 2, 1, a) < 0 || rv_py_k_get(st, a[1], &k) < 0)
        return NULL;
    rv_py_matrix q;
    if (rv_py_matrix_get(st, a[0], 2, "queries", &q) < 0)
        return NULL;
    size_t n = rv_index_len(self->idx), kcap = k < n ? k : (n ? n : 1);
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
    RV_NOGIL(s = rv_index_search(self->idx, q.data, (size_t)q.rows, (uint32_t)q.cols, k, kcap, pid, psc, &kk));
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
    if (rv_py_progress_init(st, a[2], "add_batch", &prog) < 0)
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

static int rv_index_contains_id(PyObject *obj, PyObject *key)
{
    rv_module_state *st = rv_state_of(obj);
    int64_t id;
    if (rv_py_id_get(st, key, "id", &id) < 0)
        return -1;
    bool found;
    RV_NOGIL(found = rv_index_contains(((rv_py_index *)obj)->idx, id));
    return found;
}

static PyObject *rv_index_repr(PyObject *obj)
{
    rv_index *idx = ((rv_py_index *)obj)->idx;
    size_t bytes;
    RV_NOGIL(bytes = rv_index_memory_bytes(idx));
    return PyUnicode_FromFormat("%s(n=%zu, dim=%u, memory_bytes=%zu)", rv_type_short_name(Py_TYPE(obj)),
                                rv_index_len(idx), rv_index_dim(idx), bytes);
}

static PyObject *rv_index_richcompare(PyObject *a, PyObject *b, int op)
{
    rv_module_state *st = rv_state_of(a);
    if ((op != Py_EQ && op != Py_NE) || !PyObject_TypeCheck(b, st->FlatF32IndexType))
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

#define RV_METH (METH_METHOD | METH_FASTCALL | METH_KEYWORDS)

static PyMethodDef rv_index_methods[] = {
    {"build", (PyCFunction)(void (*)(void))rv_index_build_m, RV_METH | METH_CLASS,
     "build(vectors, ids=None, *, progress=None) -> index\n\n"
     "Builds an index from an (n, dim) C-contiguous float32 array (used in place, no copy; a list\n"
     "of lists is accepted and copied). ids: n int64 ids (default 0..n-1), unique.\n"
     "progress: True for a bar, or a callable(done, total). Releases the GIL.\n"
     "Raises ArgumentTypeError (dtype), ArgumentError (shape, NaN/inf, naming the row),\n"
     "DuplicateIdError."},
    {"load", (PyCFunction)(void (*)(void))rv_index_load_m, RV_METH | METH_CLASS,
     "load(path) -> index\n\nLoads a file written by save(). Every length, offset and checksum is\n"
     "verified; a truncated, corrupt or foreign file raises PersistError."},
    {"search", (PyCFunction)(void (*)(void))rv_index_search_m, RV_METH,
     "search(query, k=10) -> list[Hit]\n\n"
     "The k nearest stored vectors to a (dim,) float32 query, as Hit(id, score) sorted by\n"
     "squared L2 distance ascending, ties by id. Returns min(k, len) hits. Raises EmptyIndex,\n"
     "DimensionMismatch, ArgumentError (k < 1, NaN)."},
    {"search_batch", (PyCFunction)(void (*)(void))rv_index_search_batch_m, RV_METH,
     "search_batch(queries, k=10) -> (ids, scores)\n\n"
     "Searches an (m, dim) float32 array of queries in parallel on the worker pool (GIL released).\n"
     "Returns ids int64 (m, min(k, len)) and scores float32 (m, min(k, len)), each row like search()."},
    {"add", (PyCFunction)(void (*)(void))rv_index_add_m, RV_METH,
     "add(id, vector) -> None\n\nAppends one (dim,) vector under a new int64 id. Raises\n"
     "DuplicateIdError, DimensionMismatch, ArgumentError (NaN/inf), IndexBusyError while a view from\n"
     "np.asarray(index) is alive."},
    {"add_batch", (PyCFunction)(void (*)(void))rv_index_add_batch_m, RV_METH,
     "add_batch(ids, vectors, *, progress=None) -> None\n\nAppends n vectors; all or nothing."},
    {"remove", (PyCFunction)(void (*)(void))rv_index_remove_m, RV_METH,
     "remove(id) -> None\n\nRemoves a vector in O(1) (the last row takes its slot). Raises\n"
     "UnknownIdError (a KeyError)."},
    {"save", (PyCFunction)(void (*)(void))rv_index_save_m, RV_METH,
     "save(path) -> None\n\nWrites the index atomically (temp file, fsync, rename): a crash leaves\n"
     "the old file or the new one, never a torn one. Raises PersistError on I/O failure."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef rv_index_getset[] = {
    {"dim", rv_index_get_dim, NULL, "dimension of the stored vectors", NULL},
    {"memory_bytes", rv_index_get_memory_bytes, NULL,
     "every heap byte the index owns (storage at capacity, id map, handle)", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef rv_index_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(rv_py_index, weakrefs), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(rv_flat_doc,
"FlatF32Index(dim)\n\n"
"Exact nearest-neighbour search by brute force over float32 vectors: the accuracy reference\n"
"(recall 1.0) and the fastest choice for small collections or large query batches (which run\n"
"as a blocked GEMM). Scores are squared L2 distances, ascending, ties by id.\n\n"
"Build with FlatF32Index.build(vectors, ids=None); FlatF32Index(dim) makes an empty one.\n"
"idx[id] returns a stored vector, `for id, vec in idx` iterates, np.asarray(idx) is a\n"
"read-only zero-copy (n, dim) view.");

static PyType_Slot rv_flat_slots[] = {
    {Py_tp_doc, (void *)rv_flat_doc},
    {Py_tp_new, rv_index_tp_new},
    {Py_tp_dealloc, rv_index_dealloc},
    {Py_tp_repr, rv_index_repr},
    {Py_tp_richcompare, rv_index_richcompare},
    {Py_tp_hash, PyObject_HashNotImplemented},
    {Py_tp_iter, rv_index_iter},
    {Py_tp_methods, rv_index_methods},
    {Py_tp_getset, rv_index_getset},
    {Py_tp_members, rv_index_members},
    {Py_mp_length, rv_index_length},
    {Py_mp_subscript, rv_index_subscript},
    {Py_sq_contains, rv_index_contains_id},
    {Py_bf_getbuffer, rv_index_getbuffer},
    {Py_bf_releasebuffer, rv_index_releasebuffer},
    {0, NULL},
};

static PyType_Spec rv_flat_spec = {
    .name = "ruvector.FlatF32Index",
    .basicsize = sizeof(rv_py_index),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_IMMUTABLETYPE,
    .slots = rv_flat_slots,
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
    st->FlatF32IndexType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_flat_spec, NULL);
    if (!st->FlatF32IndexType || PyModule_AddObjectRef(module, "FlatF32Index", (PyObject *)st->FlatF32IndexType) < 0)
        return -1;
    st->IndexIterType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_iter_spec, NULL);
    return st->IndexIterType ? 0 : -1;
}
