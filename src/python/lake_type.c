/*
 * lake_type.c — ruvector._RuLake, the C base of ruvector.RuLake (python/ruvector/_lake.py adds
 * the builder and the coroutine wrappers), the lake glue's shared helpers, and the module
 * functions _witness and _bundle_read.
 *
 * The lake's Python types have a file each (pgvector's lesson: file names are the
 * architecture): lake_backend_type.c (LocalBackend, FsBackend), lake_session_type.c
 * (LakeSession), lake_call.c (the search call every search method of a lake or session goes
 * through, sync and async); module.h declares what they share. rv_py_lake_types_init creates
 * all four types.
 *
 * RuLake's options are checked here against the triples in ruvector/lake.h (the same ranges
 * the builder in _lake.py reads from _ruvector._lake_limits), so a bad value raises
 * ArgumentError naming the option and its range before the core sees it. Errors from the core
 * map through rv_py_lake_set_error, which also chains the exception a BackendAdapter raised
 * (__cause__). Every core call that may block (backend I/O, primes, file writes) runs with the
 * GIL released; destroying the lake releases it too, since adapter backends take it to drop
 * their Python objects.
 */
#include "module.h"

#include <string.h>
#include <structmember.h>

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

int rv_py_key_get(rv_module_state *st, PyObject *key, const char **backend, const char **collection)
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

int rv_py_opt_str(rv_module_state *st, PyObject *obj, const char *what, const char **out)
{
    *out = NULL;
    if (!obj || obj == Py_None)
        return 0;
    return rv_py_str_get(st, obj, what, out);
}

PyObject *rv_py_dir_arg(rv_module_state *st, PyObject *obj)
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
PyObject *rv_py_lake_set_error(rv_module_state *st, rv_lake *lake, rv_status status, const char *msg)
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
PyObject *rv_py_lake_raise(rv_module_state *st, rv_lake *lake, rv_status status)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", rv_last_error());
    return rv_py_lake_set_error(st, lake, status, msg);
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

/* RuLake's consistency, pull_on_miss and reprime_fraction options into *p (None or missing:
 * the default stays). -1 with ArgumentTypeError / ArgumentError naming the option. */
static int rv_lake_init_modes(rv_module_state *st, PyObject *cons, PyObject *pom, PyObject *frac, rv_lake_params *p)
{
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
        p->consistency = (rv_consistency)PyLong_AsLong(cons);
    }
    if (pom && pom != Py_None) {
        if (!PyBool_Check(pom)) {
            PyErr_Format(st->ArgumentTypeError, "pull_on_miss must be a bool, not %.100s", Py_TYPE(pom)->tp_name);
            return -1;
        }
        p->pull_on_miss = pom == Py_True;
    }
    if (frac && frac != Py_None) {
        if (!PyFloat_Check(frac) && !(PyLong_Check(frac) && !PyBool_Check(frac))) {
            PyErr_Format(st->ArgumentTypeError, "reprime_fraction must be a float, not %.100s", Py_TYPE(frac)->tp_name);
            return -1;
        }
        p->reprime_fraction = PyFloat_AsDouble(frac);
        if (p->reprime_fraction == -1.0 && PyErr_Occurred())
            return -1;
        if (!(p->reprime_fraction >= RV_LAKE_REPRIME_FRACTION_MIN && p->reprime_fraction <= RV_LAKE_REPRIME_FRACTION_MAX)) {
            PyErr_Format(st->ArgumentError, "reprime_fraction must be in %.1f..%.1f, not %R",
                         RV_LAKE_REPRIME_FRACTION_MIN, RV_LAKE_REPRIME_FRACTION_MAX, frac);
            return -1;
        }
    }
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
    if (rv_py_u64_opt(st, rf, "rerank_factor", RV_LAKE_RERANK_FACTOR_MIN, RV_LAKE_RERANK_FACTOR_MAX, &v) < 0)
        return -1;
    p.rerank_factor = (uint32_t)v;
    if (rv_py_u64_opt(st, seed, "rotation_seed", RV_LAKE_ROTATION_SEED_MIN, RV_LAKE_ROTATION_SEED_MAX,
                      &p.rotation_seed) < 0)
        return -1;
    v = RV_LAKE_MAX_ENTRIES_DEFAULT;
    if (rv_py_u64_opt(st, me, "max_cache_entries", RV_LAKE_MAX_ENTRIES_MIN, RV_LAKE_MAX_ENTRIES_MAX, &v) < 0)
        return -1;
    p.max_entries = (size_t)v;
    v = RV_LAKE_MAX_BYTES_DEFAULT;
    if (rv_py_u64_opt(st, mb, "max_cache_bytes", RV_LAKE_MAX_BYTES_MIN, RV_LAKE_MAX_BYTES_MAX, &v) < 0)
        return -1;
    p.max_bytes = (size_t)v;
    if (rv_py_u64_opt(st, ttl, "eventual_ttl_ms", RV_LAKE_EVENTUAL_TTL_MS_MIN, RV_LAKE_EVENTUAL_TTL_MS_MAX,
                      &p.eventual_ttl_ms) < 0)
        return -1;
    if (rv_lake_init_modes(st, cons, pom, frac, &p) < 0)
        return -1;
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
        return async ? rv_py_lake_submit(obj, self->lake, NULL, op, name, args, nargs, kwnames)                    \
                     : rv_py_lake_sync(obj, self->lake, NULL, op, name, args, nargs, kwnames);                     \
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
    return s == RV_OK ? PyUnicode_FromString(w) : rv_py_lake_raise(st, self->lake, s);
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
        return rv_py_lake_raise(st, ((rv_py_lake *)obj)->lake, s);
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

