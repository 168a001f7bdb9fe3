/* Host stand-in for IDF's VFS fd-range routing (components/vfs): socket fds go to the shim. */
#define ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
#include <stdarg.h>
#include <unistd.h>

#include "bsd_socket.h"
#include "esp_smoltcp_host_sockets.h"
#include "fd_table.h"

int esp_smoltcp_host_is_socket_fd(int fd)
{
    return fd_in_range(fd);
}

int esp_smoltcp_host_close(int fd)
{
    return fd_in_range(fd) ? compat_close(fd) : close(fd);
}

ssize_t esp_smoltcp_host_read(int fd, void *buf, size_t len)
{
    return fd_in_range(fd) ? compat_read(fd, buf, len) : read(fd, buf, len);
}

ssize_t esp_smoltcp_host_write(int fd, const void *buf, size_t len)
{
    return fd_in_range(fd) ? compat_write(fd, buf, len) : write(fd, buf, len);
}

ssize_t esp_smoltcp_host_readv(int fd, const struct iovec *iov, int iovcnt)
{
    return fd_in_range(fd) ? compat_readv(fd, iov, iovcnt) : readv(fd, iov, iovcnt);
}

ssize_t esp_smoltcp_host_writev(int fd, const struct iovec *iov, int iovcnt)
{
    return fd_in_range(fd) ? compat_writev(fd, iov, iovcnt) : writev(fd, iov, iovcnt);
}

/* IDF's VFS passes fcntl's third argument on as an int (lwip_fcntl(s, cmd, val)). */
int esp_smoltcp_host_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int arg = va_arg(ap, int);
    va_end(ap);
    return fd_in_range(fd) ? compat_fcntl(fd, cmd, arg) : fcntl(fd, cmd, arg);
}

int esp_smoltcp_host_ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *argp = va_arg(ap, void *);
    va_end(ap);
    return fd_in_range(fd) ? compat_ioctl(fd, (long)request, argp) : ioctl(fd, request, argp);
}
