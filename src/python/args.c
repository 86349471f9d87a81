/*
 * args.c — argument parsing for METH_FASTCALL methods, and the two array arguments every index
 * call takes: float32 matrices and int64 id vectors.
 *
 * Policy (docs/design/architecture.md, "Inputs"): a buffer must already be C-contiguous float32 — it is used in
 * place, never silently copied; anything else raises with the fix in the message. Lists and
 * tuples are accepted and copied through NumPy (documented as slower).
 */
#include "module.h"

/* Replaces the pending exception with exc(msg), chaining the original as __cause__. */
static void rv_py_raise_from(PyObject *exc, const char *msg)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    PyErr_SetString(exc, msg);
    PyObject *t2, *v2, *tb2;
    PyErr_Fetch(&t2, &v2, &tb2);
    PyErr_NormalizeException(&t2, &v2, &tb2);
    if (v2 && v)
        PyException_SetCause(v2, v); /* steals v */
    else
        Py_XDECREF(v);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    PyErr_Restore(t2, v2, tb2);
}

int rv_py_parse(rv_module_state *st, const char *fname, PyObject *const *args, Py_ssize_t nargs,
                PyObject *kwnames, const char *const *names, int npos, int required, PyObject **out)
{
    int count = 0;
    while (names[count])
        count++;
    for (int i = 0; i < count; i++)
        out[i] = NULL;
    if (nargs > npos) {
        PyErr_Format(st->ArgumentTypeError, "%s() takes at most %d positional argument%s (%zd given)",
                     fname, npos, npos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++)
        out[i] = args[i];
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t j = 0; j < nkw; j++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, j);
        int found = -1;
        for (int i = 0; i < count; i++)
            if (PyUnicode_CompareWithASCIIString(key, names[i]) == 0) {
                found = i;
                break;
            }
        if (found < 0) {
            PyErr_Format(st->ArgumentTypeError, "%s() got an unexpected keyword argument '%U'", fname, key);
            return -1;
        }
        if (out[found]) {
            PyErr_Format(st->ArgumentTypeError, "%s() got multiple values for argument '%s'", fname, names[found]);
            return -1;
        }
        out[found] = args[nargs + j];
    }
    for (int i = 0; i < required; i++)
        if (!out[i]) {
            PyErr_Format(st->ArgumentTypeError, "%s() missing required argument '%s'", fname, names[i]);
            return -1;
        }
    return 0;
}

/* Buffer format -> NumPy-ish dtype name for messages. */
static const char *rv_format_name(const char *fmt, Py_ssize_t itemsize)
{
    if (!fmt)
        return "uint8";
    while (*fmt == '@' || *fmt == '=' || *fmt == '<' || *fmt == '>' || *fmt == '!')
        fmt++;
    switch (*fmt) {
    case 'f': return itemsize == 4 ? "float32" : "float";
    case 'd': return "float64";
    case 'e': return "float16";
    case 'g': return "longdouble";
    case 'b': return "int8";
    case 'B': return "uint8";
    case 'h': return "int16";
    case 'H': return "uint16";
    case 'i': return "int32";
    case 'I': return "uint32";
    case 'l': case 'q': return itemsize == 8 ? "int64" : "int32";
    case 'L': case 'Q': return itemsize == 8 ? "uint64" : "uint32";
    case '?': return "bool";
    case 'Z': return "complex";
    default: return fmt;
    }
}

/* The format's type character if it is native little-endian (our only byte order), else 0. */
static char rv_format_char(const char *fmt)
{
    if (!fmt)
        return 'B';
    if (*fmt == '>' || *fmt == '!')
        return 0;
    if (*fmt == '@' || *fmt == '=' || *fmt == '<')
        fmt++;
    return fmt[0] && !fmt[1] ? fmt[0] : 0;
}

