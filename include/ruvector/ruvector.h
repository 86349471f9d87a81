/* ruvector/ruvector.h — the whole public C API. Link with libruvector (+ -lxxhash -lcrypto
 * -ljansson -lcurl -lm -pthread). */
#ifndef RUVECTOR_RUVECTOR_H
#define RUVECTOR_RUVECTOR_H
#include "ruvector/status.h"
#include "ruvector/base.h"
#include "ruvector/index.h"
#include "ruvector/lake.h"
#include "ruvector/embed.h"
#include "ruvector/http.h"
#endif
