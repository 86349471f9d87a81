/*
 * progress.c — `progress=` for long calls.
 *
 * The core calls rv_py_progress_fn between chunks, on the thread that made the call, with the
 * GIL released. We take the GIL back just for the report: check signals (so Ctrl-C stops a
 * build cleanly — the core then unwinds and frees everything) and call the user's callable.
 * Any exception cancels the work and is re-raised when the call returns.
 * progress=True asks ruvector._progress for a bar (tqdm when installed, plain otherwise), which
 * is told the phase with every report: the core's own ("k-means", then "encode" for a RaBitQ
 * build), or the call's label when the core's work has a single phase. A user callable keeps
 * the two-argument (done, total) form.
 */
#include "module.h"

static int rv_py_progress_fn(void *ctx, const char *core_phase, uint64_t done, uint64_t total)
{
    rv_py_progress *p = ctx;
    PyGILState_STATE g = PyGILState_Ensure();
    int stop = 0;
    if (PyErr_CheckSignals() < 0) {
        stop = 1;
    } else if (p->callable) {
        const char *phase = core_phase ? core_phase : p->phase;
        PyObject *r = p->is_bar ? PyObject_CallFunction(p->callable, "KKs", (unsigned long long)done,
                                                        (unsigned long long)total, phase)
                                : PyObject_CallFunction(p->callable, "KK", (unsigned long long)done,
                                                        (unsigned long long)total);
        if (!r)
            stop = 1;
        Py_XDECREF(r);
    }
    PyGILState_Release(g);
    return stop;
}

int rv_py_progress_init(rv_module_state *st, PyObject *arg, const char *desc, rv_py_progress *p)
{
    p->callable = NULL;
    p->is_bar = 0;
    p->phase = desc;
    p->c.fn = rv_py_progress_fn;
    p->c.ctx = p;
    if (!arg || arg == Py_None || arg == Py_False)
        return 0;
    if (arg == Py_True) {
        PyObject *mod = PyImport_ImportModule("ruvector._progress");
        if (!mod)
            return -1;
        p->callable = PyObject_CallMethod(mod, "make_bar", "s", desc);
        p->is_bar = 1;
        Py_DECREF(mod);
        return p->callable ? 0 : -1;
    }
    if (!PyCallable_Check(arg)) {
        PyErr_Format(st->ArgumentTypeError, "progress must be None, a bool, or a callable(done, total), not %.100s",
                     Py_TYPE(arg)->tp_name);
        return -1;
    }
    p->callable = Py_NewRef(arg);
    return 0;
}

void rv_py_progress_done(rv_py_progress *p) { Py_CLEAR(p->callable); }