static int rv_shape_error(rv_module_state *st, const char *what, int want, int ndim, const Py_ssize_t *shape)
{
    char got[96] = "";
    size_t len = 0;
    for (int i = 0; i < ndim && len < sizeof got - 24; i++)
        len += (size_t)snprintf(got + len, sizeof got - len, i ? ", %zd" : "%zd", shape[i]);
    if (ndim == 1)
        snprintf(got + len, sizeof got - len, ",");
    PyErr_Format(st->ArgumentError, "%s must be a %d-D array of shape %s, got a %d-D array of shape (%s)",
                 what, want, want == 1 ? "(dim,)" : "(n, dim)", ndim, got);
    return -1;
}

/* Whether a buffer format asks for the non-native byte order ('>f' / '!f' on our little-endian
 * targets): such data has the right width but would read as garbage. */
static bool rv_format_swapped(const char *fmt) { return fmt && (*fmt == '>' || *fmt == '!'); }

static int rv_dtype_error(rv_module_state *st, const char *what, const char *fmt, Py_ssize_t itemsize,
                          const char *source)
{
    const char *name = rv_format_name(fmt, itemsize);
    if (rv_format_swapped(fmt))
        PyErr_Format(st->ArgumentTypeError,
                     "%s is big-endian %s%s (dtype '>%c%zd'); convert it to native byte order with "
                     "np.ascontiguousarray(x, dtype=np.float32)",
                     what, name, source, name[0], itemsize);
    else
        PyErr_Format(st->ArgumentTypeError,
                     "%s must be float32, got %s%s; convert with np.ascontiguousarray(x, dtype=np.float32)",
                     what, name, source);
    return -1;
}

/* Objects NumPy can view without our help: torch CPU tensors, pandas frames, anything with the
 * array interface. Buffers are handled before this. */
static bool rv_has_array_interface(PyObject *obj)
{
    return PyObject_HasAttrString(obj, "__array__") || PyObject_HasAttrString(obj, "__array_interface__") ||
           PyObject_HasAttrString(obj, "__array_struct__");
}

