/* QEMU virt (riscv32) platform pieces of the bare-metal image. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "esp_smoltcp_netdev.h"

#define VIRT_VIRTIO_MMIO_BASE 0x10001000u
#define VIRT_VIRTIO_MMIO_STRIDE 0x1000u
#define VIRT_VIRTIO_MMIO_SLOTS 8u
#define VIRT_VIRTIO_IRQ(slot) (1u + (slot)) /* PLIC sources 1..8 */

extern volatile uint32_t platform_ticks;
extern int platform_log_level;

void platform_init(void);
void platform_paint_stack(void);
void platform_enable_net_irq(unsigned irq, esp_smoltcp_netdev_t *dev);
void platform_panic_trap(uint32_t cause, uint32_t epc, uint32_t tval);

typedef struct {
    size_t heap_used, heap_size, static_ram;
} platform_mem_t;
void platform_mem(platform_mem_t *m);
