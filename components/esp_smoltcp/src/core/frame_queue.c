/*
 * RX frame pool and bounded frame queue (see frame_queue.h).
 *
 * The pool takes one allocation for all buffers, so a frame costs no heap
 * operation on the RX path and the memory bound is fixed at creation.
 */
#include "frame_queue.h"

#include <stdlib.h>
#include <string.h>

#include "esp_log.h"
#include "os.h"

static const char *TAG = "frame_queue";

/* Buffers start on this boundary so word-at-a-time checksum loads stay aligned. */
#define FRAME_POOL_ALIGN 8u

struct frame_pool {
    os_mutex_t *lock;
    uint8_t *mem;
    size_t stride;         /* frame_size rounded up to FRAME_POOL_ALIGN */
    uint32_t frame_size;
    uint32_t count;
    uint32_t *free_stack;  /* indices of free buffers; top at free_top - 1 */
    uint32_t free_top;
    bool *in_use;          /* per buffer: catches double and foreign frees */
    uint32_t high_water;
    uint64_t alloc_failures;
};

struct frame_queue {
    os_mutex_t *lock;
    frame_t *ring;
    uint32_t capacity;
    uint32_t head;         /* oldest frame */
    uint32_t depth;
    uint32_t high_water;
    uint64_t enqueued;
    uint64_t drops_full;
};

