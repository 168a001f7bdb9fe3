/*
 * Unit tests for core/frame_queue.c: pool bounds and counters, foreign and
 * double frees, queue FIFO order, full-queue release and drop count,
 * destroy releasing queued frames, and a two-thread producer/consumer run
 * in which no frame may be lost, duplicated or reordered.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sched_yield */

#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frame_queue.h"
#include "os.h"
#include "unit_test.h"

#define FRAME_SIZE 1514

static void test_pool_create_args(void)
{
    frame_pool_t *p = NULL;
    CHECK_EQ(frame_pool_create(0, FRAME_SIZE, &p), ESP_ERR_INVALID_ARG);
    CHECK_EQ(frame_pool_create(4, 0, &p), ESP_ERR_INVALID_ARG);
    CHECK_EQ(frame_pool_create(4, FRAME_SIZE, NULL), ESP_ERR_INVALID_ARG);
    CHECK(p == NULL);
    CHECK(frame_pool_alloc(NULL) == NULL);
    frame_pool_free(NULL, (uint8_t *)&p); /* must not crash */
    frame_pool_destroy(NULL);
    CHECK_EQ(frame_pool_frame_size(NULL), 0);
}

static void test_pool_bounds_and_counters(void)
{
    frame_pool_t *p = NULL;
    CHECK_EQ(frame_pool_create(4, FRAME_SIZE, &p), ESP_OK);
    if (!p) {
        return;
    }
    CHECK_EQ(frame_pool_frame_size(p), FRAME_SIZE);

    frame_pool_stats_t st;
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.capacity, 4);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.high_water, 0);
    CHECK_EQ(st.alloc_failures, 0);

    uint8_t *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = frame_pool_alloc(p);
        CHECK(b[i] != NULL);
        if (b[i]) {
            memset(b[i], 0xA0 + i, FRAME_SIZE); /* whole buffer writable (ASan) */
        }
    }
    /* Distinct, non-overlapping buffers that keep their contents. */
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            if (i != j && b[i] && b[j]) {
                intptr_t d = (intptr_t)b[i] - (intptr_t)b[j];
                CHECK(d >= FRAME_SIZE || d <= -FRAME_SIZE);
            }
        }
        CHECK(b[i] && b[i][0] == 0xA0 + i && b[i][FRAME_SIZE - 1] == 0xA0 + i);
    }
    CHECK(frame_pool_alloc(p) == NULL);
    CHECK(frame_pool_alloc(p) == NULL);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 4);
    CHECK_EQ(st.high_water, 4);
    CHECK_EQ(st.alloc_failures, 2);

    frame_pool_free(p, b[1]);
    frame_pool_free(p, b[3]);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 2);
    CHECK_EQ(st.high_water, 4);

    uint8_t *again = frame_pool_alloc(p);
    CHECK(again == b[1] || again == b[3]);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 3);
    CHECK_EQ(st.alloc_failures, 2);

    frame_pool_free(p, again);
    frame_pool_free(p, b[0]);
    frame_pool_free(p, b[2]);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(st.high_water, 4);
    frame_pool_destroy(p);
}

static void test_pool_rejects_bad_frees(void)
{
    frame_pool_t *p = NULL;
    CHECK_EQ(frame_pool_create(3, 100, &p), ESP_OK);
    if (!p) {
        return;
    }
    uint8_t *a = frame_pool_alloc(p);
    uint8_t *b = frame_pool_alloc(p);
    CHECK(a && b);
    uint8_t local[16];
    uint8_t *heap = malloc(100);

    frame_pool_free(p, local);  /* foreign: stack */
    frame_pool_free(p, heap);   /* foreign: heap */
    frame_pool_free(p, a + 1);  /* inside a buffer, not its start */
    frame_pool_free(p, NULL);
    frame_pool_stats_t st;
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 2);

    frame_pool_free(p, a);
    frame_pool_free(p, a); /* double free */
    frame_pool_free(p, a);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 1);

    /* After the double frees the pool still hands out exactly its free buffers, once each. */
    uint8_t *x = frame_pool_alloc(p);
    uint8_t *y = frame_pool_alloc(p);
    uint8_t *z = frame_pool_alloc(p);
    CHECK(x && y && x != y && x != b && y != b);
    CHECK(z == NULL);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 3);
    CHECK_EQ(st.alloc_failures, 1);

    frame_pool_free(p, x);
    frame_pool_free(p, y);
    frame_pool_free(p, b);
    frame_pool_get_stats(p, &st);
    CHECK_EQ(st.in_use, 0);
    free(heap);
    frame_pool_destroy(p);
}

/* Records every release call. */
typedef struct {
    int calls;
    uint8_t *last_buf;
    uint8_t *bufs[64];
} release_log_t;

static void log_release(void *ctx, uint8_t *buf)
{
    release_log_t *log = ctx;
    if (log->calls < 64) {
        log->bufs[log->calls] = buf;
    }
    log->calls++;
    log->last_buf = buf;
}

