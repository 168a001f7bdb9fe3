/* Host implementation of the esp_log.h / esp_err.h stand-ins. */
#include "esp_err.h"
#include "esp_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static int current_level(void)
{
    /* Read once from the environment; atomic because the poll task and app threads log at once. */
    static atomic_int level = -1;
    int l = atomic_load_explicit(&level, memory_order_relaxed);
    if (l < 0) {
        const char *env = getenv("ESP_SMOLTCP_LOG_LEVEL");
        l = env ? atoi(env) : ESP_LOG_INFO;
        atomic_store_explicit(&level, l, memory_order_relaxed);
    }
    return l;
}

int esp_log_level_enabled(esp_log_level_t level)
{
    return (int)level <= current_level();
}

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
{
    (void)level;
    (void)tag;
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
}

const char *esp_err_to_name(esp_err_t code)
{
    switch (code) {
    case ESP_OK: return "ESP_OK";
    case ESP_FAIL: return "ESP_FAIL";
    case ESP_ERR_NO_MEM: return "ESP_ERR_NO_MEM";
    case ESP_ERR_INVALID_ARG: return "ESP_ERR_INVALID_ARG";
    case ESP_ERR_INVALID_STATE: return "ESP_ERR_INVALID_STATE";
    case ESP_ERR_INVALID_SIZE: return "ESP_ERR_INVALID_SIZE";
    case ESP_ERR_NOT_FOUND: return "ESP_ERR_NOT_FOUND";
    case ESP_ERR_NOT_SUPPORTED: return "ESP_ERR_NOT_SUPPORTED";
    case ESP_ERR_TIMEOUT: return "ESP_ERR_TIMEOUT";
    default: return "UNKNOWN";
    }
}
