/* Random instruction-sequence generator for the native differential test. */
#ifndef BT86_NATIVE_GEN_H
#define BT86_NATIVE_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/native/oracle_proto.h"

#define GROUPS(X) \
    X(alu) X(unary) X(muldiv) X(shift) X(shxd) X(bitop) X(bsf_bsr) X(bswap) X(setcc) X(cmov) \
    X(xchg) X(cmpxchg) X(mov) X(movx) X(lea) X(stack) X(enter_leave) X(flags) X(cbw_cwd) \
    X(string) X(xlat) X(bound) X(arpl) X(bcd) X(branch) X(nop) X(trap) X(priv) X(ud) \
    X(x87) X(x87ctl) X(mmx)

enum gen_group {
#define GROUP_ENUM(name) GRP_##name,
    GROUPS(GROUP_ENUM)
#undef GROUP_ENUM
    GRP_COUNT
};

extern const char *const gen_group_names[GRP_COUNT];

#define GEN_MAX_PATCHES 8

struct gen_insn {
    uint16_t off;
    uint8_t len;
    uint8_t kind;  /* ORC_K_* */
    uint8_t group; /* enum gen_group */
};

struct gen_patch {
    uint32_t off; /* in the data region */
    uint32_t len;
    uint8_t bytes[ORC_MAX_PATCH];
};

struct gen_case {
    uint32_t regs[8];
    uint32_t eflags;
    bool es_ldt; /* ES holds the 64 KiB LDT segment (16-bit string destinations) */
    uint8_t code[ORC_MAX_CODE];
    unsigned code_len;
    struct gen_insn insn[ORC_MAX_INSNS];
    unsigned n_insns;
    struct gen_patch patch[GEN_MAX_PATCHES];
    unsigned n_patches;
    uint8_t fpu[108]; /* initial x87/MMX state: FSAVE image, 32-bit protected format */
};

/* Restrict generation to the groups whose bits are set (0: all, by their weights). */
void gen_only_groups(uint64_t mask);

/* Case `index` of the run seeded with `seed`: a pure function of both, so any case can be
 * regenerated alone. */
void gen_case(struct gen_case *gc, uint64_t seed, uint64_t index);

/* The 64 KiB data-region pattern of a run. */
void gen_pattern(uint8_t *out, uint64_t seed);

#endif
