/*
 * QEMU `virt` (riscv32) platform for the bare-metal image: machine-mode trap
 * handler, CLINT 1 ms tick, PLIC for the virtio-net interrupt, ns16550 UART
 * as picolibc's stdio, the sifive_test device for exit, and the few libc /
 * IDF / pthread pieces the components expect from an OS.
 *
 * The tick must stay armed: under `-icount shift=N,align=on,sleep=on` QEMU
 * keeps the guest in step with real time only while a timer deadline exists.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esp_log.h"
#include "esp_smoltcp_virtio_net.h"
#include "os_baremetal.h"
#include "platform_virt.h"

#define UART0 0x10000000u
#define TEST_DEV 0x00100000u
#define CLINT_MTIMECMP 0x02004000u
#define CLINT_MTIME 0x0200bff8u
#define PLIC 0x0c000000u
#define PLIC_ENABLE_M (PLIC + 0x2000u)        /* context 0 = hart 0 M-mode */
#define PLIC_THRESHOLD_M (PLIC + 0x200000u)
#define PLIC_CLAIM_M (PLIC + 0x200004u)
#define MTIME_HZ 10000000u /* virt's CLINT runs at 10 MHz */
#define TICK (MTIME_HZ / 1000u)

#define REG32(a) (*(volatile uint32_t *)(uintptr_t)(a))

volatile uint32_t bm_irq_count;
volatile uint32_t platform_ticks;
static uint64_t next_tick;
static unsigned net_irq;
static esp_smoltcp_netdev_t *net_dev;

static uint64_t mtime(void)
{
    uint32_t hi, lo;
    do {
        hi = REG32(CLINT_MTIME + 4);
        lo = REG32(CLINT_MTIME);
    } while (hi != REG32(CLINT_MTIME + 4));
    return ((uint64_t)hi << 32) | lo;
}

static void set_mtimecmp(uint64_t t)
{
    REG32(CLINT_MTIMECMP + 4) = 0xffffffffu;
    REG32(CLINT_MTIMECMP) = (uint32_t)t;
    REG32(CLINT_MTIMECMP + 4) = (uint32_t)(t >> 32);
}

uint64_t bm_platform_now_us(void)
{
    return mtime() / (MTIME_HZ / 1000000u);
}

uint64_t bm_platform_entropy(void)
{
    return mtime() * 0x9e3779b97f4a7c15ULL ^ (uintptr_t)&next_tick;
}

uint32_t bm_platform_irq_save(void)
{
    uint32_t prev;
    __asm__ volatile("csrrci %0, mstatus, 8" : "=r"(prev)::"memory");
    return prev & 8;
}

void bm_platform_irq_restore(uint32_t state)
{
    if (state) {
        __asm__ volatile("csrsi mstatus, 8" ::: "memory");
    }
}

