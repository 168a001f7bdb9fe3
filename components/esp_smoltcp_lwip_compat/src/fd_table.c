#include "fd_table.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

static struct {
    bool used;
    compat_fd_t s;
} fds[COMPAT_FD_COUNT];

/* The fd table has its own small lock: it never waits on the stack. */
static pthread_mutex_t fd_lock = PTHREAD_MUTEX_INITIALIZER;

/* One edit lock per fd; they may wait on the stack (setsockopt), fd_lock never does. */
static pthread_mutex_t edit_locks[COMPAT_FD_COUNT];
static pthread_once_t edit_locks_once = PTHREAD_ONCE_INIT;

static void edit_locks_init(void)
{
    for (int i = 0; i < COMPAT_FD_COUNT; i++) {
        pthread_mutex_init(&edit_locks[i], NULL);
    }
}

bool fd_in_range(int fd)
{
    return fd >= COMPAT_FD_FIRST && fd < COMPAT_FD_FIRST + COMPAT_FD_COUNT;
}

int fd_alloc(const compat_fd_t *init)
{
    pthread_mutex_lock(&fd_lock);
    int fd = -EMFILE;
    /* Lowest free number first, as POSIX requires of socket(). */
    for (int i = 0; i < COMPAT_FD_COUNT; i++) {
        if (!fds[i].used) {
            fds[i].used = true;
            fds[i].s = *init;
            fd = COMPAT_FD_FIRST + i;
            break;
        }
    }
    pthread_mutex_unlock(&fd_lock);
    return fd;
}

/* An fd outside our range: another open file (ENOTSOCK) or nothing (EBADF), as the OS's fcntl says. */
static int foreign_fd_error(int fd)
{
    return fd < 0 || (fcntl(fd, F_GETFD) < 0 && errno == EBADF) ? -EBADF : -ENOTSOCK;
}

int fd_get(int fd, compat_fd_t *out)
{
    if (!fd_in_range(fd)) {
        return foreign_fd_error(fd);
    }
    pthread_mutex_lock(&fd_lock);
    int rc = fds[fd - COMPAT_FD_FIRST].used ? 0 : -EBADF;
    if (rc == 0 && out) {
        *out = fds[fd - COMPAT_FD_FIRST].s;
    }
    pthread_mutex_unlock(&fd_lock);
    return rc;
}

int fd_update(int fd, const compat_fd_t *in)
{
    if (!fd_in_range(fd)) {
        return -EBADF;
    }
    pthread_mutex_lock(&fd_lock);
    int rc = fds[fd - COMPAT_FD_FIRST].used ? 0 : -EBADF;
    if (rc == 0) {
        int handle = fds[fd - COMPAT_FD_FIRST].s.handle;
        fds[fd - COMPAT_FD_FIRST].s = *in;
        fds[fd - COMPAT_FD_FIRST].s.handle = handle;
    }
    pthread_mutex_unlock(&fd_lock);
    return rc;
}

int fd_free(int fd)
{
    if (!fd_in_range(fd)) {
        return -EBADF;
    }
    pthread_mutex_lock(&fd_lock);
    int rc = -EBADF;
    if (fds[fd - COMPAT_FD_FIRST].used) {
        rc = fds[fd - COMPAT_FD_FIRST].s.handle;
        fds[fd - COMPAT_FD_FIRST].used = false;
    }
    pthread_mutex_unlock(&fd_lock);
    return rc;
}

void fd_defaults(compat_fd_t *s)
{
    memset(s, 0, sizeof(*s));
    s->handle = -1;
    s->rcv_timeout_ms = ESP_SMOLTCP_WAIT_FOREVER;
    s->snd_timeout_ms = ESP_SMOLTCP_WAIT_FOREVER;
    s->keepidle_s = 7200; /* Linux: tcp_keepalive_time */
    s->keepintvl_s = 75;  /* tcp_keepalive_intvl */
    s->keepcnt = 9;       /* tcp_keepalive_probes */
    s->ttl = -1;
    s->hops6 = -1;
    s->mcast_ttl = 1;     /* RFC 1112 §6.1 */
    s->mcast_hops6 = 1;   /* RFC 3493 §5.2 */
    s->mcast_loop = true;
    s->mcast_loop6 = true;
}

int fd_edit_begin(int fd, compat_fd_t *out)
{
    if (!fd_in_range(fd)) {
        return foreign_fd_error(fd);
    }
    pthread_once(&edit_locks_once, edit_locks_init);
    pthread_mutex_lock(&edit_locks[fd - COMPAT_FD_FIRST]);
    int rc = fd_get(fd, out);
    if (rc < 0) {
        pthread_mutex_unlock(&edit_locks[fd - COMPAT_FD_FIRST]);
    }
    return rc;
}

int fd_edit_end(int fd, const compat_fd_t *in)
{
    int rc = in ? fd_update(fd, in) : 0;
    pthread_mutex_unlock(&edit_locks[fd - COMPAT_FD_FIRST]);
    return rc;
}
