/*
 * python/module.h — what the extension's files share: module state, the status -> exception
 * table, argument parsing, and the NumPy C API import.
 *
 * Conventions (msgspec-style): functions returning PyObject* return a new reference or NULL with
 * an exception set; "borrowed" is said where it applies. Every call into the C core that may
 * take a lock or run long is made with the GIL released (RV_NOGIL), so a Python thread waiting
 * for an index lock never holds the GIL that the lock holder may need (progress callbacks).
 */
#ifndef RV_PY_MODULE_H
#define RV_PY_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <pthread.h>

#define PY_ARRAY_UNIQUE_SYMBOL rv_numpy_api
#ifndef RV_PY_IMPORT_ARRAY
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

#include "ruvector/ruvector.h"

typedef struct rv_module_state {
    /* the contract's hierarchy */
    PyObject *RuVectorError, *IndexError, *DimensionMismatch, *EmptyIndex, *PersistError;
    PyObject *LakeError, *BackendError, *CacheMissError, *WitnessMismatch;
    PyObject *A2aError, *CardSignatureInvalid, *PolicyViolation, *BudgetExceeded, *TransportError;
    PyObject *EmbedError;
    /* argument problems, catchable as the matching builtin too */
    PyObject *ArgumentError;      /* (RuVectorError, ValueError) */
    PyObject *ArgumentTypeError;  /* (RuVectorError, TypeError) */
    PyObject *DuplicateIdError;   /* (IndexError, ValueError) */
    PyObject *UnknownIdError;     /* (IndexError, KeyError) */
    PyObject *NotRetainedError;   /* (IndexError, LookupError) */
    PyObject *IndexBusyError;     /* (IndexError, BufferError) */
    PyObject *ConcurrentModificationError; /* (IndexError, RuntimeError) */
    PyObject *PersistFileNotFoundError; /* (PersistError, FileNotFoundError) */
    PyTypeObject *HitType;
    PyTypeObject *IndexTypes[5]; /* by rv_index_kind; [0] unused */
    PyTypeObject *IndexIterType;
    /* RuLake */
    PyTypeObject *LakeType, *SessionType, *LocalBackendType, *FsBackendType;
    PyObject *lake_py;        /* ruvector._lake, imported on first use (it imports us) */
    PyObject *drain_async; /* _drain_async, scheduled with loop.call_soon_threadsafe */
    /* finished async calls waiting for their loop, and each loop's wake-up eventfd */
    pthread_mutex_t async_mu;
    int async_mu_ready;
    struct rv_py_async *async_head, *async_tail;
    struct rv_loop_slot *loops;
    size_t nloops, loops_cap;
} rv_module_state;

typedef struct rv_loop_slot {
    PyObject *loop;     /* strong */
    int fd;             /* eventfd watched by loop.add_reader(fd, _drain_async, loop) */
    size_t outstanding; /* async calls submitted on this loop and not yet resolved */
    int pending;        /* the fd was written since the last drain */
} rv_loop_slot;

extern PyModuleDef rv_module_def;

/* The module state of one of our objects (via its type's module), or NULL. */
static inline rv_module_state *rv_state_of(PyObject *self)
{
    PyObject *m = PyType_GetModuleByDef(Py_TYPE(self), &rv_module_def); /* borrowed */
    return m ? PyModule_GetState(m) : NULL;
}

/* Run a block without the GIL. */
#define RV_NOGIL(block) do { Py_BEGIN_ALLOW_THREADS block; Py_END_ALLOW_THREADS } while (0)

/* errors.c */
int rv_py_errors_init(PyObject *module, rv_module_state *st);
int rv_py_errors_traverse(rv_module_state *st, visitproc visit, void *arg);
void rv_py_errors_clear(rv_module_state *st);
/* Raises the exception for a failed core status with rv_last_error()'s message; returns NULL.
 * If a Python exception is already set (a progress callback raised), it is kept. */
PyObject *rv_py_raise(rv_module_state *st, rv_status status);
/* rv_py_raise for a failed load of path (bytes): a path that does not exist raises
 * PersistFileNotFoundError (errno ENOENT, filename = the path), anything else as rv_py_raise. */
PyObject *rv_py_raise_load(rv_module_state *st, rv_status status, PyObject *path);

/* args.c — METH_FASTCALL argument matching. names: NULL-terminated; the first `npos` may be
 * positional, the first `required` must be given. out[i] receives a borrowed ref or NULL.
 * Returns -1 with ArgumentTypeError set on a bad call. */
int rv_py_parse(rv_module_state *st, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, const char *const *names, int npos, int required, PyObject **out);

/* A float32 matrix argument: zero-copy for C-contiguous float32 buffers, a copy for lists and
 * tuples, a clear error otherwise (the "maybe-owned buffer" idiom). ndim is 1 (rows = 1) or 2. */