static PyMethodDef rv_lake_methods[] = {
    {"register_backend", RV_FAST(rv_lake_register_backend),
     "register_backend($self, /, backend)\n--\n\nAdds a LocalBackend, FsBackend or BackendAdapter.\n\nNames "
     "are unique: a second backend with a registered name raises LakeError."},
    {"search_one", RV_FAST(rv_lake_search_one), RV_LAKE_SEARCH_ONE_DOC},
    {"search_batch", RV_FAST(rv_lake_search_batch), RV_LAKE_SEARCH_BATCH_DOC},
    {"search_federated", RV_FAST(rv_lake_search_fed), RV_LAKE_SEARCH_FED_DOC},
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

static PyType_Spec rv_lake_spec = {"ruvector._RuLake", sizeof(rv_py_lake), 0,
                                   Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, rv_lake_slots};

/* The module's lake limits, {name: (default, min, max)}: the builder in _lake.py checks its
 * arguments against them, so Python and C share the triples of ruvector/lake.h. New ref. */
static PyObject *rv_lake_limits(void)
{
    return Py_BuildValue("{s:(III),s:(KKK),s:(KKK),s:(KKK),s:(KKK),s:(ddd)}", "rerank_factor",
                         RV_LAKE_RERANK_FACTOR_DEFAULT, RV_LAKE_RERANK_FACTOR_MIN, RV_LAKE_RERANK_FACTOR_MAX,
                         "rotation_seed", (unsigned long long)RV_LAKE_ROTATION_SEED_DEFAULT,
                         (unsigned long long)RV_LAKE_ROTATION_SEED_MIN, (unsigned long long)RV_LAKE_ROTATION_SEED_MAX,
                         "max_cache_entries", (unsigned long long)RV_LAKE_MAX_ENTRIES_DEFAULT,
                         (unsigned long long)RV_LAKE_MAX_ENTRIES_MIN, (unsigned long long)RV_LAKE_MAX_ENTRIES_MAX,
                         "max_cache_bytes", (unsigned long long)RV_LAKE_MAX_BYTES_DEFAULT,
                         (unsigned long long)RV_LAKE_MAX_BYTES_MIN, (unsigned long long)RV_LAKE_MAX_BYTES_MAX,
                         "eventual_ttl_ms", (unsigned long long)RV_LAKE_EVENTUAL_TTL_MS_DEFAULT,
                         (unsigned long long)RV_LAKE_EVENTUAL_TTL_MS_MIN, (unsigned long long)RV_LAKE_EVENTUAL_TTL_MS_MAX,
                         "reprime_fraction", RV_LAKE_REPRIME_FRACTION_DEFAULT, RV_LAKE_REPRIME_FRACTION_MIN,
                         RV_LAKE_REPRIME_FRACTION_MAX);
}

int rv_py_lake_types_init(PyObject *module, rv_module_state *st)
{
    if (rv_py_lake_backend_types_init(module, st) < 0)
        return -1;
    st->LakeType = (PyTypeObject *)PyType_FromModuleAndSpec(module, &rv_lake_spec, NULL);
    if (!st->LakeType || rv_py_lake_session_type_init(module, st) < 0)
        return -1;
    PyObject *limits = rv_lake_limits();
    if (!limits || PyModule_AddObjectRef(module, "_lake_limits", limits) < 0) {
        Py_XDECREF(limits);
        return -1;
    }
    Py_DECREF(limits);
    if (PyModule_AddObjectRef(module, "_RuLake", (PyObject *)st->LakeType) < 0 ||
        PyModule_AddFunctions(module, rv_lake_module_methods) < 0)
        return -1;
    return 0;
}
