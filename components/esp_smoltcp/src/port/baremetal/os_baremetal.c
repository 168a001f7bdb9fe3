/*
 * Bare-metal implementation of port/os.h: cooperative threads (stackful
 * contexts switched by bm_ctx_switch), sticky events, owner-flag mutexes, and
 * an idle loop that sleeps in bm_platform_idle() (WFI) until an interrupt.
 * See os_baremetal.h for the model.
 *
 * Nothing here is called from interrupt context: the platform's handler only
 * counts interrupts (bm_irq_count) and acknowledges devices; drivers do their
 * work in idle hooks.
 */
#include "os.h"

#include <stdlib.h>
#include <string.h>

#include "os_baremetal.h"

#define BM_MAX_THREADS 8
#define BM_DEFAULT_STACK 8192
#define BM_PAINT 0xa5u

typedef struct {
    uint32_t ra, sp, s[12];
    uint32_t fs[12];
} bm_ctx_t;

void bm_ctx_switch(bm_ctx_t *save, const bm_ctx_t *load);

struct os_event {
    volatile bool set;
};

struct os_mutex {
    os_thread_t *owner;
    uint32_t depth;
};

enum { T_READY, T_BLOCKED, T_DONE };

struct os_thread {
    bm_ctx_t ctx;
    int state;
    os_event_t *wait_ev;   /* T_BLOCKED: the event waited on (NULL: sleep) */
    uint64_t deadline_us;  /* T_BLOCKED: UINT64_MAX = none */
    void (*fn)(void *);
    void *arg;
    uint8_t *stack;        /* NULL for main */
    size_t stack_size;
    os_event_t own_event;  /* os_thread_event() */
    os_event_t done;       /* set when fn returned: join waits on it */
};

static os_thread_t main_thread = {.state = T_READY};
static os_thread_t *threads[BM_MAX_THREADS] = {&main_thread};
static unsigned cur_idx;
static os_thread_t *cur = &main_thread;
static struct {
    void (*fn)(void *);
    void *arg;
} hooks[4];
static unsigned hook_count;
static uint32_t n_switches, n_idles;
static uint8_t *main_stack_bottom, *main_stack_top;
static size_t max_thread_stack_used, max_thread_stack_size;

/* ---- clock, random ------------------------------------------------------------------- */

uint64_t os_now_us(void)
{
    return bm_platform_now_us();
}

uint64_t os_random_u64(void)
{
    static uint64_t s;
    if (s == 0) {
        s = bm_platform_entropy() | 1;
    }
    /* xorshift64* */
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1DULL;
}

/* ---- scheduler ----------------------------------------------------------------------- */

int bm_add_idle_hook(void (*fn)(void *), void *arg)
{
    if (hook_count >= sizeof(hooks) / sizeof(hooks[0])) {
        return -1;
    }
    hooks[hook_count].fn = fn;
    hooks[hook_count].arg = arg;
    hook_count++;
    return 0;
}

static bool runnable(os_thread_t *t, uint64_t now)
{
    if (t->state == T_READY) {
        return true;
    }
    if (t->state != T_BLOCKED) {
        return false;
    }
    if ((t->wait_ev && t->wait_ev->set) || now >= t->deadline_us) {
        t->state = T_READY;
        return true;
    }
    return false;
}

/*
 * Give the CPU to the next runnable thread (round robin, cur last). The
 * caller has set cur->state. Returns when cur runs again.
 */
static void schedule(void)
{
    for (;;) {
        uint32_t seen = bm_irq_count;
        for (unsigned i = 0; i < hook_count; i++) {
            hooks[i].fn(hooks[i].arg);
        }
        uint64_t now = bm_platform_now_us();
        for (unsigned k = 1; k <= BM_MAX_THREADS; k++) {
            unsigned i = (cur_idx + k) % BM_MAX_THREADS;
            os_thread_t *t = threads[i];
            if (!t || !runnable(t, now)) {
                continue;
            }
            if (t != cur) {
                os_thread_t *prev = cur;
                cur = t;
                cur_idx = i;
                n_switches++;
                bm_ctx_switch(&prev->ctx, &t->ctx);
            }
            return;
        }
        uint32_t key = bm_platform_irq_save();
        if (bm_irq_count == seen) {
            n_idles++;
            bm_platform_idle();
        }
        bm_platform_irq_restore(key);
    }
}

void bm_yield(void)
{
    cur->state = T_READY;
    schedule();
}

static void thread_entry(void)
{
    os_thread_t *self = cur;
    self->fn(self->arg);
    self->done.set = true;
    self->state = T_DONE;
    schedule(); /* never returns: T_DONE is not runnable */
    abort();
}

static size_t painted_used(const uint8_t *bottom, size_t size)
{
    size_t i = 0;
    while (i < size && bottom[i] == BM_PAINT) {
        i++;
    }
    return size - i;
}

void bm_paint_main_stack(uint8_t *bottom, uint8_t *top)
{
    uint8_t *limit = (uint8_t *)__builtin_frame_address(0) - 256;
    main_stack_bottom = bottom;
    main_stack_top = top;
    if (limit > bottom) {
        memset(bottom, BM_PAINT, (size_t)(limit - bottom));
    }
}

