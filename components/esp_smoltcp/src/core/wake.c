/*
 * Per-thread wake handles (esp_smoltcp_wake.h): another driver interrupts a
 * thread blocked in esp_smoltcp_sock_poll(), as ESP-IDF's VFS select() does
 * when a UART in the same select has data.
 *
 * The handle is the thread's own wake event. Setting the event alone would
 * not do: poll re-checks its sockets after every wake-up and, finding none
 * ready, would sleep again. So a wake also marks the handle "interrupted" in
 * a small lock-free table (usable from an ISR); poll takes the mark and
 * returns. A mark made before the thread reached poll is kept until it does,
 * so a signal cannot be lost between VFS handing out the semaphore and our
 * wait.
 */
#include <stdatomic.h>
#include <stddef.h>

#include "esp_smoltcp_wake.h"
#include "os.h"
#include "wake_marks.h"

#define WAKE_SLOTS 16 /* threads interrupted and not yet back in poll, at once */

static _Atomic(void *) slot_handle[WAKE_SLOTS];
static atomic_uint slot_marked[WAKE_SLOTS]; /* word-sized: rv32 has no byte atomics (libatomic) */

void wake_mark(void *handle)
{
    for (int i = 0; i < WAKE_SLOTS; i++) { /* marked before and not taken yet */
        if (atomic_load(&slot_handle[i]) == handle) {
            atomic_store(&slot_marked[i], 1u);
            return;
        }
    }
    for (int i = 0; i < WAKE_SLOTS; i++) {
        void *expected = NULL;
        if (atomic_compare_exchange_strong(&slot_handle[i], &expected, handle)) {
            atomic_store(&slot_marked[i], 1u);
            return;
        }
    }
    /* Table full: the thread still wakes; its poll just sleeps on (a missed interrupt, not a hang
     * of the stack), and WAKE_SLOTS is far above the threads an application selects from. */
}

bool wake_take_mark(void *handle)
{
    for (int i = 0; i < WAKE_SLOTS; i++) {
        if (atomic_load(&slot_handle[i]) == handle) {
            /* Free the slot first: a mark racing with this take then lands in a slot of its
             * own and is seen by the next poll (early return) instead of being lost. */
            atomic_store(&slot_handle[i], NULL);
            return atomic_exchange(&slot_marked[i], 0u) != 0;
        }
    }
    return false;
}

void *esp_smoltcp_thread_wake_handle(void)
{
    return os_thread_event();
}

void esp_smoltcp_thread_wake(void *handle)
{
    if (handle) {
        wake_mark(handle);
        os_event_set(handle);
    }
}
