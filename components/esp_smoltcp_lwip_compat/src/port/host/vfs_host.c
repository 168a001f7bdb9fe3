/* Host stand-in for IDF's VFS fd-range routing (components/vfs): socket fds go to the shim. */
#define ESP_SMOLTCP_HOST_SOCKETS_NO_MAP
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
