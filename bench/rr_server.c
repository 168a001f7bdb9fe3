/*
 * Echo / request-response server: every byte received is sent back at once.
 * One thread per connection (as http_server.c); TCP_NODELAY where the stack
 * has it. Built against app_stack.h, so the same source runs on every stack.
 */
#define _GNU_SOURCE
#include "rr_server.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "app_stack.h"

typedef struct {
    int port, max_clients;
    volatile sig_atomic_t *stop;
} rr_cfg_t;

static atomic_int rr_active;

static void *rr_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[2048];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        ssize_t off = 0;
        while (off < n) {
            ssize_t k = send(fd, buf + off, (size_t)(n - off), 0);
            if (k < 0 && errno == EINTR) {
                continue;
            }
            if (k <= 0) {
                goto done;
            }
            off += k;
        }
    }
done:
    close(fd);
    atomic_fetch_sub(&rr_active, 1);
    return NULL;
}

static void *rr_accept_loop(void *arg)
{
    rr_cfg_t *cfg = arg;
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) {
        perror("rr socket");
        return NULL;
    }
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (bind(ls, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(ls, 4) < 0) {
        perror("rr bind/listen");
        close(ls);
        return NULL;
    }
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (!*cfg->stop) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            continue;
        }
        if (atomic_load(&rr_active) >= cfg->max_clients) {
            close(fd);
            continue;
        }
        struct timeval none = {0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
        atomic_fetch_add(&rr_active, 1);
        pthread_t t;
        if (pthread_create(&t, NULL, rr_conn, (void *)(intptr_t)fd) != 0) {
            atomic_fetch_sub(&rr_active, 1);
            close(fd);
            continue;
        }
        pthread_detach(t);
    }
    close(ls);
    return NULL;
}

int rr_server_start(int port, int max_clients, volatile sig_atomic_t *stop)
{
    static rr_cfg_t cfg;
    cfg = (rr_cfg_t){.port = port, .max_clients = max_clients, .stop = stop};
    pthread_t t;
    if (pthread_create(&t, NULL, rr_accept_loop, &cfg) != 0) {
        return -1;
    }
    pthread_detach(t);
    return 0;
}
