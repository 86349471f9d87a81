/*
 * errors.c — the exception hierarchy and the one table that maps core statuses to it.
 *
 * The 15 classes of the contract, exactly nested as it shows, plus argument classes that are
 * also the matching builtin (ArgumentError is a ValueError, UnknownIdError a KeyError, ...), so
 * both `except ruvector.RuVectorError` and `except ValueError` styles work. DimensionMismatch is
 * a ValueError too, and a load() of a missing file raises PersistFileNotFoundError, which is a
 * PersistError and a FileNotFoundError with errno and filename set.
 */
#include "module.h"

#include <errno.h>
#include <sys/stat.h>

typedef struct rv_exc_spec {
    const char *name;
    size_t slot;         /* offsetof(rv_module_state, X) */
    ssize_t parent;      /* offset of the ruvector parent, or -1 for Exception */
    PyObject *builtin;   /* extra builtin base, or NULL */
    const char *doc;
} rv_exc_spec;

#define S(x) offsetof(rv_module_state, x)

int rv_py_errors_init(PyObject *module, rv_module_state *st)
{
    const rv_exc_spec specs[] = {
        {"RuVectorError", S(RuVectorError), -1, NULL, "Root of every ruvector error."},
        {"IndexError", S(IndexError), S(RuVectorError), NULL, "Vector index errors."},
        {"DimensionMismatch", S(DimensionMismatch), S(IndexError), PyExc_ValueError,
         "A vector's dim differs from the index dim. Also a ValueError."},
        {"EmptyIndex", S(EmptyIndex), S(IndexError), NULL, "Search on an index holding no vectors."},
        {"PersistError", S(PersistError), S(IndexError), NULL, "Save/load I/O failures and corrupt or foreign files."},
        {"LakeError", S(LakeError), S(RuVectorError), NULL, "RuLake errors."},
        {"BackendError", S(BackendError), S(LakeError), NULL, "A backend adapter failed."},
        {"CacheMissError", S(CacheMissError), S(LakeError), NULL, "A cache miss where pulling was not allowed."},
        {"WitnessMismatch", S(WitnessMismatch), S(LakeError), NULL, "A bundle witness differs from the cache witness."},
        {"A2aError", S(A2aError), S(RuVectorError), NULL, "Agent2Agent client errors."},
        {"CardSignatureInvalid", S(CardSignatureInvalid), S(A2aError), NULL, "An agent card failed signature verification."},
        {"PolicyViolation", S(PolicyViolation), S(A2aError), NULL, "A TaskPolicy guard fired."},
        {"BudgetExceeded", S(BudgetExceeded), S(A2aError), NULL, "The global budget gate fired."},
        {"TransportError", S(TransportError), S(A2aError), NULL, "HTTP / SSE failures."},
        {"EmbedError", S(EmbedError), S(RuVectorError), NULL, "Model resolution and inference failures."},
        {"ArgumentError", S(ArgumentError), S(RuVectorError), PyExc_ValueError,
         "An argument has a bad value (k < 1, NaN in a vector, wrong shape). Also a ValueError."},
        {"ArgumentTypeError", S(ArgumentTypeError), S(RuVectorError), PyExc_TypeError,
         "An argument has the wrong type or dtype. Also a TypeError."},
        {"DuplicateIdError", S(DuplicateIdError), S(IndexError), PyExc_ValueError,
         "An id is already in the index, or twice in one batch. Also a ValueError."},
        {"UnknownIdError", S(UnknownIdError), S(IndexError), PyExc_KeyError,
         "An id is not in the index. Also a KeyError."},
        {"NotRetainedError", S(NotRetainedError), S(IndexError), PyExc_LookupError,
         "Original vectors asked of an index that keeps codes only. Also a LookupError."},
        {"IndexBusyError", S(IndexBusyError), S(IndexError), PyExc_BufferError,
         "The index cannot change while a view of its vectors (np.asarray) is alive. Also a BufferError."},
        {"PersistFileNotFoundError", S(PersistFileNotFoundError), S(PersistError), PyExc_FileNotFoundError,
         "load() of a path that does not exist. Also a FileNotFoundError (errno ENOENT, filename set)."},
        {"ConcurrentModificationError", S(ConcurrentModificationError), S(IndexError), PyExc_RuntimeError,
         "The index changed while it was being iterated. Also a RuntimeError."},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        const rv_exc_spec *s = &specs[i];
        PyObject *parent = s->parent < 0 ? PyExc_Exception : *(PyObject **)((char *)st + s->parent);
        PyObject *bases = s->builtin ? PyTuple_Pack(2, parent, s->builtin) : PyTuple_Pack(1, parent);
        if (!bases)
            return -1;
        char qualified[96];
        snprintf(qualified, sizeof qualified, "ruvector.%s", s->name);
        PyObject *exc = PyErr_NewExceptionWithDoc(qualified, s->doc, bases, NULL);
        Py_DECREF(bases);
        if (!exc)
            return -1;
        *(PyObject **)((char *)st + s->slot) = exc;
        if (PyModule_AddObjectRef(module, s->name, exc) < 0)
            return -1;
    }
    return 0;
}

