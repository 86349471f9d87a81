/* hit.c — ruvector.Hit, a named tuple (id: int, score: float), as a struct sequence. */
#include "module.h"

static PyStructSequence_Field rv_hit_fields[] = {
    {"id", "the vector's id"},
    {"score", "squared L2 distance to the query (smaller is closer)"},
    {NULL, NULL},
};

static PyStructSequence_Desc rv_hit_desc = {
    "ruvector.Hit",
    "Hit(id, score): one search result; a named tuple, so `id, score = hit` works.",
    rv_hit_fields,
    2,
};

PyTypeObject *rv_py_hit_type_new(void) { return PyStructSequence_NewType(&rv_hit_desc); }

PyObject *rv_py_hit_new(rv_module_state *st, int64_t id, float score)
{
    PyObject *hit = PyStructSequence_New(st->HitType);
    if (!hit)
        return NULL;
    PyObject *pid = PyLong_FromLongLong(id), *pscore = PyFloat_FromDouble(score);
    if (!pid || !pscore) {
        Py_XDECREF(pid);
        Py_XDECREF(pscore);
        Py_DECREF(hit);
        return NULL;
    }
    PyStructSequence_SetItem(hit, 0, pid);    /* steals */
    PyStructSequence_SetItem(hit, 1, pscore); /* steals */
    return hit;
}
