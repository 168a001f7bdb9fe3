/* task.h stand-in. IDF: stack depth in bytes. */
#pragma once

#include "freertos/FreeRTOS.h"

BaseType_t xTaskCreatePinnedToCore(TaskFunction_t fn, const char *name, const uint32_t stack_depth, void *arg,
                                   UBaseType_t priority, TaskHandle_t *created, const BaseType_t core_id);
BaseType_t xTaskCreate(TaskFunction_t fn, const char *name, const uint32_t stack_depth, void *arg,
                       UBaseType_t priority, TaskHandle_t *created);
void vTaskDelete(TaskHandle_t task);