esp_err_t frame_pool_create(uint32_t count, uint32_t frame_size, frame_pool_t **out)
{
    if (!out || count == 0 || frame_size == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    size_t stride = ((size_t)frame_size + FRAME_POOL_ALIGN - 1) & ~(size_t)(FRAME_POOL_ALIGN - 1);
    if (stride < frame_size || stride > SIZE_MAX / count) {
        return ESP_ERR_INVALID_SIZE;
    }
    esp_err_t err = ESP_ERR_NO_MEM;
    frame_pool_t *p = calloc(1, sizeof(*p));
    if (!p) {
        return ESP_ERR_NO_MEM;
    }
    p->mem = malloc(stride * count);
    p->free_stack = calloc(count, sizeof(p->free_stack[0]));
    p->in_use = calloc(count, sizeof(p->in_use[0]));
    if (!p->mem || !p->free_stack || !p->in_use) {
        goto cleanup;
    }
    err = os_mutex_create(&p->lock);
    if (err != ESP_OK) {
        goto cleanup;
    }
    p->stride = stride;
    p->frame_size = frame_size;
    p->count = count;
    /* Lowest index on top: the first allocations come from the start of the block. */
    for (uint32_t i = 0; i < count; i++) {
        p->free_stack[i] = count - 1 - i;
    }
    p->free_top = count;
    *out = p;
    return ESP_OK;

cleanup:
    free(p->in_use);
    free(p->free_stack);
    free(p->mem);
    free(p);
    return err;
}

void frame_pool_destroy(frame_pool_t *pool)
{
    if (!pool) {
        return;
    }
    if (pool->free_top != pool->count) {
        ESP_LOGW(TAG, "pool destroyed with %u buffers still in use",
                 (unsigned)(pool->count - pool->free_top));
    }
    os_mutex_destroy(pool->lock);
    free(pool->in_use);
    free(pool->free_stack);
    free(pool->mem);
    free(pool);
}

uint32_t frame_pool_frame_size(const frame_pool_t *pool)
{
    return pool ? pool->frame_size : 0;
}

uint8_t *frame_pool_alloc(frame_pool_t *pool)
{
    if (!pool) {
        return NULL;
    }
    uint8_t *buf = NULL;
    os_mutex_lock(pool->lock);
    if (pool->free_top == 0) {
        pool->alloc_failures++;
    } else {
        uint32_t idx = pool->free_stack[--pool->free_top];
        pool->in_use[idx] = true;
        buf = pool->mem + (size_t)idx * pool->stride;
        uint32_t used = pool->count - pool->free_top;
        if (used > pool->high_water) {
            pool->high_water = used;
        }
    }
    os_mutex_unlock(pool->lock);
    return buf;
}

void frame_pool_free(void *ctx, uint8_t *buf)
{
    frame_pool_t *pool = ctx;
    if (!pool || !buf) {
        return;
    }
    /* Compare as integers: relational operators on unrelated pointers are UB. */
    uintptr_t base = (uintptr_t)pool->mem;
    uintptr_t addr = (uintptr_t)buf;
    size_t span = pool->stride * pool->count;
    if (addr < base || addr - base >= span || (addr - base) % pool->stride != 0) {
        ESP_LOGE(TAG, "free of %p: not a buffer of this pool", (void *)buf);
        return;
    }
    uint32_t idx = (uint32_t)((addr - base) / pool->stride);
    bool ok = false;
    os_mutex_lock(pool->lock);
    if (pool->in_use[idx]) {
        pool->in_use[idx] = false;
        pool->free_stack[pool->free_top++] = idx;
        ok = true;
    }
    os_mutex_unlock(pool->lock);
    if (!ok) {
        ESP_LOGE(TAG, "double free of buffer %u", (unsigned)idx);
    }
}

void frame_pool_get_stats(const frame_pool_t *pool, frame_pool_stats_t *out)
{
    if (!pool || !out) {
        return;
    }
    os_mutex_lock(pool->lock);
    out->capacity = pool->count;
    out->in_use = pool->count - pool->free_top;
    out->high_water = pool->high_water;
    out->alloc_failures = pool->alloc_failures;
    os_mutex_unlock(pool->lock);
}

esp_err_t frame_queue_create(uint32_t capacity, frame_queue_t **out)
{
    if (!out || capacity == 0) {
        return ESP_ERR_INVALID_ARG;
    }
    frame_queue_t *q = calloc(1, sizeof(*q));
    if (!q) {
        return ESP_ERR_NO_MEM;
    }
    esp_err_t err = ESP_ERR_NO_MEM;
    q->ring = calloc(capacity, sizeof(q->ring[0]));
    if (!q->ring) {
        goto cleanup;
    }
    err = os_mutex_create(&q->lock);
    if (err != ESP_OK) {
        goto cleanup;
    }
    q->capacity = capacity;
    *out = q;
    return ESP_OK;

cleanup:
    free(q->ring);
    free(q);
    return err;
}

static void frame_release(const frame_t *f)
{
    if (f->release) {
        f->release(f->release_ctx, f->buf);
    }
}

void frame_queue_destroy(frame_queue_t *q)
{
    if (!q) {
        return;
    }
    frame_t f;
    while (frame_queue_pop(q, &f)) {
        frame_release(&f);
    }
    os_mutex_destroy(q->lock);
    free(q->ring);
    free(q);
}

bool frame_queue_push(frame_queue_t *q, const frame_t *frame)
{
    if (!q || !frame) {
        return false;
    }
    bool queued = false;
    os_mutex_lock(q->lock);
    if (q->depth < q->capacity) {
        q->ring[(q->head + q->depth) % q->capacity] = *frame;
        q->depth++;
        q->enqueued++;
        if (q->depth > q->high_water) {
            q->high_water = q->depth;
        }
        queued = true;
    } else {
        q->drops_full++;
    }
    os_mutex_unlock(q->lock);
    /* Outside the lock: the release may take the pool's lock or call the driver. */
    if (!queued) {
        frame_release(frame);
    }
    return queued;
}

bool frame_queue_pop(frame_queue_t *q, frame_t *out)
{
    if (!q || !out) {
        return false;
    }
    bool got = false;
    os_mutex_lock(q->lock);
    if (q->depth > 0) {
        *out = q->ring[q->head];
        q->head = (q->head + 1) % q->capacity;
        q->depth--;
        got = true;
    }
    os_mutex_unlock(q->lock);
    return got;
}

void frame_queue_get_stats(const frame_queue_t *q, frame_queue_stats_t *out)
{
    if (!q || !out) {
        return;
    }
    os_mutex_lock(q->lock);
    out->capacity = q->capacity;
    out->depth = q->depth;
    out->high_water = q->high_water;
    out->enqueued = q->enqueued;
    out->drops_full = q->drops_full;
    os_mutex_unlock(q->lock);
}
