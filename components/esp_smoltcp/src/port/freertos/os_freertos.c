/*
 * FreeRTOS (ESP-IDF) implementation of port/os.h.
 *
 * Time comes from esp_timer (microseconds, monotonic), never from the tick
 * count: the runtime works the same at CONFIG_FREERTOS_HZ 100 or 1000. Tick
 * granularity only enters where FreeRTOS blocks, and there a timeout is
 * rounded up to whole ticks so a wait never ends before its deadline (an
 * early end would cost a useless engine poll; a late one at most one tick).
 *
 * Events are binary semaphores: sticky (a give before the take is kept),
 * cleared by the take that consumes them — the contract of os_event_*.
 * The per-thread wake event lives in a pthread key (IDF's pthread keys work
 * for every FreeRTOS task, pthread or not, and free the value when the task
 * is deleted), so no FreeRTOS thread-local-storage index is taken from the
 * application.
 */
#include "os.h"

#include <pthread.h>
#include <stdlib.h>

#include "esp_random.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "os_freertos.h"

#define US_PER_S 1000000ULL

struct os_mutex {
    SemaphoreHandle_t sem;
    StaticSemaphore_t storage; /* one allocation per mutex, not two */
};

struct os_event {
    SemaphoreHandle_t sem;
    StaticSemaphore_t storage;
};

struct os_thread {
    TaskHandle_t task;
    SemaphoreHandle_t done; /* given by the task when fn returns: join waits on it */
    StaticSemaphore_t done_storage;
    void (*fn)(void *);
    void *arg;
};

uint64_t os_now_us(void)
{
    return (uint64_t)esp_timer_get_time();
}

uint64_t os_random_u64(void)
{
    /* esp_random() is the hardware RNG (true random with RF or the SAR ADC on). */
    return ((uint64_t)esp_random() << 32) | esp_random();
}

/* Microseconds → ticks, rounded up; OS_WAIT_FOREVER → portMAX_DELAY. */
TickType_t os_freertos_ticks(uint64_t timeout_us)
{
    if (timeout_us == OS_WAIT_FOREVER) {
        return portMAX_DELAY;
    }
    uint64_t ticks = (timeout_us * (uint64_t)configTICK_RATE_HZ + US_PER_S - 1) / US_PER_S;
    /* A finite wait must stay finite: portMAX_DELAY would mean forever. */
    if (timeout_us > UINT64_MAX / configTICK_RATE_HZ || ticks >= (uint64_t)portMAX_DELAY) {
        return portMAX_DELAY - 1;
    }
    return (TickType_t)ticks;
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
    /* A mutex (not a binary semaphore): priority inheritance for app tasks
     * that hold the core lock while the higher-priority poll task waits. */
    m->sem = xSemaphoreCreateMutexStatic(&m->storage);
    *out = m;
    return ESP_OK;
}

void os_mutex_destroy(os_mutex_t *m)
{
    if (!m) {
        return;
    }
    vSemaphoreDelete(m->sem);
    free(m);
}

void os_mutex_lock(os_mutex_t *m)
{
    (void)xSemaphoreTake(m->sem, portMAX_DELAY);
}

bool os_mutex_trylock(os_mutex_t *m)
{
    return xSemaphoreTake(m->sem, 0) == pdTRUE;
}

void os_mutex_unlock(os_mutex_t *m)
{
    (void)xSemaphoreGive(m->sem);
}

esp_err_t os_event_create(os_event_t **out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    os_event_t *e = calloc(1, sizeof(*e));
    if (!e) {
        return ESP_ERR_NO_MEM;
    }
    e->sem = xSemaphoreCreateBinaryStatic(&e->storage);
    *out = e;
    return ESP_OK;
}

void os_event_destroy(os_event_t *e)
{
    if (!e) {
        return;
    }
    vSemaphoreDelete(e->sem);
    free(e);
}

void os_event_set(os_event_t *e)
{
    /* Fails only when already given: the flag is set either way. */
    (void)xSemaphoreGive(e->sem);
}

void os_event_set_from_isr(os_event_t *e, BaseType_t *woken)
{
    BaseType_t w = pdFALSE;
    (void)xSemaphoreGiveFromISR(e->sem, &w);
    if (woken && w == pdTRUE) {
        *woken = pdTRUE;
    }
}

bool os_event_wait(os_event_t *e, uint64_t timeout_us)
{
    return xSemaphoreTake(e->sem, os_freertos_ticks(timeout_us)) == pdTRUE;
}

static void task_trampoline(void *p)
{
    os_thread_t *t = p;
    t->fn(t->arg);
    (void)xSemaphoreGive(t->done);
    /* FreeRTOS tasks must not return; join frees the record. */
    vTaskDelete(NULL);
}

esp_err_t os_thread_create(const os_thread_config_t *cfg, void (*fn)(void *), void *arg,
                           os_thread_t **out)
{
    if (!cfg || !fn || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    os_thread_t *t = calloc(1, sizeof(*t));
    if (!t) {
        return ESP_ERR_NO_MEM;
    }
    t->fn = fn;
    t->arg = arg;
    t->done = xSemaphoreCreateBinaryStatic(&t->done_storage);
    uint32_t stack = cfg->stack_size ? (uint32_t)cfg->stack_size : OS_FREERTOS_DEFAULT_STACK;
    UBaseType_t prio = cfg->priority > 0 ? (UBaseType_t)cfg->priority : tskIDLE_PRIORITY + 1;
    if (prio >= configMAX_PRIORITIES) {
        prio = configMAX_PRIORITIES - 1;
    }
    /* cfg->core < 0: no affinity, the scheduler may run the task on any core. */
    BaseType_t core = cfg->core < 0 ? tskNO_AFFINITY : (BaseType_t)cfg->core;
    if (xTaskCreatePinnedToCore(task_trampoline, cfg->name ? cfg->name : "esp_smoltcp", stack, t, prio,
                                &t->task, core) != pdPASS) {
        vSemaphoreDelete(t->done);
        free(t);
        return ESP_ERR_NO_MEM;
    }
    *out = t;
    return ESP_OK;
}

void os_thread_join(os_thread_t *t)
{
    if (!t) {
        return;
    }
    (void)xSemaphoreTake(t->done, portMAX_DELAY);
    /* The task deletes itself right after the give; the record is ours alone now. */
    vSemaphoreDelete(t->done);
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
    (void)pthread_once(&thread_event_once, thread_event_key_create);
    os_event_t *e = pthread_getspecific(thread_event_key);
    if (!e && os_event_create(&e) == ESP_OK) {
        if (pthread_setspecific(thread_event_key, e) != 0) {
            os_event_destroy(e);
            e = NULL;
        }
    }
    return e;
}