int rv_py_matrix_get(rv_module_state *st, PyObject *obj, int ndim, const char *what, rv_py_matrix *m)
{
    memset(m, 0, sizeof *m);
    const Py_ssize_t *shape;
    int got_ndim;
    if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, &m->view, PyBUF_RECORDS_RO) < 0)
            return -1;
        m->has_view = 1;
        if (rv_format_char(m->view.format) != 'f' || m->view.itemsize != 4) {
            rv_dtype_error(st, what, m->view.format, m->view.itemsize, "");
            goto fail;
        }
        got_ndim = m->view.ndim;
        shape = m->view.shape;
        if (got_ndim != ndim) {
            rv_shape_error(st, what, ndim, got_ndim, shape);
            goto fail;
        }
        if (!PyBuffer_IsContiguous(&m->view, 'C')) {
            PyErr_Format(st->ArgumentError,
                         "%s is not C-contiguous (a slice or a transpose?); pass np.ascontiguousarray(x, dtype=np.float32)",
                         what);
            goto fail;
        }
        m->data = m->view.buf;
    } else if (PyList_Check(obj) || PyTuple_Check(obj)) {
        PyObject *arr = PyArray_FromAny(obj, PyArray_DescrFromType(NPY_FLOAT32), 0, 0,
                                        NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED, NULL);
        if (!arr) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s must be a float32 array or a (nested) list of numbers", what);
            rv_py_raise_from(st->ArgumentTypeError, msg);
            return -1;
        }
        m->owned = arr;
        got_ndim = PyArray_NDIM((PyArrayObject *)arr);
        shape = PyArray_SHAPE((PyArrayObject *)arr);
        if (got_ndim != ndim) {
            rv_shape_error(st, what, ndim, got_ndim, shape);
            goto fail;
        }
        m->data = PyArray_DATA((PyArrayObject *)arr);
    } else if (!PyUnicode_Check(obj) && !PyBytes_Check(obj) && rv_has_array_interface(obj)) {
        /* No dtype and no flags requested, so NumPy makes no copy of its own: a float32
         * C-contiguous source (a torch CPU tensor) is used in place, anything else is refused
         * below with the conversion, as for a NumPy array. */
        PyObject *arr = PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
        if (!arr) {
            char msg[256];
            snprintf(msg, sizeof msg, "%s (a %.100s) could not be read as an array (see the cause above); "
                     "pass a float32 NumPy array, e.g. x.detach().cpu().numpy() for a torch tensor", what,
                     Py_TYPE(obj)->tp_name);
            rv_py_raise_from(st->ArgumentTypeError, msg);
            return -1;
        }
        m->owned = arr;
        PyArrayObject *a = (PyArrayObject *)arr;
        char source[160];
        snprintf(source, sizeof source, " (from a %.100s)", Py_TYPE(obj)->tp_name);
        if (PyArray_TYPE(a) != NPY_FLOAT32 || !PyArray_ISNOTSWAPPED(a)) {
            if (PyArray_TYPE(a) == NPY_FLOAT32)
                rv_dtype_error(st, what, ">f", 4, source);
            else
                PyErr_Format(st->ArgumentTypeError,
                             "%s must be float32, got %S%s; convert with np.ascontiguousarray(x, dtype=np.float32)"
                             " (for a torch tensor: x.float().contiguous())",
                             what, (PyObject *)PyArray_DESCR(a), source);
            goto fail;
        }
        got_ndim = PyArray_NDIM(a);
        shape = PyArray_SHAPE(a);
        if (got_ndim != ndim) {
            rv_shape_error(st, what, ndim, got_ndim, shape);
            goto fail;
        }
        if (!PyArray_IS_C_CONTIGUOUS(a) || !PyArray_ISALIGNED(a)) {
            PyErr_Format(st->ArgumentError,
                         "%s%s is not C-contiguous; pass np.ascontiguousarray(x, dtype=np.float32)", what, source);
            goto fail;
        }
        m->data = PyArray_DATA(a);
    } else {
        PyErr_Format(st->ArgumentTypeError,
                     "%s must be a float32 numpy array (or a list of floats, or an object with __array__ such as "
                     "a torch CPU tensor), not %.100s",
                     what, Py_TYPE(obj)->tp_name);
        return -1;
    }
    m->rows = ndim == 1 ? 1 : shape[0];
    m->cols = shape[ndim - 1];
    if (m->cols > (Py_ssize_t)RV_INDEX_MAX_DIM) {
        PyErr_Format(st->ArgumentError, "%s has dim %zd; at most %u is supported", what, m->cols, RV_INDEX_MAX_DIM);
        goto fail;
    }
    return 0;
fail:
    rv_py_matrix_release(m);
    return -1;
}

void rv_py_matrix_release(rv_py_matrix *m)
{
    if (m->has_view)
        PyBuffer_Release(&m->view);
    m->has_view = 0;
    Py_CLEAR(m->owned);
}

static int rv_py_id_overflow(rv_module_state *st, const char *what, Py_ssize_t pos)
{
    if (pos >= 0)
        PyErr_Format(st->ArgumentError, "%s[%zd] does not fit in a signed 64-bit id", what, pos);
    else
        PyErr_Format(st->ArgumentError, "%s does not fit in a signed 64-bit id", what);
    return -1;
}

/* obj as an exact int (anything with __index__: int, bool, NumPy integers), a new reference; or
 * NULL with ArgumentTypeError naming what (and its position in a sequence, when pos >= 0). */
static PyObject *rv_py_as_int(rv_module_state *st, PyObject *item, const char *what, Py_ssize_t pos)
{
    PyObject *index = PyNumber_Index(item);
    if (index)
        return index;
    PyErr_Clear();
    if (pos >= 0)
        PyErr_Format(st->ArgumentTypeError, "%s[%zd] must be an integer, not %.100s", what, pos, Py_TYPE(item)->tp_name);
    else
        PyErr_Format(st->ArgumentTypeError, "%s must be an integer, not %.100s", what, Py_TYPE(item)->tp_name);
    return NULL;
}

