/*
 * status.c — the thread-local error message behind rv_last_error().
 *
 * Each thread owns a fixed buffer (no allocation, so reporting NO_MEMORY cannot itself fail).
 * The message is set by the function that detects the problem, at the API boundary, and names
 * the values involved. Work on pool threads never sets it: tasks record their status in their
 * job and the calling thread reports.
 */
#include <stdarg.h>
#include <stdio.h>

#include "base/internal.h"

static _Thread_local char rv_error_message[512];

const char *rv_last_error(void) { return rv_error_message; }

rv_status rv_fail(rv_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rv_error_message, sizeof rv_error_message, fmt, ap);
    va_end(ap);
    return status;
}

const char *rv_status_name(rv_status status)
{
    switch (status) {
    case RV_OK: return "RV_OK";
    case RV_ERR_INVALID_ARGUMENT: return "RV_ERR_INVALID_ARGUMENT";
    case RV_ERR_DIMENSION_MISMATCH: return "RV_ERR_DIMENSION_MISMATCH";
    case RV_ERR_EMPTY_INDEX: return "RV_ERR_EMPTY_INDEX";
    case RV_ERR_DUPLICATE_ID: return "RV_ERR_DUPLICATE_ID";
    case RV_ERR_UNKNOWN_ID: return "RV_ERR_UNKNOWN_ID";
    case RV_ERR_NOT_RETAINED: return "RV_ERR_NOT_RETAINED";
    case RV_ERR_BUSY: return "RV_ERR_BUSY";
    case RV_ERR_CHANGED: return "RV_ERR_CHANGED";
    case RV_ERR_NO_MEMORY: return "RV_ERR_NO_MEMORY";
    case RV_ERR_IO: return "RV_ERR_IO";
    case RV_ERR_LAKE: return "RV_ERR_LAKE";
    case RV_ERR_BACKEND: return "RV_ERR_BACKEND";
    case RV_ERR_CACHE_MISS: return "RV_ERR_CACHE_MISS";
    case RV_ERR_WITNESS: return "RV_ERR_WITNESS";
    case RV_ERR_MODEL: return "RV_ERR_MODEL";
    case RV_ERR_TRANSPORT: return "RV_ERR_TRANSPORT";
    case RV_ERR_POLICY: return "RV_ERR_POLICY";
    case RV_ERR_BUDGET: return "RV_ERR_BUDGET";
    case RV_ERR_SIGNATURE: return "RV_ERR_SIGNATURE";
    case RV_ERR_FORMAT: return "RV_ERR_FORMAT";
    case RV_ERR_CANCELLED: return "RV_ERR_CANCELLED";
    case RV_ERR_INTERNAL: return "RV_ERR_INTERNAL";
    }
    return "RV_ERR_UNKNOWN";
}

const char *rv_version(void) { return RV_VERSION_STRING; }
