/*
 * The shim's socket fds as an ESP-IDF VFS fd range, so that read(), write(),
 * close(), fcntl(), ioctl(), fstat() and select() on a socket fd reach us.
 *
 * Range: [LWIP_SOCKET_OFFSET, FD_SETSIZE), the one lwIP would register. lwIP
 * stays compiled and its sys_init() registers that range with lwIP's own ops
 * through esp_vfs_lwip_sockets_register(); the link wraps that function
 * (--wrap=esp_vfs_lwip_sockets_register), so whichever comes first — lwIP's
 * init or our first socket() — registers our ops, exactly once.
 *
 * select (CONFIG_VFS_SUPPORT_SELECT=y): VFS calls socket_select with global
 * fds (ours are global already) after handing the semaphore from
 * get_socket_select_semaphore to the other drivers in the set (UART ...),
 * which signal it through stop_socket_select. That semaphore is the calling
 * thread's wake event, the one the shim's select blocks on, so a UART byte
 * wakes a select over sockets + UART. With CONFIG_VFS_SUPPORT_SELECT=n,
 * IDF's vfs_lwip.c defines select() as lwip_select, which the wrap sends to
 * the shim directly (sockets only).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

#include "bsd_socket.h"
#include "compat_idf.h"
#include "esp_log.h"
#include "esp_private/socket.h"
#include "esp_smoltcp_wake.h"
#include "esp_vfs.h"
#include "fd_table.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "sdkconfig.h"

static const char *TAG = "compat_vfs";

/* Declared by entry_idf.c's wraps: the VFS ops below call the shim through them. */
int __wrap_lwip_ioctl(int s, long cmd, void *argp);
int __wrap_lwip_select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv);

static ssize_t vfs_write(void *ctx, int fd, const void *data, size_t size)
{
    (void)ctx;
    return compat_write(fd, data, size);
}

static ssize_t vfs_read(void *ctx, int fd, void *dst, size_t size)
{
    (void)ctx;
    return compat_read(fd, dst, size);
}

static int vfs_close(void *ctx, int fd)
{
    (void)ctx;
    return compat_close(fd);
}

/* F_GETFD on a closed fd must give EBADF: esp_http_server probes its sessions that way. */
static int vfs_fcntl(void *ctx, int fd, int cmd, int arg)
{
    (void)ctx;
    return compat_fcntl(fd, cmd, arg);
}

static int vfs_ioctl(void *ctx, int fd, int cmd, va_list args)
{
    (void)ctx;
    return __wrap_lwip_ioctl(fd, cmd, va_arg(args, void *));
}

static int vfs_fstat(void *ctx, int fd, struct stat *st)
{
    (void)ctx;
    compat_fd_t state;
    if (!st || fd_get(fd, &state) < 0) {
        errno = EBADF;
        return -1;
    }
    memset(st, 0, sizeof(*st));
    st->st_mode = S_IFSOCK;
    return 0;
}

#ifdef CONFIG_VFS_SUPPORT_SELECT
static void stop_select(void *sem)
{
    esp_smoltcp_thread_wake(sem);
}

static void stop_select_isr(void *sem, BaseType_t *woken)
{
    esp_smoltcp_thread_wake_from_isr(sem, woken);
}

static void *select_sem(void)
{
    return esp_smoltcp_thread_wake_handle();
}

static const esp_vfs_select_ops_t s_select_ops = {
    .socket_select = __wrap_lwip_select,
    .stop_socket_select = stop_select,
    .stop_socket_select_isr = stop_select_isr,
    .get_socket_select_semaphore = select_sem,
};
#define COMPAT_SELECT_OPS (&s_select_ops)
#else
#define COMPAT_SELECT_OPS NULL
#endif

static const esp_vfs_fs_ops_t s_vfs = {
    .write_p = vfs_write,
    .read_p = vfs_read,
    .close_p = vfs_close,
    .fstat_p = vfs_fstat,
    .fcntl_p = vfs_fcntl,
    .ioctl_p = vfs_ioctl,
    .select = COMPAT_SELECT_OPS,
};

static portMUX_TYPE s_lock = portMUX_INITIALIZER_UNLOCKED;
static bool s_registered;

void compat_vfs_ensure_registered(void)
{
    taskENTER_CRITICAL(&s_lock);
    bool first = !s_registered;
    s_registered = true;
    taskEXIT_CRITICAL(&s_lock);
    if (!first) {
        return;
    }
    esp_err_t err = esp_vfs_register_fd_range(&s_vfs, ESP_VFS_FLAG_STATIC | ESP_VFS_FLAG_CONTEXT_PTR, NULL,
                                              COMPAT_FD_FIRST, COMPAT_FD_FIRST + COMPAT_FD_COUNT);
    if (err != ESP_OK) {
        /* Logged, not aborted: sockets still work through lwip_* calls; only
         * read/write/close by fd would not reach us. */
        ESP_LOGE(TAG, "esp_vfs_register_fd_range(%d, %d): %s", COMPAT_FD_FIRST,
                 COMPAT_FD_FIRST + COMPAT_FD_COUNT, esp_err_to_name(err));
    }
}

/* lwIP's sys_init() calls this; with the wrap it registers our ops instead of lwIP's. */
void __wrap_esp_vfs_lwip_sockets_register(void)
{
    compat_vfs_ensure_registered();
}