static int rv_py_long_to_id(rv_module_state *st, PyObject *item, const char *what, Py_ssize_t pos, int64_t *out)
{
    PyObject *index = rv_py_as_int(st, item, what, pos);
    if (!index)
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
    Py_DECREF(index);
    if (overflow)
        return rv_py_id_overflow(st, what, pos);
    if (v == -1 && PyErr_Occurred())
        return -1;
    *out = (int64_t)v;
    return 0;
}

int rv_py_id_get(rv_module_state *st, PyObject *obj, const char *what, int64_t *out)
{
    return rv_py_long_to_id(st, obj, what, -1, out);
}

int rv_py_int_get(rv_module_state *st, PyObject *obj, const char *what, int64_t lo, int64_t hi, int64_t *out)
{
    PyObject *index = rv_py_as_int(st, obj, what, -1);
    if (!index)
        return -1;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(index, &overflow);
    if (v == -1 && !overflow && PyErr_Occurred()) {
        Py_DECREF(index);
        return -1;
    }
    if (overflow || v < lo || v > hi) { /* %S: the value as given, however large */
        PyErr_Format(st->ArgumentError, "%s must be in %lld..%lld, not %S", what, (long long)lo, (long long)hi, index);
        Py_DECREF(index);
        return -1;
    }
    Py_DECREF(index);
    *out = (int64_t)v;
    return 0;
}

int rv_py_u64_get(rv_module_state *st, PyObject *obj, const char *what, uint64_t *out)
{
    PyObject *index = rv_py_as_int(st, obj, what, -1);
    if (!index)
        return -1;
    unsigned long long v = PyLong_AsUnsignedLongLong(index); /* OverflowError below 0 or above 2^64-1 */
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            Py_DECREF(index);
            return -1;
        }
        PyErr_Clear();
        PyErr_Format(st->ArgumentError, "%s must be in 0..%llu, not %S", what, (unsigned long long)UINT64_MAX, index);
        Py_DECREF(index);
        return -1;
    }
    Py_DECREF(index);
    *out = (uint64_t)v;
    return 0;
}

int rv_py_k_get(rv_module_state *st, PyObject *obj, size_t *out)
{
    if (!obj) {
        *out = 10;
        return 0;
    }
    int64_t k;
    if (rv_py_int_get(st, obj, "k", 1, INT64_MAX, &k) < 0)
        return -1;
    *out = (size_t)k;
    return 0;
}

