/*
 * Unit tests for port/posix/os_posix.c: monotonic time, randomness, mutual
 * exclusion, event timeouts and wake-ups (including huge timeouts that must
 * not overflow into the past), and thread creation options.
 */
#define _GNU_SOURCE /* pthread_getname_np */

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "os.h"
#include "unit_test.h"

static void sleep_us(uint64_t us)
{
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void test_now_us(void)
{
    uint64_t a = os_now_us();
    sleep_us(10000);
    uint64_t b = os_now_us();
    CHECK(b >= a + 10000);
    CHECK(b < a + 2000000);
    unsigned backwards = 0;
    uint64_t prev = os_now_us();
    for (int i = 0; i < 100000; i++) {
        uint64_t t = os_now_us();
        backwards += t < prev;
        prev = t;
    }
    CHECK_EQ(backwards, 0);
}

static void test_random(void)
{
    uint64_t v[64];
    for (int i = 0; i < 64; i++) {
        v[i] = os_random_u64();
    }
    unsigned dup = 0;
    for (int i = 0; i < 64; i++) {
        for (int j = i + 1; j < 64; j++) {
            dup += v[i] == v[j];
        }
    }
    CHECK_EQ(dup, 0);
    /* Every bit position takes both values somewhere in 64 draws. */
    uint64_t ored = 0, anded = ~0ULL;
    for (int i = 0; i < 64; i++) {
        ored |= v[i];
        anded &= v[i];
    }
    CHECK(ored == ~0ULL);
    CHECK(anded == 0);
}

typedef struct {
    os_mutex_t *m;
    long counter;
} shared_counter_t;

static void incrementer(void *arg)
{
    shared_counter_t *s = arg;
    for (int i = 0; i < 100000; i++) {
        os_mutex_lock(s->m);
        long v = s->counter;
        s->counter = v + 1;
        os_mutex_unlock(s->m);
    }
}

static void test_mutex(void)
{
    CHECK_EQ(os_mutex_create(NULL), ESP_ERR_INVALID_ARG);
    shared_counter_t s = {0};
    CHECK_EQ(os_mutex_create(&s.m), ESP_OK);
    if (!s.m) {
        return;
    }
    os_thread_t *t[4] = {0};
    os_thread_config_t cfg = {.name = "inc", .stack_size = 0, .priority = 5, .core = -1};
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(os_thread_create(&cfg, incrementer, &s, &t[i]), ESP_OK);
    }
    for (int i = 0; i < 4; i++) {
        os_thread_join(t[i]);
    }
    CHECK_EQ(s.counter, 400000);
    os_mutex_destroy(s.m);
    os_mutex_destroy(NULL);
}

