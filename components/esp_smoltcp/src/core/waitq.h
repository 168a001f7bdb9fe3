/*
 * Wait queues: the threads blocked on one socket (or on the interface
 * getting an address). Each waiter brings its own os_event; a wake sets the
 * event of every waiter on the queue. All calls under the core lock; the
 * sticky event means a wake between unlock and wait is never lost.
 */
#pragma once

#include <stddef.h>

#include "os.h"

typedef struct waiter {
    os_event_t *event;
    struct waiter *next;
} waiter_t;

typedef struct {
    waiter_t *head;
} waitq_t;

static inline void waitq_add(waitq_t *q, waiter_t *w)
{
    w->next = q->head;
    q->head = w;
}

static inline void waitq_remove(waitq_t *q, waiter_t *w)
{
    for (waiter_t **p = &q->head; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

static inline void waitq_wake_all(waitq_t *q)
{
    for (waiter_t *w = q->head; w; w = w->next) {
        os_event_set(w->event);
    }
}
