/*
 * module.c — ruvector._ruvector: multi-phase init (PEP 489), heap types, state in the module.
 *
 * The extension is glue: it converts Python arguments, releases the GIL, calls the C core
 * (include/ruvector), and maps statuses to exceptions. No computation happens here.
 */
#define RV_PY_IMPORT_ARRAY
#include "module.h"

PyDoc_STRVAR(rv_cpu_features_doc,
"cpu_features($module, /)\n--\n\n"
"The CPU features ruvector detected and the kernel set and pool size it uses, as a dict.\n\n"
"What this CPU offers and what ruvector uses: one bool per feature (avx2, fma, popcnt, bmi2,\n"
"avx512f, ...), 'kernel' (the SIMD kernel set chosen at import: 'avx2' or 'scalar';\n"
"RUVECTOR_SIMD=scalar|avx2 forces one), 'threads' (the worker pool size; RUVECTOR_NUM_THREADS\n"
"overrides) and 'note' (why the kernel differs from RUVECTOR_SIMD, or '').");

static PyObject *rv_cpu_features(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    rv_cpu_info c;
    rv_cpu_info_get(&c);
    const char *kernel = rv_kernel_name(), *note = rv_kernel_note();
    unsigned threads = rv_pool_size();
    return Py_BuildValue("{s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:O,s:s,s:I,s:s}",
                         "sse4_2", c.sse42 ? Py_True : Py_False, "popcnt", c.popcnt ? Py_True : Py_False,
                         "avx", c.avx ? Py_True : Py_False, "avx2", c.avx2 ? Py_True : Py_False,
                         "fma", c.fma ? Py_True : Py_False, "bmi2", c.bmi2 ? Py_True : Py_False,
                         "f16c", c.f16c ? Py_True : Py_False, "avx512f", c.avx512f ? Py_True : Py_False,
                         "avx512bw", c.avx512bw ? Py_True : Py_False, "avx512vl", c.avx512vl ? Py_True : Py_False,
                         "avx512vpopcntdq", c.avx512vpopcntdq ? Py_True : Py_False,
                         "os_saves_ymm", c.os_saves_ymm ? Py_True : Py_False,
                         "kernel", kernel, "threads", threads, "note", note);
}

static PyMethodDef rv_module_methods[] = {
    {"cpu_features", rv_cpu_features, METH_NOARGS, rv_cpu_features_doc},
    {NULL, NULL, 0, NULL},
};

/* An unusable RUVECTOR_NUM_THREADS is ignored by the pool (src/base/pool.c), which takes
 * min(8, CPUs) instead; say so once, at import, as a RuntimeWarning naming the value and the
 * size used. The accepted form is the pool's: a decimal integer in 1..256 and nothing else. */
static int rv_warn_num_threads(void)
{
    const char *env = getenv("RUVECTOR_NUM_THREADS");
    if (!env || !*env)
        return 0;
    char *end = NULL;
    unsigned long v = strtoul(env, &end, 10);
    if (env[0] >= '0' && env[0] <= '9' && end && *end == '\0' && v >= 1 && v <= 256)
        return 0;
    PyObject *repr = PyUnicode_DecodeFSDefault(env);
    if (!repr)
        return -1;
    int r = PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                             "RUVECTOR_NUM_THREADS=%R is not a thread count in 1..256; using the default, "
                             "%u threads (min(8, CPUs))",
                             repr, rv_pool_size());
    Py_DECREF(repr);
    return r;
}

static int rv_module_exec(PyObject *m)
{
    rv_module_state *st = PyModule_GetState(m);
    if (PyArray_ImportNumPyAPI() < 0)
        return -1;
    if (rv_py_errors_init(m, st) < 0)
        return -1;
    st->HitType = rv_py_hit_type_new();
    if (!st->HitType)
        return -1;
    if (rv_py_index_types_init(m, st) < 0)
        return -1;
    if (rv_py_async_init(m, st) < 0)
        return -1;
    if (rv_py_lake_types_init(m, st) < 0)
        return -1;
    if (rv_py_embed_types_init(m, st) < 0)
        return -1;
    if (PyModule_AddStringConstant(m, "__version__", rv_version()) < 0)
        return -1;
    const char *note = rv_kernel_note();
    if (*note && PyErr_WarnEx(PyExc_RuntimeWarning, note, 1) < 0)
        return -1;
    return rv_warn_num_threads();
}

static int rv_module_traverse(PyObject *m, visitproc visit, void *arg)
{
    rv_module_state *st = PyModule_GetState(m);
    if (!st)
        return 0;
    Py_VISIT(st->HitType);
    for (int i = 0; i < 5; i++)
        Py_VISIT(st->IndexTypes[i]);
    Py_VISIT(st->IndexIterType);
    Py_VISIT(st->LakeType);
    Py_VISIT(st->SessionType);
    Py_VISIT(st->LocalBackendType);
    Py_VISIT(st->FsBackendType);
    Py_VISIT(st->lake_py);
    Py_VISIT(st->drain_async);
    return rv_py_errors_traverse(st, visit, arg);
}

static int rv_module_clear(PyObject *m)
{
    rv_module_state *st = PyModule_GetState(m);
    if (!st)
        return 0;
    Py_CLEAR(st->HitType);
    for (int i = 0; i < 5; i++)
        Py_CLEAR(st->IndexTypes[i]);
    Py_CLEAR(st->IndexIterType);
    Py_CLEAR(st->LakeType);
    Py_CLEAR(st->SessionType);
    Py_CLEAR(st->LocalBackendType);
    Py_CLEAR(st->FsBackendType);
    Py_CLEAR(st->lake_py);
    Py_CLEAR(st->drain_async);
    rv_py_errors_clear(st);
    return 0;
}

static void rv_module_free(void *m)
{
    rv_module_clear((PyObject *)m);
    rv_module_state *st = PyModule_GetState((PyObject *)m);
    if (st && st->async_mu_ready) {
        pthread_mutex_destroy(&st->async_mu);
        PyMem_RawFree(st->loops);
        st->async_mu_ready = 0;
    }
}

static PyModuleDef_Slot rv_module_slots[] = {
    {Py_mod_exec, rv_module_exec},
    {0, NULL},
};

PyModuleDef rv_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "ruvector._ruvector",
    .m_doc = "ruvector's compiled core (use the `ruvector` package).",
    .m_size = sizeof(rv_module_state),
    .m_methods = rv_module_methods,
    .m_slots = rv_module_slots,
    .m_traverse = rv_module_traverse,
    .m_clear = rv_module_clear,
    .m_free = rv_module_free,
};

PyMODINIT_FUNC PyInit__ruvector(void);
PyMODINIT_FUNC PyInit__ruvector(void) { return PyModuleDef_Init(&rv_module_def); }
