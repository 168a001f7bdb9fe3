/* Best master selection (ptp_bmc.h). */
#include "ptp_bmc.h"

#include <string.h>

uint64_t ptp_interval_us(int8_t log_interval)
{
    int l = log_interval < -7 ? -7 : log_interval > 7 ? 7 : log_interval;
    return l >= 0 ? 1000000ull << l : 1000000ull >> -l;
}

static int cmp_u(unsigned a, unsigned b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

int ptp_bmc_compare(const ptp_msg_t *a, const ptp_msg_t *b)
{
    int c = memcmp(a->gm_id, b->gm_id, 8);
    if (c == 0) {
        /* Same grandmaster (Figure 28): the shorter path, then the sender's identity. */
        int s = cmp_u(a->steps_removed, b->steps_removed);
        if (s) {
            return s;
        }
        s = memcmp(a->hdr.source.clock_id, b->hdr.source.clock_id, 8);
        return s ? s : cmp_u(a->hdr.source.port, b->hdr.source.port);
    }
    int r;
    if ((r = cmp_u(a->priority1, b->priority1)) || (r = cmp_u(a->quality.clock_class, b->quality.clock_class)) ||
        (r = cmp_u(a->quality.accuracy, b->quality.accuracy)) ||
        (r = cmp_u(a->quality.variance, b->quality.variance)) || (r = cmp_u(a->priority2, b->priority2))) {
        return r;
    }
    return c;
}

int ptp_foreign_update(ptp_foreign_table_t *t, const ptp_msg_t *announce, uint64_t now_us)
{
    int free_slot = -1;
    for (int i = 0; i < PTP_FOREIGN_MAX; i++) {
        ptp_foreign_t *f = &t->fm[i];
        if (!f->used) {
            if (free_slot < 0) {
                free_slot = i;
            }
            continue;
        }
        if (ptp_port_id_equal(&f->port, &announce->hdr.source)) {
            f->announce = *announce;
            memmove(&f->rx_us[1], &f->rx_us[0], sizeof(f->rx_us) - sizeof(f->rx_us[0]));
            f->rx_us[0] = now_us;
            if (f->count < PTP_FOREIGN_THRESHOLD) {
                f->count++;
            }
            return i;
        }
    }
    if (free_slot < 0) {
        return -1;
    }
    ptp_foreign_t *f = &t->fm[free_slot];
    *f = (ptp_foreign_t){.used = true, .port = announce->hdr.source, .announce = *announce, .count = 1};
    f->rx_us[0] = now_us;
    return free_slot;
}

int ptp_foreign_expire(ptp_foreign_table_t *t, uint64_t now_us, uint8_t timeout)
{
    int n = 0;
    for (int i = 0; i < PTP_FOREIGN_MAX; i++) {
        ptp_foreign_t *f = &t->fm[i];
        if (f->used && now_us - f->rx_us[0] > timeout * ptp_interval_us(f->announce.hdr.log_interval)) {
            f->used = false;
            n++;
        }
    }
    return n;
}

bool ptp_foreign_qualified(const ptp_foreign_t *f, uint64_t now_us)
{
    if (!f->used || f->count < PTP_FOREIGN_THRESHOLD) {
        return false;
    }
    uint64_t window = PTP_FOREIGN_WINDOW * ptp_interval_us(f->announce.hdr.log_interval);
    return now_us - f->rx_us[PTP_FOREIGN_THRESHOLD - 1] <= window;
}

int ptp_foreign_best(const ptp_foreign_table_t *t, uint64_t now_us)
{
    int best = -1;
    for (int i = 0; i < PTP_FOREIGN_MAX; i++) {
        if (ptp_foreign_qualified(&t->fm[i], now_us) &&
            (best < 0 || ptp_bmc_compare(&t->fm[i].announce, &t->fm[best].announce) < 0)) {
            best = i;
        }
    }
    return best;
}
