/*
 * async.c — *_async methods: work runs on the C pool, results reach the asyncio loop.
 *
 * rv_py_async_submit creates a future on the running loop, makes sure the loop watches an
 * eventfd of ours (loop.add_reader), and queues the task on the pool (rv_pool_submit: no
 * executor, no thread per call). The worker runs the task without the GIL, appends it to a
 * finished list and — first finisher of a burst only — writes the eventfd; it never takes the
 * GIL, so it never waits for the loop's thread. The loop then runs _drain_async, which builds
 * the Python results and resolves the futures in one go (a future cancelled meanwhile just
 * drops its result), and stops watching the fd when nothing is outstanding.
 */
#include "module.h"

#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>


/* Under async_mu: the wake-up slot of loop, or NULL. */
static rv_loop_slot *rv_loop_slot_locked(rv_module_state *st, PyObject *loop)
{
    for (size_t i = 0; i < st->nloops; i++)
        if (st->loops[i].loop == loop)
            return &st->loops[i];
    return NULL;
}

/* On the loop's thread (GIL held): makes sure loop has a slot — an eventfd the loop watches with
 * add_reader(fd, _drain_async, loop) — and counts one more outstanding call on it. */
static int rv_loop_attach(rv_module_state *st, PyObject *loop)
{
    pthread_mutex_lock(&st->async_mu);
    rv_loop_slot *slot = rv_loop_slot_locked(st, loop);
    if (slot)
        slot->outstanding++;
    pthread_mutex_unlock(&st->async_mu);
    if (slot)
        return 0;
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    PyObject *fd_obj = PyLong_FromLong(fd);
    PyObject *r = fd_obj ? PyObject_CallMethod(loop, "add_reader", "OOO", fd_obj, st->drain_async, loop) : NULL;
    Py_XDECREF(fd_obj);
    if (!r) {
        close(fd);
        return -1;
    }
    Py_DECREF(r);
    pthread_mutex_lock(&st->async_mu);
    if (st->nloops == st->loops_cap) {
        size_t cap = st->loops_cap ? st->loops_cap * 2 : 4;
        rv_loop_slot *grown = PyMem_RawRealloc(st->loops, cap * sizeof *grown);
        if (!grown) {
            pthread_mutex_unlock(&st->async_mu);
            PyObject *rr = PyObject_CallMethod(loop, "remove_reader", "i", fd);
            Py_XDECREF(rr);
            close(fd);
            PyErr_NoMemory();
            return -1;
        }
        st->loops = grown;
        st->loops_cap = cap;
    }
    st->loops[st->nloops++] = (rv_loop_slot){Py_NewRef(loop), fd, 1, 0};
    pthread_mutex_unlock(&st->async_mu);
    return 0;
}

/* On a pool worker: runs the search without the GIL and queues the finished task; the first
 * task of a burst writes the loop's eventfd (under the mutex, so the slot cannot go away). The
 * worker never takes the GIL, so it never waits for the event loop's thread. */
static void rv_async_run(void *ctx, size_t unused)
{
    (void)unused;
    rv_py_async *t = ctx;
    rv_module_state *st = t->st;
    t->run(t);
    pthread_mutex_lock(&st->async_mu);
    t->next = NULL;
    if (st->async_tail)
        st->async_tail->next = t;
    else
        st->async_head = t;
    st->async_tail = t;
    rv_loop_slot *slot = rv_loop_slot_locked(st, t->loop);
    if (slot && !slot->pending) {
        slot->pending = 1;
        uint64_t one = 1;
        ssize_t w = write(slot->fd, &one, sizeof one); /* EAGAIN: already readable, fine */
        (void)w;
    }
    pthread_mutex_unlock(&st->async_mu);
}

/* _drain_async(loop), on the loop's thread (its eventfd became readable): resolves every
 * finished task of this loop — a future cancelled meanwhile just drops its result — and
 * detaches the loop when nothing is outstanding. */
