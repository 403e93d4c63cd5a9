/* Wire protocol between native_diff (64-bit, the interpreter side) and oracle32 (a 32-bit
 * static helper that executes guest instruction bytes natively on the host CPU).
 *
 * Both sides are compiled from this header with different ABIs (-m32 and x86-64), so every
 * structure holds only fixed-width integers at naturally aligned offsets and its size is
 * checked. Messages are little-endian, as both ends are the same machine.
 *
 * Conversation: the parent sends ORC_INIT with the 64 KiB data-region pattern, then any number
 * of ORC_BATCH messages, each answered by one ORC_RESULTS message, then ORC_QUIT.
 *
 * A batch holds cases. A case is an initial register/flag state, a few memory patches applied
 * on top of the pattern, and a sequence of instructions (the code bytes plus the offset, length
 * and kind of each instruction). The oracle runs the sequence one instruction at a time, always
 * from its own state after the previous instruction, and reports the state after every
 * instruction: registers, EFLAGS, EIP relative to the code base, the exception raised if any,
 * the x87/MMX state (an FSAVE image), and the bytes of the data region the instruction
 * changed. */
#ifndef BT86_ORACLE_PROTO_H
#define BT86_ORACLE_PROTO_H

#include <stdint.h>

#define ORC_MAGIC 0x3143524Fu /* "ORC1" */

/* Fixed guest addresses, identical natively and in the interpreter. The data region is exactly
 * one 64 KiB-aligned block, so every 16-bit offset through the LDT segment (base = the region)
 * lands inside it. */
#define ORC_DATA_BASE 0x00100000u
#define ORC_DATA_SIZE 0x00010000u
#define ORC_CODE_BASE 0x00200000u
#define ORC_CODE_SIZE 0x00001000u

/* LDT entry 0, RPL 3: a 64 KiB read/write data segment based at ORC_DATA_BASE. FS always holds
 * it; ES holds it in cases flagged ORC_CASE_ES_LDT (16-bit string destinations). */
#define ORC_LDT_SEL 0x0007u
#define ORC_FLAT_DS 0x002Bu /* Linux __USER_DS for 32-bit tasks */
#define ORC_FLAT_CS 0x0023u

#define ORC_MAX_INSNS 32
#define ORC_MAX_CODE 1024
#define ORC_MAX_PATCH 16

enum { ORC_INIT = 1, ORC_BATCH = 2, ORC_RESULTS = 3, ORC_QUIT = 4 };

struct orc_msg {
    uint32_t magic;
    uint32_t kind;
    uint32_t count; /* cases in a batch/results */
    uint32_t bytes; /* payload bytes after this header */
};

/* orc_case.flags */
#define ORC_CASE_ES_LDT 1u

struct orc_case {
    uint32_t regs[8]; /* EAX ECX EDX EBX ESP EBP ESI EDI */
    uint32_t eflags;
    uint32_t flags;
    uint32_t code_len;
    uint32_t n_insns;
    uint32_t n_patches;
    uint32_t pad;
    uint8_t fpu[108]; /* x87/MMX state loaded before the first instruction: FSAVE image,
                       * 32-bit protected-mode format */
    /* followed by n_insns x struct orc_insn, code bytes padded to 4, then n_patches x
     * (struct orc_patch + bytes padded to 4) */
};

/* orc_insn.kind */
#define ORC_K_LINEAR 0 /* continues at off + len: a direct jump back to the oracle follows */
#define ORC_K_BRANCH 1 /* may transfer control: every other byte of the page traps (INT3) */

struct orc_insn {
    uint16_t off;
    uint8_t len;
    uint8_t kind;
};

struct orc_patch {
    uint32_t off; /* offset in the data region */
    uint32_t len;
};

/* Per case in ORC_RESULTS: a count, then that many steps. */
struct orc_case_res {
    uint32_t n_steps;
    uint32_t status; /* 0, or ORC_ST_* explaining why the sequence stopped early */
};

enum { ORC_ST_OK = 0, ORC_ST_LOST = 1 /* EIP left the instruction boundaries */,
       ORC_ST_TIMEOUT = 2 };

struct orc_step {
    uint32_t insn;    /* index of the instruction executed */
    uint32_t regs[8];
    uint32_t eflags;
    uint32_t eip;     /* relative to ORC_CODE_BASE: after it, or at it when it faulted */
    int32_t vector;   /* -1: no exception */
    uint32_t err;     /* error code (REG_ERR) */
    uint32_t cr2;     /* fault address for #PF */
    uint32_t flags;   /* ORC_STEP_* */
    uint32_t n_diffs; /* followed by n_diffs x (struct orc_patch + bytes padded to 4) */
    uint8_t fpu[108]; /* x87/MMX state after it (at the fault for an exception), FSAVE image */
};

/* orc_step.flags: the step ended in a signal, so the x87 state is the kernel's copy, whose
 * FIP/FCS/FOP/FDP/FDS are not the processor's. */
#define ORC_STEP_FPU_PTRS_UNRELIABLE 1u

_Static_assert(sizeof(struct orc_msg) == 16, "orc_msg layout");
_Static_assert(sizeof(struct orc_case) == 164, "orc_case layout");
_Static_assert(sizeof(struct orc_insn) == 4, "orc_insn layout");
_Static_assert(sizeof(struct orc_patch) == 8, "orc_patch layout");
_Static_assert(sizeof(struct orc_case_res) == 8, "orc_case_res layout");
_Static_assert(sizeof(struct orc_step) == 172, "orc_step layout");

static inline uint32_t orc_pad4(uint32_t n) { return (n + 3u) & ~3u; }

#endif
