/*
 * POSIX (Linux host) implementation of port/os.h on pthreads.
 *
 * Events wait on CLOCK_MONOTONIC so that wall-clock steps (NTP, SNTP, the
 * user) never stretch or cut a timeout.
 */
#ifndef _GNU_SOURCE /* IDF's linux target passes -D_GNU_SOURCE */
#define _GNU_SOURCE /* pthread_setname_np, pthread_setaffinity_np, CPU_SET */
#endif

#include "os.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define US_PER_S 1000000ULL
#define NS_PER_US 1000ULL

/* Linux limits thread names to 16 bytes including the terminator. */
#define THREAD_NAME_MAX 16

struct os_mutex {
    pthread_mutex_t m;
};

struct os_event {
    pthread_mutex_t m;
    pthread_cond_t cond;
    bool flag;
};

struct os_thread {
    pthread_t tid;
    void (*fn)(void *);
    void *arg;
    char name[THREAD_NAME_MAX]; /* empty: keep the inherited name */
    int core;                   /* -1: any */
};

uint64_t os_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * US_PER_S + (uint64_t)ts.tv_nsec / NS_PER_US;
}

/* splitmix64 (Steele, Lea, Flood 2014): only used when getrandom() fails. */
static uint64_t splitmix64_next(void)
{
    static _Atomic uint64_t state;
    const uint64_t golden = 0x9E3779B97F4A7C15ULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Mixing the time in keeps two processes from producing the same stream. */
    uint64_t z = atomic_fetch_add(&state, golden) + golden +
                 (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t os_random_u64(void)
{
    uint64_t v;
    /* GRND_NONBLOCK: early at boot the pool may not be ready; fall back then. */
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v)) {
        return v;
    }
    return splitmix64_next();
}

esp_err_t os_mutex_create(os_mutex_t **out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    os_mutex_t *m = calloc(1, sizeof(*m));
    if (!m) {
        return ESP_ERR_NO_MEM;
    }
    if (pthread_mutex_init(&m->m, NULL) != 0) {
        free(m);
        return ESP_FAIL;
    }
    *out = m;
    return ESP_OK;
}

void os_mutex_destroy(os_mutex_t *m)
{
    if (!m) {
        return;
    }
    pthread_mutex_destroy(&m->m);
    free(m);
}

void os_mutex_lock(os_mutex_t *m)
{
    pthread_mutex_lock(&m->m);
}

bool os_mutex_trylock(os_mutex_t *m)
{
    return pthread_mutex_trylock(&m->m) == 0;
}

void os_mutex_unlock(os_mutex_t *m)
{
    pthread_mutex_unlock(&m->m);
}

esp_err_t os_event_create(os_event_t **out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_FAIL;
    bool mutex_ok = false;
    bool attr_ok = false;
    pthread_condattr_t attr;
    os_event_t *e = calloc(1, sizeof(*e));
    if (!e) {
        return ESP_ERR_NO_MEM;
    }
    if (pthread_mutex_init(&e->m, NULL) != 0) {
        goto cleanup;
    }
    mutex_ok = true;
    if (pthread_condattr_init(&attr) != 0) {
        goto cleanup;
    }
    attr_ok = true;
    if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&e->cond, &attr) != 0) {
        goto cleanup;
    }
    pthread_condattr_destroy(&attr);
    *out = e;
    return ESP_OK;

cleanup:
    if (attr_ok) {
        pthread_condattr_destroy(&attr);
    }
    if (mutex_ok) {
        pthread_mutex_destroy(&e->m);
    }
    free(e);
    return err;
}

void os_event_destroy(os_event_t *e)
{
    if (!e) {
        return;
    }
    pthread_cond_destroy(&e->cond);
    pthread_mutex_destroy(&e->m);
    free(e);
}

void os_event_set(os_event_t *e)
{
    pthread_mutex_lock(&e->m);
    e->flag = true;
    /* Broadcast: one waiter takes the flag, the others re-check and sleep. */
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->m);
}

/* Largest value a (signed) time_t can hold, without assuming its width. */
static uint64_t time_t_max(void)
{
    return (((uint64_t)1 << (sizeof(time_t) * CHAR_BIT - 2)) - 1) * 2 + 1;
}

/*
 * Absolute CLOCK_MONOTONIC deadline timeout_us from now. False when it does
 * not fit (a timeout of centuries): the caller then waits without one.
 */
