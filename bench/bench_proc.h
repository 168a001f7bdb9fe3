/* Process figures every bench main adds to its /stats JSON: heap (mallinfo2) and
 * resident memory (VmRSS, VmHWM = peak) from /proc/self/status. stdio only: the
 * mains do not include app_stack.h, so no fd call is mapped to a stack. */
#pragma once

#include <malloc.h>
#include <stdio.h>
#include <string.h>

static inline long bench_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) {
        return -1;
    }
    char line[256];
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            sscanf(line + kl + 1, "%ld", &v);
            break;
        }
    }
    fclose(f);
    return v;
}

/* `"proc": {...}` (no leading comma). */
static inline int bench_proc_json(char *buf, size_t len)
{
    struct mallinfo2 mi = mallinfo2();
    return snprintf(buf, len,
                    "\"proc\": {\"vm_rss_kb\": %ld, \"vm_hwm_kb\": %ld, \"heap_in_use\": %zu, \"heap_arena\": %zu, "
                    "\"heap_mmap\": %zu}",
                    bench_status_kb("VmRSS"), bench_status_kb("VmHWM"), mi.uordblks + mi.hblkhd, mi.arena, mi.hblkhd);
}