typedef struct rv_py_matrix {
    const float *data;
    Py_ssize_t rows, cols;
    Py_buffer view;
    int has_view;
    PyObject *owned; /* the array we made from a sequence, or NULL */
} rv_py_matrix;
int rv_py_matrix_get(rv_module_state *st, PyObject *obj, int ndim, const char *what, rv_py_matrix *m);
void rv_py_matrix_release(rv_py_matrix *m);

/* An int64 id vector argument: zero-copy for C-contiguous int64 buffers, converted (with range
 * checks) from other integer buffers and from sequences of Python ints. */
typedef struct rv_py_ids {
    const int64_t *data;
    Py_ssize_t n;
    Py_buffer view;
    int has_view;
    int64_t *owned; /* PyMem buffer, or NULL */
} rv_py_ids;
int rv_py_ids_get(rv_module_state *st, PyObject *obj, const char *what, rv_py_ids *ids);
void rv_py_ids_release(rv_py_ids *ids);

/* A filesystem path (str, bytes, os.PathLike) as a new bytes object in *bytes. */
int rv_py_path_get(rv_module_state *st, PyObject *obj, PyObject **bytes);

/* One int64 id / a k >= 1 (absent: 10). Anything with __index__ (NumPy integers) is an integer. */
int rv_py_id_get(rv_module_state *st, PyObject *obj, const char *what, int64_t *out);
int rv_py_k_get(rv_module_state *st, PyObject *obj, size_t *out);
/* An integer in lo..hi, or 0..2^64-1: out-of-range values raise ArgumentError naming the value
 * and the range ("seed must be in 0..18446744073709551615, not -1"), never wrap. */
int rv_py_int_get(rv_module_state *st, PyObject *obj, const char *what, int64_t lo, int64_t hi, int64_t *out);
int rv_py_u64_get(rv_module_state *st, PyObject *obj, const char *what, uint64_t *out);

/* hit.c */
PyTypeObject *rv_py_hit_type_new(void);
PyObject *rv_py_hit_new(rv_module_state *st, int64_t id, float score);

/* progress.c — bridges `progress=` (None/False, True, or a callable(done, total)) to the core's
 * rv_progress; also checks for signals so Ctrl-C cancels long work cleanly. desc is the label a
 * bar shows when the core reports no phase of its own. */
typedef struct rv_py_progress {
    PyObject *callable; /* owned; NULL when only signals are checked */
    int is_bar;         /* callable is a ruvector._progress bar: called (done, total, phase) */
    const char *phase;  /* the bar's label when the core names none ("build", "embed"); static */
    rv_progress c;
} rv_py_progress;
int rv_py_progress_init(rv_module_state *st, PyObject *arg, const char *desc, rv_py_progress *p);
void rv_py_progress_done(rv_py_progress *p);

/* The exception class for a failed core status (borrowed). */
PyObject *rv_py_exc_class(rv_module_state *st, rv_status status);

/* index_type.c */
int rv_py_index_types_init(PyObject *module, rv_module_state *st);
/* A Python index object of idx's kind owning idx (destroyed on failure). */
PyObject *rv_py_index_wrap(rv_module_state *st, rv_index *idx);
/* The rv_index of a Python index object, or NULL (no exception) when obj is not one. */
rv_index *rv_py_index_handle(rv_module_state *st, PyObject *obj);

/* async.c — a unit of *_async work. Embed it first in a task struct; run() is called on a pool
 * worker without the GIL, result() on the loop's thread with it (NULL + exception = the
 * future's exception), free() releases the task (with or without the GIL). */
typedef struct rv_py_async {
    void (*run)(struct rv_py_async *t);
    PyObject *(*result)(rv_module_state *st, struct rv_py_async *t);
    void (*free)(struct rv_py_async *t);
    rv_module_state *st;
    PyObject *module, *owner, *loop, *future; /* strong; set by rv_py_async_submit */
    struct rv_py_async *next;
} rv_py_async;
int rv_py_async_init(PyObject *module, rv_module_state *st);
/* Returns the asyncio future for t, which it owns from now on (freed also on failure). Needs a
 * running event loop (RuntimeError otherwise). */
PyObject *rv_py_async_submit(rv_module_state *st, PyObject *owner, rv_py_async *t);

/* embed_type.c */
int rv_py_embed_types_init(PyObject *module, rv_module_state *st);

/* ---- the lake glue (lake_type.c, lake_backend_type.c, lake_session_type.c, lake_call.c,
 * adapter.c) ---- */

/* LocalBackend and FsBackend. */
typedef struct rv_py_backend {
    PyObject_HEAD
    rv_backend *b;
    int is_fs;
    PyObject *root; /* FsBackend: the root as given */
} rv_py_backend;

/* ruvector._RuLake. */
typedef struct rv_py_lake {
    PyObject_HEAD
    rv_lake *lake;
    PyObject *weakrefs;
} rv_py_lake;