static void test_event_poll_and_sticky(void)
{
    os_event_t *e = NULL;
    CHECK_EQ(os_event_create(NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ(os_event_create(&e), ESP_OK);
    if (!e) {
        return;
    }
    CHECK(!os_event_wait(e, 0));
    os_event_set(e);
    CHECK(os_event_wait(e, 0));
    CHECK(!os_event_wait(e, 0)); /* the successful wait cleared it */

    /* Set before the wait is not lost, even with an infinite timeout. */
    os_event_set(e);
    os_event_set(e); /* binary: two sets make one wake */
    uint64_t t0 = os_now_us();
    CHECK(os_event_wait(e, OS_WAIT_FOREVER));
    CHECK(os_now_us() - t0 < 100000);
    CHECK(!os_event_wait(e, 1000));
    os_event_destroy(e);
    os_event_destroy(NULL);
}

static void test_event_timeout_accuracy(void)
{
    os_event_t *e = NULL;
    CHECK_EQ(os_event_create(&e), ESP_OK);
    if (!e) {
        return;
    }
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = os_now_us();
        bool got = os_event_wait(e, 20000);
        uint64_t dt = os_now_us() - t0;
        CHECK(!got);
        if (dt < 20000 || dt > 1000000) {
            FAILF("20 ms wait took %llu us", (unsigned long long)dt);
        } else {
            CHECK(1);
        }
    }
    uint64_t t0 = os_now_us();
    CHECK(!os_event_wait(e, 1));
    CHECK(os_now_us() - t0 < 200000);
    os_event_destroy(e);
}

typedef struct {
    os_event_t *e;
    uint64_t delay_us;
    _Atomic uint64_t set_at;
} setter_t;

static void delayed_set(void *arg)
{
    setter_t *s = arg;
    sleep_us(s->delay_us);
    s->set_at = os_now_us();
    os_event_set(s->e);
}

/* Start a thread that sets e after delay_us, wait with timeout_us; the wait must return true. */
static void wake_from_thread(uint64_t timeout_us, const char *what)
{
    setter_t s = {.delay_us = 50000};
    CHECK_EQ(os_event_create(&s.e), ESP_OK);
    if (!s.e) {
        return;
    }
    os_thread_t *t = NULL;
    os_thread_config_t cfg = {.name = "setter", .stack_size = 0, .priority = 0, .core = -1};
    uint64_t t0 = os_now_us();
    CHECK_EQ(os_thread_create(&cfg, delayed_set, &s, &t), ESP_OK);
    bool got = os_event_wait(s.e, timeout_us);
    uint64_t woke = os_now_us();
    os_thread_join(t);
    if (!got) {
        FAILF("%s: wait returned false after %llu us", what, (unsigned long long)(woke - t0));
    } else if (woke < s.set_at || woke - t0 < 50000 || woke - s.set_at > 1000000) {
        FAILF("%s: woke at %llu us, set at %llu us", what, (unsigned long long)(woke - t0),
              (unsigned long long)(s.set_at - t0));
    } else {
        CHECK(1);
    }
    os_event_destroy(s.e);
}

static void test_event_wake_from_thread(void)
{
    wake_from_thread(5000000, "5 s timeout");
    wake_from_thread(OS_WAIT_FOREVER, "forever");
    /* Huge finite timeouts: a wrapped timespec would time out at once. */
    wake_from_thread(OS_WAIT_FOREVER - 1, "UINT64_MAX-1");
    wake_from_thread(1ULL << 62, "2^62 us");
    wake_from_thread((uint64_t)INT64_MAX / 1000 + 1, "ns overflow");
}

typedef struct {
    void *arg_seen;
    char name[32];
    int cpu;
    int ran;
} thread_probe_t;

static void probe(void *arg)
{
    thread_probe_t *p = arg;
    p->arg_seen = arg;
    pthread_getname_np(pthread_self(), p->name, sizeof(p->name));
    p->cpu = sched_getcpu();
    p->ran = 1;
}

static void test_threads(void)
{
    thread_probe_t p = {0};
    os_thread_t *t = NULL;
    /* Target-sized stack (below PTHREAD_STACK_MIN) and a long name: both must still work. */
    os_thread_config_t cfg = {.name = "esp_smoltcp_poll_task", .stack_size = 4096, .priority = 20,
                              .core = 0};
    CHECK_EQ(os_thread_create(&cfg, probe, &p, &t), ESP_OK);
    os_thread_join(t);
    CHECK_EQ(p.ran, 1);
    CHECK(p.arg_seen == &p);
    CHECK(strcmp(p.name, "esp_smoltcp_pol") == 0);
    /* Pinned to core 0 from its first instruction (when this process may use core 0). */
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_ISSET(0, &allowed)) {
        CHECK_EQ(p.cpu, 0);
    }

    /* Impossible core and no name: affinity/name failures are ignored. */
    thread_probe_t q = {0};
    os_thread_config_t cfg2 = {.name = NULL, .stack_size = 1 << 20, .priority = 0, .core = 100000};
    CHECK_EQ(os_thread_create(&cfg2, probe, &q, &t), ESP_OK);
    os_thread_join(t);
    CHECK_EQ(q.ran, 1);

    CHECK_EQ(os_thread_create(NULL, probe, &q, &t), ESP_ERR_INVALID_ARG);
    CHECK_EQ(os_thread_create(&cfg, NULL, &q, &t), ESP_ERR_INVALID_ARG);
    CHECK_EQ(os_thread_create(&cfg, probe, &q, NULL), ESP_ERR_INVALID_ARG);
    os_thread_join(NULL);
}

int main(void)
{
    RUN(test_now_us);
    RUN(test_random);
    RUN(test_mutex);
    RUN(test_event_poll_and_sticky);
    RUN(test_event_timeout_accuracy);
    RUN(test_event_wake_from_thread);
    RUN(test_threads);
    return UNIT_TEST_END();
}
