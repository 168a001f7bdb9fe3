/*
 * Bounded RX path: a pool of fixed-size frame buffers (filled by the netdev,
 * the software image of a DMA ring) and a bounded FIFO of received frames
 * waiting for the poll task. Each queued frame carries its release function,
 * so a driver that hands over its own buffers (esp_eth mallocs them) can use
 * the same queue without a copy.
 *
 * Producer: the netdev's RX context. Consumer: the poll task. Thread-safe.
 * Every refusal is counted; nothing is dropped silently.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "frame_l4.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*frame_release_fn)(void *ctx, uint8_t *buf);

typedef struct {
    uint8_t *buf;
    uint16_t len;
    frame_l4_t l4; /* where its transport header is, once checked (proto 0 before) */
    frame_release_fn release;
    void *release_ctx;
} frame_t;

typedef struct frame_pool frame_pool_t;

typedef struct {
    uint32_t capacity;       /* buffers in the pool */
    uint32_t in_use;         /* buffers handed out and not yet freed */
    uint32_t high_water;     /* max in_use ever */
    uint64_t alloc_failures; /* alloc() calls that found the pool empty */
} frame_pool_stats_t;

esp_err_t frame_pool_create(uint32_t count, uint32_t frame_size, frame_pool_t **out);
void frame_pool_destroy(frame_pool_t *pool);
uint32_t frame_pool_frame_size(const frame_pool_t *pool);
/** A free buffer, or NULL when all are in use (counted in alloc_failures). */
uint8_t *frame_pool_alloc(frame_pool_t *pool);
/** Return a buffer; matches frame_release_fn with ctx = pool. */
void frame_pool_free(void *pool, uint8_t *buf);
void frame_pool_get_stats(const frame_pool_t *pool, frame_pool_stats_t *out);

typedef struct frame_queue frame_queue_t;

typedef struct {
    uint32_t capacity;
    uint32_t depth;        /* frames queued now */
    uint32_t high_water;   /* max depth ever */
    uint64_t enqueued;
    uint64_t drops_full;   /* frames refused because the queue was full */
} frame_queue_stats_t;

esp_err_t frame_queue_create(uint32_t capacity, frame_queue_t **out);
/** Releases every frame still queued. */
void frame_queue_destroy(frame_queue_t *q);
/**
 * Queue a frame. When full, the frame is released through its own release
 * function, drops_full is counted and false returned.
 */
bool frame_queue_push(frame_queue_t *q, const frame_t *frame);
/** Oldest frame, or false if empty. The caller must release it. */
bool frame_queue_pop(frame_queue_t *q, frame_t *out);
void frame_queue_get_stats(const frame_queue_t *q, frame_queue_stats_t *out);

#ifdef __cplusplus
}
#endif