#define RV_EXC_FIELDS(X) X(RuVectorError) X(IndexError) X(DimensionMismatch) X(EmptyIndex) \
    X(PersistError) X(LakeError) X(BackendError) X(CacheMissError) X(WitnessMismatch) X(A2aError) \
    X(CardSignatureInvalid) X(PolicyViolation) X(BudgetExceeded) X(TransportError) X(EmbedError) \
    X(ArgumentError) X(ArgumentTypeError) X(DuplicateIdError) X(UnknownIdError) X(NotRetainedError) \
    X(IndexBusyError) X(ConcurrentModificationError) X(PersistFileNotFoundError)

int rv_py_errors_traverse(rv_module_state *st, visitproc visit, void *arg)
{
#define X(f) Py_VISIT(st->f);
    RV_EXC_FIELDS(X)
#undef X
    return 0;
}

void rv_py_errors_clear(rv_module_state *st)
{
#define X(f) Py_CLEAR(st->f);
    RV_EXC_FIELDS(X)
#undef X
}

PyObject *rv_py_exc_class(rv_module_state *st, rv_status status)
{
    switch (status) {
    case RV_ERR_INVALID_ARGUMENT: return st->ArgumentError;
    case RV_ERR_DIMENSION_MISMATCH: return st->DimensionMismatch;
    case RV_ERR_EMPTY_INDEX: return st->EmptyIndex;
    case RV_ERR_DUPLICATE_ID: return st->DuplicateIdError;
    case RV_ERR_UNKNOWN_ID: return st->UnknownIdError;
    case RV_ERR_NOT_RETAINED: return st->NotRetainedError;
    case RV_ERR_BUSY: return st->IndexBusyError;
    case RV_ERR_CHANGED: return st->ConcurrentModificationError;
    case RV_ERR_NO_MEMORY: return PyExc_MemoryError;
    case RV_ERR_IO:
    case RV_ERR_FORMAT: return st->PersistError;
    case RV_ERR_LAKE: return st->LakeError;
    case RV_ERR_BACKEND: return st->BackendError;
    case RV_ERR_CACHE_MISS: return st->CacheMissError;
    case RV_ERR_WITNESS: return st->WitnessMismatch;
    case RV_ERR_MODEL: return st->EmbedError;
    case RV_ERR_TRANSPORT: return st->TransportError;
    case RV_ERR_POLICY: return st->PolicyViolation;
    case RV_ERR_BUDGET: return st->BudgetExceeded;
    case RV_ERR_SIGNATURE: return st->CardSignatureInvalid;
    default: return st->RuVectorError;
    }
}

PyObject *rv_py_raise(rv_module_state *st, rv_status status)
{
    if (PyErr_Occurred())
        return NULL; /* e.g. KeyboardInterrupt raised inside a progress callback */
    const char *msg = rv_last_error();
    PyErr_Format(rv_py_exc_class(st, status), "%s", *msg ? msg : rv_status_name(status));
    return NULL;
}

PyObject *rv_py_raise_load(rv_module_state *st, rv_status status, PyObject *path)
{
    struct stat sb;
    const char *cpath = PyBytes_AS_STRING(path);
    if (status != RV_ERR_IO || PyErr_Occurred() || stat(cpath, &sb) == 0 || errno != ENOENT)
        return rv_py_raise(st, status);
    /* OSError(errno, strerror, filename), strerror being the core's message: str() is
     * "[Errno 2] cannot open 'x': No such file or directory: 'x'" */
    const char *msg = rv_last_error();
    PyObject *exc = PyObject_CallFunction(st->PersistFileNotFoundError, "isN", ENOENT, *msg ? msg : strerror(ENOENT),
                                          PyUnicode_DecodeFSDefault(cpath));
    if (exc) {
        PyErr_SetObject(st->PersistFileNotFoundError, exc);
        Py_DECREF(exc);
    }
    return NULL;
}
