/*
 * OS interface of the runtime. Core code uses only this; one implementation
 * file per platform lives in port/<os>/ (posix now, freertos later).
 *
 * Times are microseconds of a monotonic clock; OS_WAIT_FOREVER blocks.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

#define OS_WAIT_FOREVER UINT64_MAX

typedef struct os_mutex os_mutex_t;
typedef struct os_event os_event_t;
typedef struct os_thread os_thread_t;

/** Monotonic time in microseconds since an arbitrary start. */
uint64_t os_now_us(void);

/** A non-cryptographic random 64-bit value seeded from the platform. */
uint64_t os_random_u64(void);

esp_err_t os_mutex_create(os_mutex_t **out);
void os_mutex_destroy(os_mutex_t *m);
void os_mutex_lock(os_mutex_t *m);
/** Takes the mutex if it is free (or already held by the caller on a port whose mutex nests). */
bool os_mutex_trylock(os_mutex_t *m);
void os_mutex_unlock(os_mutex_t *m);

/*
 * Binary event (a sticky flag with one or more waiters): set() makes the
 * next or current wait() return true and clears the flag. Used for the poll
 * task's wake and for per-waiter wake-ups; sticky, so a set() between a
 * check and a wait is never lost.
 */
esp_err_t os_event_create(os_event_t **out);
void os_event_destroy(os_event_t *e);
void os_event_set(os_event_t *e);
/**
 * Wait up to timeout_us; true if the event was set (and is now cleared). A
 * timeout of 0 only tests the flag; on a cooperative port it is also a
 * scheduling point (drivers run, other threads get the CPU).
 */
bool os_event_wait(os_event_t *e, uint64_t timeout_us);

/**
 * The calling thread's own wake event, created on first use and freed when
 * the thread ends. A blocked socket call waits on it (FreeRTOS: the task's
 * notification). NULL only when it cannot be allocated.
 */
os_event_t *os_thread_event(void);

typedef struct {
    const char *name;
    size_t stack_size;   /* bytes; 0 = platform default */
    int priority;        /* platform priority; ignored on POSIX */
    int core;            /* core affinity, -1 = any */
} os_thread_config_t;

esp_err_t os_thread_create(const os_thread_config_t *cfg, void (*fn)(void *), void *arg,
                           os_thread_t **out);
/** Wait for the thread to return and free it. */
void os_thread_join(os_thread_t *t);

#ifdef __cplusplus
}
#endif
