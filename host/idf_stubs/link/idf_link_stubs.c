/*
 * Do-nothing definitions of the ESP-IDF functions our target code calls, so
 * that scripts/size.sh can link one rv32imafc image. They stand for code that
 * IDF already has in every image (FreeRTOS, esp_timer, VFS, esp_event ...)
 * and are never counted in the figures. Nothing here runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "esp_err.h"
#include "esp_eth_driver.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_private/socket.h"
#include "esp_random.h"
#include "esp_rom_sys.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/semphr.h"
#include "freertos/task.h"
#include "pthread.h"
#include <fcntl.h>
#include <stdio.h>
#include <time.h>

int64_t esp_timer_get_time(void) { return 0; }
/* IDF: newlib over esp_timer, and the VFS */
int clock_gettime(clockid_t clock_id, struct timespec *tp) { (void)clock_id, (void)tp; return 0; }
int fcntl(int fd, int cmd, ...) { (void)fd, (void)cmd; return -1; }
uint32_t esp_random(void) { return 4; }
void esp_rom_delay_us(uint32_t us) { (void)us; }
void vPortEnterCritical(portMUX_TYPE *m) { (void)m; }
void vPortExitCritical(portMUX_TYPE *m) { (void)m; }
SemaphoreHandle_t xSemaphoreCreateMutexStatic(StaticSemaphore_t *b) { return (SemaphoreHandle_t)b; }
SemaphoreHandle_t xSemaphoreCreateBinaryStatic(StaticSemaphore_t *b) { return (SemaphoreHandle_t)b; }
void vSemaphoreDelete(SemaphoreHandle_t s) { (void)s; }
BaseType_t xSemaphoreTake(SemaphoreHandle_t s, TickType_t t) { (void)s, (void)t; return pdTRUE; }
BaseType_t xSemaphoreGive(SemaphoreHandle_t s) { (void)s; return pdTRUE; }
BaseType_t xSemaphoreGiveFromISR(SemaphoreHandle_t s, BaseType_t *w) { (void)s, (void)w; return pdTRUE; }
BaseType_t xTaskCreatePinnedToCore(TaskFunction_t f, const char *n, const uint32_t d, void *a, UBaseType_t p,
                                   TaskHandle_t *c, const BaseType_t core)
{
    (void)f, (void)n, (void)d, (void)a, (void)p, (void)c, (void)core;
    return pdPASS;
}
BaseType_t xTaskCreate(TaskFunction_t f, const char *n, const uint32_t d, void *a, UBaseType_t p, TaskHandle_t *c)
{
    (void)f, (void)n, (void)d, (void)a, (void)p, (void)c;
    return pdPASS;
}
void vTaskDelete(TaskHandle_t t) { (void)t; }

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a) { (void)m, (void)a; return 0; }
int pthread_mutex_lock(pthread_mutex_t *m) { (void)m; return 0; }
int pthread_mutex_unlock(pthread_mutex_t *m) { (void)m; return 0; }
int pthread_once(pthread_once_t *o, void (*init)(void)) { (void)o, (void)init; return 0; }
int pthread_key_create(pthread_key_t *k, void (*d)(void *)) { (void)k, (void)d; return 0; }
void *pthread_getspecific(pthread_key_t k) { (void)k; return NULL; }
int pthread_setspecific(pthread_key_t k, const void *v) { (void)k, (void)v; return 0; }

esp_event_base_t const ETH_EVENT = "ETH_EVENT";
esp_event_base_t const IP_EVENT = "IP_EVENT";
esp_err_t esp_event_handler_instance_register(esp_event_base_t b, int32_t id, esp_event_handler_t h, void *a,
                                              esp_event_handler_instance_t *i)
{
    (void)b, (void)id, (void)h, (void)a, (void)i;
    return ESP_OK;
}
esp_err_t esp_event_handler_instance_unregister(esp_event_base_t b, int32_t id, esp_event_handler_instance_t i)
{
    (void)b, (void)id, (void)i;
    return ESP_OK;
}
esp_err_t esp_event_post(esp_event_base_t b, int32_t id, const void *d, size_t s, TickType_t t)
{
    (void)b, (void)id, (void)d, (void)s, (void)t;
    return ESP_OK;
}
esp_err_t esp_eth_update_input_path(esp_eth_handle_t h, esp_err_t (*in)(esp_eth_handle_t, uint8_t *, uint32_t, void *),
                                    void *p)
{
    (void)h, (void)in, (void)p;
    return ESP_OK;
}
esp_err_t esp_eth_transmit(esp_eth_handle_t h, void *b, size_t l) { (void)h, (void)b, (void)l; return ESP_OK; }
esp_err_t esp_eth_ioctl(esp_eth_handle_t h, esp_eth_io_cmd_t c, void *d) { (void)h, (void)c, (void)d; return ESP_OK; }
esp_err_t esp_vfs_register_fd_range(const esp_vfs_fs_ops_t *v, int f, void *c, int lo, int hi)
{
    (void)v, (void)f, (void)c, (void)lo, (void)hi;
    return ESP_OK;
}
void esp_log_write(esp_log_level_t l, const char *t, const char *f, ...) { (void)l, (void)t, (void)f; }
int esp_log_level_enabled(esp_log_level_t l) { return l <= ESP_LOG_INFO; }
const char *esp_err_to_name(esp_err_t c) { (void)c; return "ERR"; }

/* 64-bit atomics: IDF provides them for RISC-V targets without the A extension on 64-bit words. */
uint64_t __atomic_fetch_add_8(volatile void *p, uint64_t v, int o)
{
    (void)o;
    uint64_t old = *(volatile uint64_t *)p;
    *(volatile uint64_t *)p = old + v;
    return old;
}
uint64_t __atomic_load_8(const volatile void *p, int o)
{
    (void)o;
    return *(const volatile uint64_t *)p;
}
void __atomic_store_8(volatile void *p, uint64_t v, int o)
{
    (void)o;
    *(volatile uint64_t *)p = v;
}

/* What picolibc's abort() needs from an OS. */
void _exit(int code)
{
    (void)code;
    for (;;) {
    }
}
int getpid(void) { return 1; }
int kill(int pid, int sig) { (void)pid, (void)sig; return -1; }

/* picolibc's printf() writes to the app's stdout (IDF: newlib's, over VFS); esp_smoltcp_ping prints. */
static int stub_putc(char c, FILE *f)
{
    (void)c, (void)f;
    return 0;
}
static FILE stub_stdout = FDEV_SETUP_STREAM(stub_putc, NULL, NULL, _FDEV_SETUP_WRITE);
FILE *const stdout = &stub_stdout;