void bm_platform_idle(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

static __attribute__((interrupt("machine"), aligned(4))) void trap_handler(void)
{
    uint32_t cause;
    __asm__ volatile("csrr %0, mcause" : "=r"(cause));
    if (cause == 0x80000007u) { /* machine timer */
        do {
            next_tick += TICK;
        } while (next_tick <= mtime()); /* never fall behind: skip missed ticks */
        set_mtimecmp(next_tick);
        platform_ticks++;
    } else if (cause == 0x8000000bu) { /* machine external: PLIC */
        uint32_t id = REG32(PLIC_CLAIM_M);
        if (id && id == net_irq && net_dev) {
            esp_smoltcp_virtio_net_isr(net_dev);
        }
        if (id) {
            REG32(PLIC_CLAIM_M) = id;
        }
    } else {
        uint32_t epc, tval;
        __asm__ volatile("csrr %0, mepc" : "=r"(epc));
        __asm__ volatile("csrr %0, mtval" : "=r"(tval));
        platform_panic_trap(cause, epc, tval);
    }
    bm_irq_count++;
}

void platform_init(void)
{
    __asm__ volatile("csrw mtvec, %0" ::"r"((uintptr_t)trap_handler));
    next_tick = mtime() + TICK;
    set_mtimecmp(next_tick);
    REG32(PLIC_THRESHOLD_M) = 0;
    __asm__ volatile("csrs mie, %0" ::"r"((1u << 7) | (1u << 11))); /* MTIE, MEIE */
    __asm__ volatile("csrsi mstatus, 8" ::: "memory");                /* MIE */
}

void platform_enable_net_irq(unsigned irq, esp_smoltcp_netdev_t *dev)
{
    net_dev = dev;
    net_irq = irq;
    REG32(PLIC + 4 * irq) = 1; /* priority */
    REG32(PLIC_ENABLE_M + 4 * (irq / 32)) |= 1u << (irq % 32);
}

/* ---- UART stdio (picolibc tinystdio) ------------------------------------------------- */

static int uart_putc(char c, FILE *f)
{
    (void)f;
    while (!(*(volatile uint8_t *)(UART0 + 5) & 0x20)) {
    }
    *(volatile uint8_t *)UART0 = (uint8_t)c;
    return (unsigned char)c;
}

static FILE uart_file = FDEV_SETUP_STREAM(uart_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdin = &uart_file;
FILE *const stdout = &uart_file;
FILE *const stderr = &uart_file;

void _exit(int code)
{
    fflush(stdout);
    REG32(TEST_DEV) = code == 0 ? 0x5555u : ((uint32_t)code << 16) | 0x3333u;
    for (;;) {
        __asm__ volatile("wfi");
    }
}

void platform_panic_trap(uint32_t cause, uint32_t epc, uint32_t tval)
{
    printf("\nTRAP mcause=0x%08lx mepc=0x%08lx mtval=0x%08lx\n", (unsigned long)cause, (unsigned long)epc,
           (unsigned long)tval);
    _exit(3);
}

int getpid(void) { return 1; }
int kill(int pid, int sig) { (void)pid, (void)sig; _exit(4); return -1; }

/* ---- esp_log stand-in --------------------------------------------------------------- */

int platform_log_level = ESP_LOG_INFO;

int esp_log_level_enabled(esp_log_level_t level)
{
    return (int)level <= platform_log_level;
}

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    (void)level, (void)tag;
    va_list ap;
    va_start(ap, format);
    printf("(%lu) ", (unsigned long)(bm_platform_now_us() / 1000));
    vprintf(format, ap);
    va_end(ap);
}

/* ---- what IDF's newlib/pthread would give the shim ---------------------------------- */
/* Cooperative threads: nothing preempts, so a mutex that is never held across a wait is free. */
#include "pthread.h"
/* The shim's per-fd edit locks may be held across a wait: the bench app is single-threaded. */
int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a) { (void)m, (void)a; return 0; }
int pthread_mutex_lock(pthread_mutex_t *m) { (void)m; return 0; }
int pthread_mutex_unlock(pthread_mutex_t *m) { (void)m; return 0; }
int pthread_once(pthread_once_t *o, void (*init)(void))
{
    if (!o->init_executed) {
        o->init_executed = 1;
        init();
    }
    return 0;
}

/* VFS fcntl for fds that are not shim sockets: there are none here. */
#include <errno.h>
int fcntl(int fd, int cmd, ...)
{
    (void)fd, (void)cmd;
    errno = EBADF;
    return -1;
}

/* 64-bit atomics (rv32 'A' has none): no ISR touches these counters, so plain is enough. */
uint64_t __atomic_fetch_add_8(volatile void *p, uint64_t v, int o)
{
    (void)o;
    uint64_t old = *(volatile uint64_t *)p;
    *(volatile uint64_t *)p = old + v;
    return old;
}
uint64_t __atomic_fetch_sub_8(volatile void *p, uint64_t v, int o)
{
    (void)o;
    uint64_t old = *(volatile uint64_t *)p;
    *(volatile uint64_t *)p = old - v;
    return old;
}
uint64_t __atomic_load_8(const volatile void *p, int o)
{
    (void)o;
    return *(const volatile uint64_t *)p;
}
void __atomic_store_8(volatile void *p, uint64_t v, int o)
{
    (void)o;
    *(volatile uint64_t *)p = v;
}

/* ---- memory figures ------------------------------------------------------------------ */
extern char __heap_start[], __heap_end[], __stack[];
extern char __data_start[];
void *sbrk(ptrdiff_t incr);

void platform_mem(platform_mem_t *m)
{
    char *brk = sbrk(0);
    m->heap_used = (size_t)(brk - __heap_start);
    m->heap_size = (size_t)(__heap_end - __heap_start);
    m->static_ram = (size_t)(__heap_start - __data_start); /* .data + .tdata + .bss */
}

void platform_paint_stack(void)
{
    bm_paint_main_stack((uint8_t *)__heap_end, (uint8_t *)__stack);
}

/* ---- clock_gettime for the shim (IDF's newlib has it) ------------------------------ */
#include <time.h>
int clock_gettime(clockid_t clk, struct timespec *ts)
{
    (void)clk;
    uint64_t us = bm_platform_now_us();
    ts->tv_sec = (time_t)(us / 1000000u);
    ts->tv_nsec = (long)(us % 1000000u) * 1000;
    return 0;
}