static frame_t mk(uint8_t *buf, uint16_t len, release_log_t *log)
{
    frame_t f = {.buf = buf, .len = len, .release = log_release, .release_ctx = log};
    return f;
}

static void test_queue_fifo_full_and_counters(void)
{
    frame_queue_t *q = NULL;
    CHECK_EQ(frame_queue_create(0, &q), ESP_ERR_INVALID_ARG);
    CHECK_EQ(frame_queue_create(3, NULL), ESP_ERR_INVALID_ARG);
    CHECK_EQ(frame_queue_create(3, &q), ESP_OK);
    if (!q) {
        return;
    }
    uint8_t bufs[8][4];
    release_log_t log = {0};
    frame_t out;
    CHECK(!frame_queue_pop(q, &out));

    for (int i = 0; i < 3; i++) {
        frame_t f = mk(bufs[i], (uint16_t)(100 + i), &log);
        CHECK(frame_queue_push(q, &f));
    }
    frame_t extra = mk(bufs[3], 103, &log);
    CHECK(!frame_queue_push(q, &extra));
    CHECK_EQ(log.calls, 1);
    CHECK(log.last_buf == bufs[3]);

    frame_queue_stats_t st;
    frame_queue_get_stats(q, &st);
    CHECK_EQ(st.capacity, 3);
    CHECK_EQ(st.depth, 3);
    CHECK_EQ(st.high_water, 3);
    CHECK_EQ(st.enqueued, 3);
    CHECK_EQ(st.drops_full, 1);

    for (int i = 0; i < 3; i++) {
        CHECK(frame_queue_pop(q, &out));
        CHECK(out.buf == bufs[i]);
        CHECK_EQ(out.len, 100 + i);
        CHECK(out.release == log_release && out.release_ctx == &log);
    }
    CHECK(!frame_queue_pop(q, &out));
    CHECK_EQ(log.calls, 1); /* popping does not release: the caller owns the frame */

    /* Many cycles around the ring keep FIFO order across the wrap. */
    unsigned order_errors = 0;
    int next_in = 0, next_out = 0;
    for (int round = 0; round < 50; round++) {
        int n = 1 + round % 3;
        for (int i = 0; i < n; i++, next_in++) {
            frame_t f = mk(bufs[next_in % 8], (uint16_t)next_in, &log);
            if (!frame_queue_push(q, &f)) {
                order_errors++;
            }
        }
        for (int i = 0; i < n; i++, next_out++) {
            if (!frame_queue_pop(q, &out) || out.len != next_out) {
                order_errors++;
            }
        }
    }
    CHECK_EQ(order_errors, 0);
    frame_queue_get_stats(q, &st);
    CHECK_EQ(st.depth, 0);
    CHECK_EQ(st.high_water, 3);
    CHECK_EQ(st.enqueued, 3 + next_in);
    CHECK_EQ(st.drops_full, 1);

    /* A frame without a release function is refused without a crash. */
    for (int i = 0; i < 3; i++) {
        frame_t f = mk(bufs[i], 1, &log);
        frame_queue_push(q, &f);
    }
    frame_t bare = {.buf = bufs[5], .len = 1};
    CHECK(!frame_queue_push(q, &bare));
    CHECK(!frame_queue_push(q, NULL));
    CHECK(!frame_queue_push(NULL, &bare));
    frame_queue_get_stats(q, &st);
    CHECK_EQ(st.drops_full, 2);

    log.calls = 0;
    frame_queue_destroy(q);
    CHECK_EQ(log.calls, 3);
    CHECK(log.bufs[0] == bufs[0] && log.bufs[1] == bufs[1] && log.bufs[2] == bufs[2]);
    frame_queue_destroy(NULL);
}

static void test_queue_with_pool_release(void)
{
    frame_pool_t *p = NULL;
    frame_queue_t *q = NULL;
    CHECK_EQ(frame_pool_create(4, 64, &p), ESP_OK);
    CHECK_EQ(frame_queue_create(2, &q), ESP_OK);
    if (!p || !q) {
        return;
    }
    for (int i = 0; i < 4; i++) {
        frame_t f = {.buf = frame_pool_alloc(p), .len = 64, .release = frame_pool_free,
                     .release_ctx = p};
        CHECK(f.buf != NULL);
        frame_queue_push(q, &f);
    }
    /* Two queued, two refused and handed straight back to the pool. */
    frame_pool_stats_t ps;
    frame_pool_get_stats(p, &ps);
    CHECK_EQ(ps.in_use, 2);
    frame_queue_stats_t qs;
    frame_queue_get_stats(q, &qs);
    CHECK_EQ(qs.drops_full, 2);

    frame_queue_destroy(q);
    frame_pool_get_stats(p, &ps);
    CHECK_EQ(ps.in_use, 0);
    /* The third buffer came back at once and was handed out again as the fourth. */
    CHECK_EQ(ps.high_water, 3);
    frame_pool_destroy(p);
}

