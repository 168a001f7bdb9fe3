/*
 * fncount: a QEMU TCG plugin (API v1, QEMU 7.2) counting guest instructions
 * per function. Debian ships no qemu-plugin.h, so the few prototypes used are
 * declared here. At translation, each run of instructions of one symbol
 * (qemu_plugin_insn_symbol) in a TB gets one inline 64-bit add of the run's
 * length: no helper call per instruction, so the guest still runs at icount
 * speed. Args: out=FILE (counters, appended), mark=ADDR (hex): every time the
 * guest executes ADDR the counters are written out as "# mark N" blocks.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
typedef struct qemu_info_t qemu_info_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
#define EXPORT __attribute__((visibility("default")))
EXPORT int qemu_plugin_version = 1;
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *);
const char *qemu_plugin_insn_symbol(const struct qemu_plugin_insn *);
void qemu_plugin_register_vcpu_insn_exec_inline(struct qemu_plugin_insn *, enum qemu_plugin_op, void *, uint64_t);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *, void (*)(unsigned int, void *),
                                            enum qemu_plugin_cb_flags, void *);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, void *), void *);

#define SLOTS 8192 /* power of two, > symbols in the image */
static struct { const char *sym; uint64_t n; } tab[SLOTS];
static FILE *out;
static uint64_t mark_addr, marks;

static uint64_t *counter(const char *sym)
{
    if (!sym) {
        sym = "?";
    }
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = sym; *p; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ULL;
    }
    for (size_t i = h & (SLOTS - 1);; i = (i + 1) & (SLOTS - 1)) {
        if (!tab[i].sym) {
            tab[i].sym = strdup(sym);
        }
        if (strcmp(tab[i].sym, sym) == 0) {
            return &tab[i].n;
        }
    }
}

static void dump(const char *what)
{
    fprintf(out, "# %s %" PRIu64 "\n", what, marks);
    for (size_t i = 0; i < SLOTS; i++) {
        if (tab[i].n) {
            fprintf(out, "%" PRIu64 " %s\n", tab[i].n, tab[i].sym);
        }
    }
    fflush(out);
}

static void on_mark(unsigned int vcpu, void *u) { (void)vcpu, (void)u; marks++; dump("mark"); }
static void on_exit_cb(qemu_plugin_id_t id, void *u) { (void)id, (void)u; dump("exit"); }

static void on_tb(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    for (size_t i = 0; i < n;) {
        struct qemu_plugin_insn *first = qemu_plugin_tb_get_insn(tb, i);
        const char *sym = qemu_plugin_insn_symbol(first);
        size_t j = i + 1;
        while (j < n) {
            const char *s2 = qemu_plugin_insn_symbol(qemu_plugin_tb_get_insn(tb, j));
            if (s2 != sym && (!s2 || !sym || strcmp(s2, sym) != 0)) {
                break;
            }
            j++;
        }
        qemu_plugin_register_vcpu_insn_exec_inline(first, QEMU_PLUGIN_INLINE_ADD_U64, counter(sym), j - i);
        for (size_t k = i; k < j && mark_addr; k++) {
            struct qemu_plugin_insn *in = qemu_plugin_tb_get_insn(tb, k);
            if (qemu_plugin_insn_vaddr(in) == mark_addr) {
                qemu_plugin_register_vcpu_insn_exec_cb(in, on_mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
            }
        }
        i = j;
    }
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    (void)info;
    const char *path = "fncount.txt";
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "out=", 4) == 0) {
            path = argv[i] + 4;
        } else if (strncmp(argv[i], "mark=", 5) == 0) {
            mark_addr = strtoull(argv[i] + 5, NULL, 16);
        }
    }
    out = fopen(path, "w");
    if (!out) {
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb);
    qemu_plugin_register_atexit_cb(id, on_exit_cb, NULL);
    return 0;
}
