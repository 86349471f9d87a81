/*
 * lake_session_type.c — ruvector.LakeSession: a consistent snapshot of a RuLake, from
 * lake.session(), used as a context manager.
 *
 * A session checks each key once for its whole life: the first search of a key acquires the
 * entry as a normal search would, then retains and pins it (the core's rv_lake_session), so
 * later searches of the key see that very version, never an in-place update. close() (and
 * __exit__, and dealloc) releases the snapshot with the GIL released, saving the entries to the
 * lake's cache_dir when one is set. The session holds a strong reference to its RuLake, so the
 * lake outlives every open session; a closed session raises LakeError on search. It has no
 * *_async methods (every search runs through lake_call.c's sync path). Not instantiable from
 * Python: only lake.session() makes one.
 */
#include "module.h"

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
        return rv_py_lake_sync(obj, self->owner->lake, self->s, op, name, args, nargs, kwnames);                   \
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
    {"search_one", RV_FAST(rv_session_search_one), RV_LAKE_SEARCH_ONE_DOC "\n\nWithin the session's snapshot."},
    {"search_batch", RV_FAST(rv_session_search_batch), RV_LAKE_SEARCH_BATCH_DOC "\n\nWithin the session's snapshot."},
    {"search_federated", RV_FAST(rv_session_search_fed), RV_LAKE_SEARCH_FED_DOC "\n\nWithin the session's snapshot."},
    {"close", rv_session_close_m, METH_NOARGS,
     "close($self, /)\n--\n\nReleases the snapshot, saving its entries to the lake's cache_dir when one is set."},
    {"__enter__", rv_session_enter, METH_NOARGS, "__enter__($self, /)\n--\n\nReturns the session."},
    {"__exit__", rv_session_exit, METH_VARARGS, "__exit__($self, /, *exc_info)\n--\n\nCloses the session."},
    {NULL, NULL, 0, NULL},
};

/* ---- type --------------------------------------------------------------------------------- */

static PyType_Slot rv_session_slots[] = {
    {Py_tp_doc, (void *)"A RuLake session (from lake.session()): one freshness check per key, a consistent "
                        "snapshot."},
    {Py_tp_dealloc, rv_session_dealloc}, {Py_tp_methods, rv_session_methods}, {0, NULL},
};

static PyType_Spec rv_session_spec = {"ruvector.LakeSession", sizeof(rv_py_session), 0,
                                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                                      rv_session_slots};


int rv_py_lake_session_type_init(PyObject *module, rv_module_state *st)
{
    st->SessionType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_session_spec, NULL);
    if (!st->SessionType || PyModule_AddType(module, st->SessionType) < 0)
        return -1;
    return 0;
}
