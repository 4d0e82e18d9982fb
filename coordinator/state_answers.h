/* coordinator/state_answers.h: shared by state.c and state_ingest.c (internal). */
#ifndef ALQ_STATE_ANSWERS_H
#define ALQ_STATE_ANSWERS_H
#include "alq/state.h"

/* Room for `n` answers in every column; contents and a->n are kept, so a
 * failure leaves the answers as they were. */
alq_err alq_answers_reserve(alq_answers *a, int64_t n);

#endif
