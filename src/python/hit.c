/*
 * hit.c — ruvector.Hit instances from C.
 *
 * Hit is a typing.NamedTuple defined in ruvector/_hit.py (so Hit(id, score) constructs like any
 * named tuple and its stub is exact). We create instances through tuple's own tp_new on the
 * subtype — no Python-level __new__ frame on the search path.
 */
#include "module.h"

PyTypeObject *rv_py_hit_type_new(void)
{
    PyObject *mod = PyImport_ImportModule("ruvector._hit");
    if (!mod)
        return NULL;
    PyObject *hit = PyObject_GetAttrString(mod, "Hit");
    Py_DECREF(mod);
    if (hit && (!PyType_Check(hit) || !PyType_IsSubtype((PyTypeObject *)hit, &PyTuple_Type))) {
        PyErr_SetString(PyExc_ImportError, "ruvector._hit.Hit is not a tuple subclass");
        Py_CLEAR(hit);
    }
    return (PyTypeObject *)hit;
}

PyObject *rv_py_hit_new(rv_module_state *st, int64_t id, float score)
{
    PyObject *items = PyTuple_New(2);
    if (!items)
        return NULL;
    PyObject *pid = PyLong_FromLongLong(id), *pscore = PyFloat_FromDouble(score);
    if (!pid || !pscore) {
        Py_XDECREF(pid);
        Py_XDECREF(pscore);
        Py_DECREF(items);
        return NULL;
    }
    PyTuple_SET_ITEM(items, 0, pid);    /* steals */
    PyTuple_SET_ITEM(items, 1, pscore); /* steals */
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (!args)
        return NULL;
    PyObject *hit = PyTuple_Type.tp_new(st->HitType, args, NULL);
    Py_DECREF(args);
    return hit;
}