/* ---- concurrent producer / consumer ---- */

#define N_FRAMES 100000u

typedef struct {
    frame_pool_t *pool;
    frame_queue_t *q;
    _Atomic uint32_t drops;    /* refused pushes the producer retried */
    uint8_t *seen;             /* per sequence number */
    uint32_t out_of_order;
    uint32_t duplicates;
    uint32_t received;
} pc_t;

static void pc_release(void *ctx, uint8_t *buf)
{
    pc_t *pc = ctx;
    pc->drops++;
    frame_pool_free(pc->pool, buf);
}

static void producer(void *arg)
{
    pc_t *pc = arg;
    for (uint32_t seq = 0; seq < N_FRAMES;) {
        uint8_t *buf = frame_pool_alloc(pc->pool);
        if (!buf) {
            sched_yield();
            continue;
        }
        memcpy(buf, &seq, sizeof(seq));
        frame_t f = {.buf = buf, .len = sizeof(seq), .release = pc_release, .release_ctx = pc};
        if (frame_queue_push(pc->q, &f)) {
            seq++;
        } else {
            sched_yield(); /* dropped and released: retry the same sequence number */
        }
    }
}

static void consumer(void *arg)
{
    pc_t *pc = arg;
    uint32_t expect = 0;
    while (pc->received < N_FRAMES) {
        frame_t f;
        if (!frame_queue_pop(pc->q, &f)) {
            sched_yield();
            continue;
        }
        uint32_t seq;
        memcpy(&seq, f.buf, sizeof(seq));
        if (seq >= N_FRAMES || pc->seen[seq]) {
            pc->duplicates++;
        } else {
            pc->seen[seq] = 1;
        }
        if (seq != expect) {
            pc->out_of_order++;
        }
        expect = seq + 1;
        pc->received++;
        frame_pool_free(pc->pool, f.buf);
    }
}

static void run_producer_consumer(uint32_t pool_size, uint32_t queue_size)
{
    pc_t pc = {0};
    CHECK_EQ(frame_pool_create(pool_size, 64, &pc.pool), ESP_OK);
    CHECK_EQ(frame_queue_create(queue_size, &pc.q), ESP_OK);
    pc.seen = calloc(N_FRAMES, 1);
    if (!pc.pool || !pc.q || !pc.seen) {
        return;
    }
    os_thread_t *tp = NULL, *tc = NULL;
    os_thread_config_t cp = {.name = "producer", .stack_size = 0, .priority = 0, .core = -1};
    os_thread_config_t cc = {.name = "consumer", .stack_size = 0, .priority = 0, .core = -1};
    CHECK_EQ(os_thread_create(&cc, consumer, &pc, &tc), ESP_OK);
    CHECK_EQ(os_thread_create(&cp, producer, &pc, &tp), ESP_OK);
    os_thread_join(tp);
    os_thread_join(tc);

    uint32_t missing = 0;
    for (uint32_t i = 0; i < N_FRAMES; i++) {
        missing += !pc.seen[i];
    }
    CHECK_EQ(pc.received, N_FRAMES);
    CHECK_EQ(missing, 0);
    CHECK_EQ(pc.duplicates, 0);
    CHECK_EQ(pc.out_of_order, 0);

    frame_queue_stats_t qs;
    frame_queue_get_stats(pc.q, &qs);
    CHECK_EQ(qs.enqueued, N_FRAMES);
    CHECK_EQ(qs.drops_full, pc.drops);
    CHECK_EQ(qs.depth, 0);
    CHECK(qs.high_water >= 1 && qs.high_water <= queue_size);
    frame_pool_stats_t ps;
    frame_pool_get_stats(pc.pool, &ps);
    CHECK_EQ(ps.in_use, 0);
    CHECK(ps.high_water >= 1 && ps.high_water <= pool_size);
    printf("     %u frames, %u full-queue drops retried, %llu pool-empty waits\n", N_FRAMES,
           (unsigned)pc.drops, (unsigned long long)ps.alloc_failures);

    frame_queue_destroy(pc.q);
    frame_pool_destroy(pc.pool);
    free(pc.seen);
}

static void test_concurrent_producer_consumer(void)
{
    /* More buffers than queue slots: the full-queue path runs; then the empty-pool path. */
    run_producer_consumer(16, 8);
    run_producer_consumer(4, 8);
}

int main(void)
{
    RUN(test_pool_create_args);
    RUN(test_pool_bounds_and_counters);
    RUN(test_pool_rejects_bad_frees);
    RUN(test_queue_fifo_full_and_counters);
    RUN(test_queue_with_pool_release);
    RUN(test_concurrent_producer_consumer);
    return UNIT_TEST_END();
}