/* ruvector.LakeSession. */
typedef struct rv_py_session {
    PyObject_HEAD
    rv_py_lake *owner; /* strong */
    rv_lake_session *s; /* NULL once closed */
} rv_py_session;

/* lake_type.c: creates the four lake types (calling the two inits below) and the module's
 * _lake_limits, _witness and _bundle_read. */
int rv_py_lake_types_init(PyObject *module, rv_module_state *st);
int rv_py_lake_backend_types_init(PyObject *module, rv_module_state *st);
int rv_py_lake_session_type_init(PyObject *module, rv_module_state *st);
/* ruvector._lake attribute `name` (borrowed from the cached module), or NULL with exception. */
PyObject *rv_py_lake_attr(rv_module_state *st, const char *name);
/* A (backend, collection) tuple of str (both borrowed from key). */
int rv_py_key_get(rv_module_state *st, PyObject *key, const char **backend, const char **collection);
/* rv_py_str_get, with None or a missing argument giving *out = NULL. */
int rv_py_opt_str(rv_module_state *st, PyObject *obj, const char *what, const char **out);
/* A directory argument (str or os.PathLike) as a new bytes reference, or NULL with exception. */
PyObject *rv_py_dir_arg(rv_module_state *st, PyObject *obj);
/* Sets the exception for a failed lake call with message msg. A BackendError from a
 * BackendAdapter chains the exception the adapter raised (__cause__), looked up by the backend
 * named in the message ("backend 'NAME': ..."). Returns NULL. GIL held. */
PyObject *rv_py_lake_set_error(rv_module_state *st, rv_lake *lake, rv_status status, const char *msg);
/* rv_py_lake_set_error with the thread's last message. */
PyObject *rv_py_lake_raise(rv_module_state *st, rv_lake *lake, rv_status status);

/* lake_call.c: one search of a lake or session (session NULL: none), sync with the GIL released
 * or submitted to the pool (returns the awaitable). owner is the Python object the method was
 * called on (kept alive by async calls). */
enum { RV_OP_ONE, RV_OP_BATCH, RV_OP_FED };
PyObject *rv_py_lake_sync(PyObject *owner, rv_lake *lake, rv_lake_session *session, int op, const char *fname,
                          PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
PyObject *rv_py_lake_submit(PyObject *owner, rv_lake *lake, rv_lake_session *session, int op, const char *fname,
                            PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);

#define RV_FAST(fn) (PyCFunction)(void (*)(void))(fn), METH_FASTCALL | METH_KEYWORDS
/* A one-argument method that takes its argument by position or by keyword. */
#define RV_ONE_ARG(fn, impl, pyname, kw)                                                              \
    static PyObject *fn(PyObject *obj, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)   \
    {                                                                                               \
        static const char *const names_[] = {kw, NULL};                                             \
        PyObject *a_[1];                                                                            \
        if (rv_py_parse(rv_state_of(obj), pyname, args, nargs, kwnames, names_, 1, 1, a_) < 0)      \
            return NULL;                                                                            \
        return impl(obj, a_[0]);                                                                    \
    }
#define RV_LAKE_SEARCH_ONE_DOC                                                                                      \
    "search_one($self, /, collection, query, k=10, *, backend=None, progress=None)\n--\n\nThe k nearest "         \
    "vectors of one collection to query, as LakeHit(backend, collection, id, score), nearest first, scores "      \
    "exact squared L2.\n\nbackend=None: the one registered backend holding the collection (none or several "      \
    "raise LakeError naming them). Checks freshness per the lake's consistency, and primes the key (or updates "  \
    "it in place) when it is stale. progress: True or a callable(done, total) reporting a prime."
#define RV_LAKE_SEARCH_BATCH_DOC                                                                                    \
    "search_batch($self, /, collection, queries, k=10, *, backend=None, progress=None)\n--\n\nsearch_one for "   \
    "every row of an (m, dim) float32 array, with one freshness check for the whole call; a list of m lists."
#define RV_LAKE_SEARCH_FED_DOC                                                                                      \
    "search_federated($self, /, collection, query, k=10, *, backends=None)\n--\n\nSearches the collection on "    \
    "every backend holding it (or the named ones) in parallel and merges by score, ties by backend name then id."

/* adapter.c */
/* A C backend calling a Python BackendAdapter (GIL re-acquired in every callback). */
rv_status rv_py_adapter_backend_new(PyObject *adapter, const char *name, rv_backend **out);
/* The exception an adapter backend raised that became (a part of) message, as a new reference
 * handed over once, or NULL. GIL held. */
PyObject *rv_py_adapter_take_cause(rv_backend *b, const char *message);
/* A str argument as UTF-8 without embedded NULs (borrowed from obj). */
int rv_py_str_get(rv_module_state *st, PyObject *obj, const char *what, const char **out);

#endif