static PyObject *rv_drain_async(PyObject *module, PyObject *loop)
{
    rv_module_state *st = PyModule_GetState(module);
    rv_py_async *mine = NULL, **tail = &mine;
    size_t count = 0;
    pthread_mutex_lock(&st->async_mu);
    rv_loop_slot *slot = rv_loop_slot_locked(st, loop);
    if (slot) {
        uint64_t v;
        ssize_t r = read(slot->fd, &v, sizeof v);
        (void)r;
        slot->pending = 0;
    }
    rv_py_async **pp = &st->async_head, *prev = NULL;
    while (*pp) {
        rv_py_async *t = *pp;
        if (t->loop == loop) {
            *pp = t->next;
            t->next = NULL;
            *tail = t;
            tail = &t->next;
            count++;
        } else {
            prev = t;
            pp = &t->next;
        }
    }
    st->async_tail = prev;
    pthread_mutex_unlock(&st->async_mu);
    while (mine) {
        rv_py_async *t = mine;
        mine = t->next;
        PyObject *value = t->result(st, t);
        const char *method = "set_result";
        if (!value) {
            PyObject *type, *tb;
            PyErr_Fetch(&type, &value, &tb);
            PyErr_NormalizeException(&type, &value, &tb);
            if (value && tb)
                PyException_SetTraceback(value, tb);
            Py_XDECREF(type);
            Py_XDECREF(tb);
            method = "set_exception";
        }
        PyObject *done = PyObject_CallMethod(t->future, "done", NULL);
        int is_done = done ? PyObject_IsTrue(done) : 1;
        Py_XDECREF(done);
        if (value && is_done == 0) {
            PyObject *r = PyObject_CallMethod(t->future, method, "O", value);
            Py_XDECREF(r);
        }
        PyErr_Clear();
        Py_XDECREF(value);
        Py_DECREF(t->future);
        Py_DECREF(t->loop);
        Py_DECREF(t->owner);
        Py_DECREF(t->module);
        t->free(t);
    }
    int fd = -1;
    PyObject *loop_ref = NULL;
    pthread_mutex_lock(&st->async_mu);
    slot = rv_loop_slot_locked(st, loop);
    if (slot) {
        slot->outstanding -= count < slot->outstanding ? count : slot->outstanding;
        if (slot->outstanding == 0) {
            fd = slot->fd;
            loop_ref = slot->loop;
            *slot = st->loops[--st->nloops];
        }
    }
    pthread_mutex_unlock(&st->async_mu);
    if (fd >= 0) {
        PyObject *r = PyObject_CallMethod(loop, "remove_reader", "i", fd);
        if (!r)
            PyErr_Clear();
        Py_XDECREF(r);
        close(fd);
        Py_DECREF(loop_ref);
    }
    Py_RETURN_NONE;
}

PyObject *rv_py_async_submit(rv_module_state *st, PyObject *owner, rv_py_async *t)
{
    PyObject *asyncio = PyImport_ImportModule("asyncio");
    PyObject *loop = asyncio ? PyObject_CallMethod(asyncio, "get_running_loop", NULL) : NULL;
    Py_XDECREF(asyncio);
    PyObject *future = loop ? PyObject_CallMethod(loop, "create_future", NULL) : NULL;
    if (!future || rv_loop_attach(st, loop) < 0) {
        Py_XDECREF(loop);
        Py_XDECREF(future);
        t->free(t);
        return NULL;
    }
    t->st = st;
    t->module = Py_NewRef(PyType_GetModuleByDef(Py_TYPE(owner), &rv_module_def));
    t->owner = Py_NewRef(owner);
    t->loop = loop;
    t->future = Py_NewRef(future);
    if (rv_pool_submit(rv_async_run, t) != 0) {
        pthread_mutex_lock(&st->async_mu);
        rv_loop_slot *slot = rv_loop_slot_locked(st, loop);
        if (slot && slot->outstanding) /* the reader stays until the loop's next drain or close */
            slot->outstanding--;
        pthread_mutex_unlock(&st->async_mu);
        Py_DECREF(t->module);
        Py_DECREF(t->owner);
        Py_DECREF(t->future);
        Py_DECREF(t->loop);
        t->free(t);
        Py_DECREF(future);
        PyErr_SetString(PyExc_MemoryError, "cannot queue the work on the worker pool");
        return NULL;
    }
    return future;
}

static PyMethodDef rv_async_methods[] = {
    {"_drain_async", rv_drain_async, METH_O, NULL},
    {NULL, NULL, 0, NULL},
};

int rv_py_async_init(PyObject *module, rv_module_state *st)
{
    if (PyModule_AddFunctions(module, rv_async_methods) < 0)
        return -1;
    if (pthread_mutex_init(&st->async_mu, NULL) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "cannot create a mutex");
        return -1;
    }
    st->async_mu_ready = 1;
    st->drain_async = PyObject_GetAttrString(module, "_drain_async");
    return st->drain_async ? 0 : -1;
}