int rv_py_ids_get(rv_module_state *st, PyObject *obj, const char *what, rv_py_ids *ids)
{
    memset(ids, 0, sizeof *ids);
    if (!PyObject_CheckBuffer(obj) && !PyList_Check(obj) && !PyTuple_Check(obj) && !PyRange_Check(obj) &&
        !PyUnicode_Check(obj) && rv_has_array_interface(obj)) {
        /* a torch tensor or another __array__ object: viewed through NumPy (no copy asked), then
         * read like any array; the buffer view keeps the NumPy array alive */
        PyObject *arr = PyArray_FromAny(obj, NULL, 0, 0, 0, NULL);
        if (!arr) {
            char msg[200];
            snprintf(msg, sizeof msg, "%s (a %.100s) could not be read as an array of integers", what,
                     Py_TYPE(obj)->tp_name);
            rv_py_raise_from(st->ArgumentTypeError, msg);
            return -1;
        }
        int r = PyObject_CheckBuffer(arr) ? rv_py_ids_get(st, arr, what, ids) : -1;
        if (r < 0 && !PyErr_Occurred())
            PyErr_Format(st->ArgumentTypeError, "%s must be integers (int64)", what);
        Py_DECREF(arr);
        return r;
    }
    if (PyObject_CheckBuffer(obj)) {
        if (PyObject_GetBuffer(obj, &ids->view, PyBUF_RECORDS_RO) < 0)
            return -1;
        ids->has_view = 1;
        Py_buffer *v = &ids->view;
        if (v->ndim != 1) {
            PyErr_Format(st->ArgumentError, "%s must be 1-D, got %d-D", what, v->ndim);
            goto fail;
        }
        char c = rv_format_char(v->format);
        bool is_int = c && strchr("bBhHiIlLqQ", c) != NULL;
        if (!is_int) {
            if (rv_format_swapped(v->format))
                PyErr_Format(st->ArgumentTypeError, "%s is big-endian %s; convert it to native byte order with "
                             "np.ascontiguousarray(ids, dtype=np.int64)", what, rv_format_name(v->format, v->itemsize));
            else
                PyErr_Format(st->ArgumentTypeError, "%s must be integers (int64), got %s", what,
                             rv_format_name(v->format, v->itemsize));
            goto fail;
        }
        ids->n = v->shape[0];
        if ((c == 'q' || c == 'l') && v->itemsize == 8 && PyBuffer_IsContiguous(v, 'C')) {
            ids->data = v->buf;
            return 0;
        }
        /* Other integer widths: convert element by element, refusing what int64 cannot hold. */
        ids->owned = PyMem_Malloc((size_t)(ids->n ? ids->n : 1) * sizeof(int64_t));
        if (!ids->owned) {
            PyErr_NoMemory();
            goto fail;
        }
        bool is_signed = strchr("bhilq", c) != NULL;
        for (Py_ssize_t i = 0; i < ids->n; i++) {
            const char *p = (const char *)v->buf + i * (v->strides ? v->strides[0] : v->itemsize);
            if (is_signed) {
                int64_t x = 0;
                switch (v->itemsize) {
                case 1: x = *(const int8_t *)p; break;
                case 2: { int16_t t; memcpy(&t, p, 2); x = t; break; }
                case 4: { int32_t t; memcpy(&t, p, 4); x = t; break; }
                default: memcpy(&x, p, 8); break;
                }
                ids->owned[i] = x;
            } else {
                uint64_t x = 0;
                switch (v->itemsize) {
                case 1: x = *(const uint8_t *)p; break;
                case 2: { uint16_t t; memcpy(&t, p, 2); x = t; break; }
                case 4: { uint32_t t; memcpy(&t, p, 4); x = t; break; }
                default: memcpy(&x, p, 8); break;
                }
                if (x > (uint64_t)INT64_MAX) {
                    rv_py_id_overflow(st, what, i);
                    goto fail;
                }
                ids->owned[i] = (int64_t)x;
            }
        }
        ids->data = ids->owned;
        return 0;
    }
    if (!PyList_Check(obj) && !PyTuple_Check(obj) && !PyRange_Check(obj)) {
        PyErr_Format(st->ArgumentTypeError, "%s must be a sequence or array of integers, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    PyObject *seq = PySequence_Fast(obj, "ids");
    if (!seq)
        return -1;
    ids->n = PySequence_Fast_GET_SIZE(seq);
    ids->owned = PyMem_Malloc((size_t)(ids->n ? ids->n : 1) * sizeof(int64_t));
    if (!ids->owned) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < ids->n; i++)
        if (rv_py_long_to_id(st, PySequence_Fast_GET_ITEM(seq, i), what, i, &ids->owned[i]) < 0) {
            Py_DECREF(seq);
            goto fail;
        }
    Py_DECREF(seq);
    ids->data = ids->owned;
    return 0;
fail:
    rv_py_ids_release(ids);
    return -1;
}

void rv_py_ids_release(rv_py_ids *ids)
{
    if (ids->has_view)
        PyBuffer_Release(&ids->view);
    ids->has_view = 0;
    PyMem_Free(ids->owned);
    ids->owned = NULL;
}

int rv_py_path_get(rv_module_state *st, PyObject *obj, PyObject **bytes)
{
    if (!PyUnicode_Check(obj) && !PyBytes_Check(obj) && !PyObject_HasAttrString(obj, "__fspath__")) {
        PyErr_Format(st->ArgumentTypeError, "path must be str, bytes or os.PathLike, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    return PyUnicode_FSConverter(obj, bytes) ? 0 : -1;
}
