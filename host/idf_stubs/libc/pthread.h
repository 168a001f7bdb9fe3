/* pthread.h for the picolibc size build: the subset IDF's pthread component provides and we call. */
#pragma once

typedef struct {
    void *impl;
} pthread_mutex_t;
typedef unsigned int pthread_key_t;
typedef struct {
    int is_initialized;
    int init_executed;
} pthread_once_t;

#define PTHREAD_MUTEX_INITIALIZER {0}
#define PTHREAD_ONCE_INIT {1, 0}

typedef struct {
    int type;
} pthread_mutexattr_t;

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr);
int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_unlock(pthread_mutex_t *m);
int pthread_once(pthread_once_t *once, void (*init)(void));
int pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
void *pthread_getspecific(pthread_key_t key);
int pthread_setspecific(pthread_key_t key, const void *value);
