/* MQTT 3.1.1 §2.2.3 Remaining Length: the table's boundaries, round trips, malformed inputs. */
#include <stdio.h>
#include <string.h>

#include "mqtt.h"

static int failures;

#define CHECK(c)                                                   \
    do {                                                           \
        if (!(c)) {                                                \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c);    \
            failures++;                                            \
        }                                                          \
    } while (0)

int main(void)
{
    static const struct {
        uint32_t v;
        size_t n;
        uint8_t b[4];
    } table[] = {
        {0, 1, {0x00}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {2097151, 3, {0xff, 0xff, 0x7f}},
        {2097152, 4, {0x80, 0x80, 0x80, 0x01}},
        {268435455, 4, {0xff, 0xff, 0xff, 0x7f}},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        uint8_t out[4];
        size_t n = mqtt_encode_len(table[i].v, out);
        CHECK(n == table[i].n && memcmp(out, table[i].b, n) == 0);
        uint32_t v = 0;
        CHECK(mqtt_decode_len(table[i].b, table[i].n, &v) == (int)table[i].n && v == table[i].v);
        /* One byte short: more is needed, not an error and not a value. */
        CHECK(mqtt_decode_len(table[i].b, table[i].n - 1, &v) == 0);
    }
    uint8_t out[4];
    uint32_t v;
    CHECK(mqtt_encode_len(268435456u, out) == 0);
    const uint8_t five[5] = {0xff, 0xff, 0xff, 0xff, 0x7f};
    CHECK(mqtt_decode_len(five, 5, &v) == -1);
    const uint8_t padded[2] = {0x80, 0x00}; /* 0 with a needless continuation */
    CHECK(mqtt_decode_len(padded, 2, &v) == -1);
    printf("mqtt codec: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
