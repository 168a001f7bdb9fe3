/* esp_vfs.h / esp_vfs_ops.h stand-in: the fd-range registration the socket driver uses. */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include "esp_err.h"
#include "freertos/FreeRTOS.h"
#include "sdkconfig.h"

#define ESP_VFS_FLAG_DEFAULT (1 << 0)
#define ESP_VFS_FLAG_CONTEXT_PTR (1 << 1)
#define ESP_VFS_FLAG_STATIC (1 << 3)

#ifdef CONFIG_VFS_SUPPORT_SELECT
typedef struct {
    void *start_select; /* not used by a socket driver */
    int (*const socket_select)(int nfds, fd_set *readfds, fd_set *writefds, fd_set *errorfds, struct timeval *timeout);
    void (*const stop_socket_select)(void *sem);
    void (*const stop_socket_select_isr)(void *sem, BaseType_t *woken);
    void *(*const get_socket_select_semaphore)(void);
    void *end_select;
} esp_vfs_select_ops_t;
#endif

typedef struct {
    ssize_t (*const write_p)(void *ctx, int fd, const void *data, size_t size);
    ssize_t (*const read_p)(void *ctx, int fd, void *dst, size_t size);
    int (*const close_p)(void *ctx, int fd);
    int (*const fstat_p)(void *ctx, int fd, struct stat *st);
    int (*const fcntl_p)(void *ctx, int fd, int cmd, int arg);
    int (*const ioctl_p)(void *ctx, int fd, int cmd, va_list args);
#ifdef CONFIG_VFS_SUPPORT_SELECT
    const esp_vfs_select_ops_t *select;
#endif
} esp_vfs_fs_ops_t;
