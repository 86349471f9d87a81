/*
 * lake_backend_type.c — ruvector.LocalBackend and ruvector.FsBackend: the built-in backends'
 * Python types, one struct (rv_py_backend) and one method table for both (is_fs picks the
 * core calls: rv_local_* or rv_fsb_*).
 *
 * The constructors take keywords only (a positional name gets a message showing the keyword
 * call), so FsBackend(name=..., root=...) cannot be written with its arguments swapped. Writes
 * parse their arrays with the GIL held (rv_py_ids_get / rv_py_matrix_get) and run the core
 * call with it released (FsBackend rewrites a file). A backend object holds one reference to
 * its rv_backend; a RuLake it is registered with holds its own, so dropping the Python object
 * never pulls the backend out from under a lake. Rejected: one Python type with a `kind` argument — the two take different
 * arguments and have different attributes (root), and the stubs describe them separately.
 */
#include "module.h"

#include <string.h>

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

static PyType_Spec rv_local_spec = {"ruvector.LocalBackend", sizeof(rv_py_backend), 0,
                                    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, rv_local_slots};
static PyType_Spec rv_fsb_spec = {"ruvector.FsBackend", sizeof(rv_py_backend), 0,
                                 Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE, rv_fsb_slots};

int rv_py_lake_backend_types_init(PyObject *module, rv_module_state *st)
{
    st->LocalBackendType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_local_spec, NULL);
    st->FsBackendType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_fsb_spec, NULL);
    if (!st->LocalBackendType || !st->FsBackendType)
        return -1;
    if (PyModule_AddType(module, st->LocalBackendType) < 0 || PyModule_AddType(module, st->FsBackendType) < 0)
        return -1;
    return 0;
}