void bm_sched_get_stats(bm_sched_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    for (unsigned i = 0; i < BM_MAX_THREADS; i++) {
        os_thread_t *t = threads[i];
        if (!t) {
            continue;
        }
        out->threads++;
        if (t->stack) {
            size_t used = painted_used(t->stack, t->stack_size);
            out->thread_stacks_size += t->stack_size;
            out->thread_stacks_used += used;
            if (used > max_thread_stack_used) {
                max_thread_stack_used = used;
                max_thread_stack_size = t->stack_size;
            }
        }
    }
    out->switches = n_switches;
    out->idles = n_idles;
    if (main_stack_bottom) {
        out->main_stack_size = (size_t)(main_stack_top - main_stack_bottom);
        out->main_stack_used = painted_used(main_stack_bottom, out->main_stack_size);
    }
    out->max_thread_stack_size = max_thread_stack_size;
    out->max_thread_stack_used = max_thread_stack_used;
}

/* ---- mutex: cooperative, so only a thread that waits while holding one can collide ----- */

esp_err_t os_mutex_create(os_mutex_t **out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    *out = calloc(1, sizeof(os_mutex_t));
    return *out ? ESP_OK : ESP_ERR_NO_MEM;
}

void os_mutex_destroy(os_mutex_t *m)
{
    free(m);
}

void os_mutex_lock(os_mutex_t *m)
{
    while (m->owner && m->owner != cur) {
        bm_yield();
    }
    m->owner = cur;
    m->depth++;
}

bool os_mutex_trylock(os_mutex_t *m)
{
    if (m->owner && m->owner != cur) {
        return false;
    }
    m->owner = cur;
    m->depth++;
    return true;
}

void os_mutex_unlock(os_mutex_t *m)
{
    if (m->depth && --m->depth == 0) {
        m->owner = NULL;
    }
}

/* ---- events ---------------------------------------------------------------------------- */

esp_err_t os_event_create(os_event_t **out)
{
    if (!out) {
        return ESP_ERR_INVALID_ARG;
    }
    *out = calloc(1, sizeof(os_event_t));
    return *out ? ESP_OK : ESP_ERR_NO_MEM;
}

void os_event_destroy(os_event_t *e)
{
    free(e);
}

void os_event_set(os_event_t *e)
{
    e->set = true; /* the waiter becomes runnable at the next scheduling point */
}

bool os_event_wait(os_event_t *e, uint64_t timeout_us)
{
    if (timeout_us == 0) {
        /* A zero wait is still a scheduling point: idle hooks (drivers) run and other threads get
         * the CPU. Without it a thread polling in a loop starves RX (issue 10). */
        bm_yield();
    } else if (!e->set) {
        uint64_t now = bm_platform_now_us();
        cur->wait_ev = e;
        cur->deadline_us = timeout_us == OS_WAIT_FOREVER || now + timeout_us < now ? UINT64_MAX : now + timeout_us;
        cur->state = T_BLOCKED;
        schedule();
        cur->wait_ev = NULL;
    }
    if (e->set) {
        e->set = false;
        return true;
    }
    return false;
}

os_event_t *os_thread_event(void)
{
    return &cur->own_event;
}

/* ---- threads --------------------------------------------------------------------------- */

esp_err_t os_thread_create(const os_thread_config_t *cfg, void (*fn)(void *), void *arg, os_thread_t **out)
{
    if (!cfg || !fn || !out) {
        return ESP_ERR_INVALID_ARG;
    }
    unsigned slot = 0;
    while (slot < BM_MAX_THREADS && threads[slot]) {
        slot++;
    }
    if (slot == BM_MAX_THREADS) {
        return ESP_ERR_NO_MEM;
    }
    os_thread_t *t = calloc(1, sizeof(*t));
    size_t size = ((cfg->stack_size ? cfg->stack_size : BM_DEFAULT_STACK) + 15) & ~(size_t)15;
    uint8_t *stack = t ? aligned_alloc(16, size) : NULL;
    if (!stack) {
        free(t);
        return ESP_ERR_NO_MEM;
    }
    memset(stack, BM_PAINT, size);
    t->stack = stack;
    t->stack_size = size;
    t->fn = fn;
    t->arg = arg;
    t->state = T_READY;
    t->ctx.ra = (uint32_t)(uintptr_t)thread_entry;
    t->ctx.sp = (uint32_t)(uintptr_t)(stack + size);
    threads[slot] = t;
    *out = t;
    return ESP_OK;
}

void os_thread_join(os_thread_t *t)
{
    if (!t) {
        return;
    }
    while (!t->done.set) {
        cur->wait_ev = &t->done;
        cur->deadline_us = UINT64_MAX;
        cur->state = T_BLOCKED;
        schedule();
        cur->wait_ev = NULL;
    }
    for (unsigned i = 0; i < BM_MAX_THREADS; i++) {
        if (threads[i] == t) {
            threads[i] = NULL;
        }
    }
    size_t used = painted_used(t->stack, t->stack_size);
    if (used > max_thread_stack_used) {
        max_thread_stack_used = used;
        max_thread_stack_size = t->stack_size;
    }
    free(t->stack);
    free(t);
}
