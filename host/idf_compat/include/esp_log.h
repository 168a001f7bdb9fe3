/*
 * Host stand-in for ESP-IDF's esp_log.h: ESP_LOGx(tag, fmt, ...) printing
 * "L (ms) tag: message" to stderr like IDF does. Level from the environment
 * variable ESP_SMOLTCP_LOG_LEVEL (0 none .. 5 verbose, default 3 = info).
 */
#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ESP_LOG_NONE,
    ESP_LOG_ERROR,
    ESP_LOG_WARN,
    ESP_LOG_INFO,
    ESP_LOG_DEBUG,
    ESP_LOG_VERBOSE,
} esp_log_level_t;

void esp_log_write(esp_log_level_t level, const char *tag, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
int esp_log_level_enabled(esp_log_level_t level);

#define ESP_LOG_AT(level, letter, tag, fmt, ...)                                         \
    do {                                                                                  \
        if (esp_log_level_enabled(level)) {                                               \
            esp_log_write(level, tag, letter " %s: " fmt "\n", tag, ##__VA_ARGS__);       \
        }                                                                                 \
    } while (0)

#define ESP_LOGE(tag, fmt, ...) ESP_LOG_AT(ESP_LOG_ERROR, "E", tag, fmt, ##__VA_ARGS__)
#define ESP_LOGW(tag, fmt, ...) ESP_LOG_AT(ESP_LOG_WARN, "W", tag, fmt, ##__VA_ARGS__)
#define ESP_LOGI(tag, fmt, ...) ESP_LOG_AT(ESP_LOG_INFO, "I", tag, fmt, ##__VA_ARGS__)
#define ESP_LOGD(tag, fmt, ...) ESP_LOG_AT(ESP_LOG_DEBUG, "D", tag, fmt, ##__VA_ARGS__)
#define ESP_LOGV(tag, fmt, ...) ESP_LOG_AT(ESP_LOG_VERBOSE, "V", tag, fmt, ##__VA_ARGS__)

#ifdef __cplusplus
}
#endif
