/*
 * Bare-metal (no RTOS) additions to port/os.h: a cooperative scheduler in
 * which each os_thread is a stackful context (rv32: ctx_riscv32.S) and the
 * thread that called main() is thread 0. A thread runs until it waits on an
 * event (os_event_wait with a timeout > 0) or calls bm_yield(); nothing is
 * preempted, so os_mutex is a owner flag that is never contended in practice.
 *
 * When no thread can run, the scheduler calls bm_platform_idle() (WFI on
 * RISC-V) with interrupts masked, after checking that no interrupt came in
 * since it last looked; a periodic timer tick (platform) bounds every sleep,
 * which also keeps deadlines accurate to one tick at worst.
 *
 * Idle hooks run at every scheduling point, in the context of the thread
 * that is giving up the CPU: that is where a polled or interrupt-signalled
 * driver moves received frames into the runtime (the "RX task" of a DMA
 * driver, without a context of its own).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- provided by the platform (the image) ---------------------------------------------- */
/** Monotonic microseconds. */
uint64_t bm_platform_now_us(void);
/** Some entropy for os_random_u64's seed (timer value, MAC ...). */
uint64_t bm_platform_entropy(void);
/** Mask interrupts; returns the previous state for bm_platform_irq_restore. */
uint32_t bm_platform_irq_save(void);
void bm_platform_irq_restore(uint32_t state);
/** With interrupts masked: sleep until an interrupt is pending (WFI). */
void bm_platform_idle(void);
/** Incremented by the platform's interrupt handler for every interrupt taken. */
extern volatile uint32_t bm_irq_count;

/* ---- provided by the port --------------------------------------------------------------- */
/** Run fn(arg) at every scheduling point (max 4 hooks). */
int bm_add_idle_hook(void (*fn)(void *), void *arg);
/** Let other ready threads run. */
void bm_yield(void);

typedef struct {
    uint32_t threads;            /* live threads, main included */
    uint32_t switches;           /* context switches */
    uint32_t idles;              /* WFI sleeps */
    size_t main_stack_size, main_stack_used;   /* painted: bytes ever touched */
    size_t max_thread_stack_size, max_thread_stack_used; /* the deepest other thread */
    size_t thread_stacks_size, thread_stacks_used;       /* all live other threads */
} bm_sched_stats_t;

void bm_sched_get_stats(bm_sched_stats_t *out);
/** Paint the main stack below the current stack pointer (call early in main). */
void bm_paint_main_stack(uint8_t *bottom, uint8_t *top);

#ifdef __cplusplus
}
#endif