static bool deadline_after(uint64_t timeout_us, struct timespec *out)
{
    uint64_t now = os_now_us();
    if (timeout_us == OS_WAIT_FOREVER || timeout_us > UINT64_MAX - now) {
        return false;
    }
    uint64_t deadline = now + timeout_us;
    uint64_t secs = deadline / US_PER_S;
    if (secs > time_t_max()) {
        return false;
    }
    out->tv_sec = (time_t)secs;
    out->tv_nsec = (long)((deadline % US_PER_S) * NS_PER_US);
    return true;
}

bool os_event_wait(os_event_t *e, uint64_t timeout_us)
{
    struct timespec deadline;
    bool timed = deadline_after(timeout_us, &deadline);

    pthread_mutex_lock(&e->m);
    while (!e->flag) {
        if (timeout_us == 0) {
            break;
        }
        if (!timed) {
            pthread_cond_wait(&e->cond, &e->m);
            continue;
        }
        int rc = pthread_cond_timedwait(&e->cond, &e->m, &deadline);
        if (rc == ETIMEDOUT) {
            break;
        }
    }
    bool was_set = e->flag;
    e->flag = false;
    pthread_mutex_unlock(&e->m);
    return was_set;
}

static void *thread_trampoline(void *p)
{
    os_thread_t *t = p;
    /*
     * Name and affinity are set by the thread itself, so they hold from its
     * first instruction. Both are conveniences on the host: failures are ignored.
     */
    if (t->name[0]) {
        (void)pthread_setname_np(pthread_self(), t->name);
    }
    if (t->core >= 0 && t->core < CPU_SETSIZE) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(t->core, &set);
        (void)pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    }
    t->fn(t->arg);
    return NULL;
}

esp_err_t os_thread_create(const os_thread_config_t *cfg, void (*fn)(void *), void *arg,
                           os_thread_t **out)
{
    if (!cfg || !fn || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    esp_err_t err = ESP_FAIL;
    pthread_attr_t attr;
    bool attr_ok = false;
    os_thread_t *t = calloc(1, sizeof(*t));
    if (!t) {
        return ESP_ERR_NO_MEM;
    }
    t->fn = fn;
    t->arg = arg;
    t->core = cfg->core;
    if (cfg->name) {
        /* Linux keeps at most 15 characters: longer names are cut, not refused. */
        strncpy(t->name, cfg->name, sizeof(t->name) - 1);
    }

    if (pthread_attr_init(&attr) != 0) {
        goto cleanup;
    }
    attr_ok = true;
    if (cfg->stack_size != 0) {
        /* Target stack sizes (a few KiB) fit neither glibc's minimum nor a host
         * process's static TLS, which every thread's stack also holds. */
        size_t min = (size_t)PTHREAD_STACK_MIN > 262144 ? (size_t)PTHREAD_STACK_MIN : 262144;
        size_t size = cfg->stack_size < min ? min : cfg->stack_size;
        if (pthread_attr_setstacksize(&attr, size) != 0) {
            err = ESP_ERR_INVALID_ARG;
            goto cleanup;
        }
    }
    int rc = pthread_create(&t->tid, &attr, thread_trampoline, t);
    if (rc != 0) {
        err = rc == EAGAIN ? ESP_ERR_NO_MEM : ESP_FAIL;
        goto cleanup;
    }
    pthread_attr_destroy(&attr);
    *out = t;
    return ESP_OK;

cleanup:
    if (attr_ok) {
        pthread_attr_destroy(&attr);
    }
    free(t);
    return err;
}

void os_thread_join(os_thread_t *t)
{
    if (!t) {
        return;
    }
    pthread_join(t->tid, NULL);
    free(t);
}

/* ---- per-thread wake event ---------------------------------------------------- */

static pthread_key_t thread_event_key;
static pthread_once_t thread_event_once = PTHREAD_ONCE_INIT;

static void thread_event_free(void *e)
{
    os_event_destroy(e);
}

static void thread_event_key_create(void)
{
    (void)pthread_key_create(&thread_event_key, thread_event_free);
}

os_event_t *os_thread_event(void)
{
    pthread_once(&thread_event_once, thread_event_key_create);
    os_event_t *e = pthread_getspecific(thread_event_key);
    if (!e && os_event_create(&e) == ESP_OK) {
        if (pthread_setspecific(thread_event_key, e) != 0) {
            os_event_destroy(e);
            e = NULL;
        }
    }
    return e;
}
