/* Architectural state of the virtual i686 and the interface the rest of the VMM uses.
 *
 * The struct is plain data with stable offsets (DESIGN decision 2): the translator addresses
 * registers, lazy flags and the TLB relative to a pinned pointer to it. Arithmetic flags are
 * lazy: see cpu/flags.h. */
#ifndef BT86_CPU_H
#define BT86_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmu/memmap.h"
#include "mmu/tlb.h"

enum { R_EAX, R_ECX, R_EDX, R_EBX, R_ESP, R_EBP, R_ESI, R_EDI };
enum { SR_ES, SR_CS, SR_SS, SR_DS, SR_FS, SR_GS, SR_COUNT };

/* EFLAGS */
#define FL_CF 0x00000001u
#define FL_PF 0x00000004u
#define FL_AF 0x00000010u
#define FL_ZF 0x00000040u
#define FL_SF 0x00000080u
#define FL_TF 0x00000100u
#define FL_IF 0x00000200u
#define FL_DF 0x00000400u
#define FL_OF 0x00000800u
#define FL_IOPL 0x00003000u
#define FL_NT 0x00004000u
#define FL_RF 0x00010000u
#define FL_VM 0x00020000u
#define FL_AC 0x00040000u
#define FL_VIF 0x00080000u
#define FL_VIP 0x00100000u
#define FL_ID 0x00200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)
#define FL_FIXED1 0x00000002u /* bit 1 always reads as 1 */

/* CR0 / CR4 */
#define CR0_PE 0x00000001u
#define CR0_MP 0x00000002u
#define CR0_EM 0x00000004u
#define CR0_TS 0x00000008u
#define CR0_ET 0x00000010u
#define CR0_NE 0x00000020u
#define CR0_WP 0x00010000u
#define CR0_AM 0x00040000u
#define CR0_NW 0x20000000u
#define CR0_CD 0x40000000u
#define CR0_PG 0x80000000u
#define CR4_VME 0x0001u
#define CR4_PVI 0x0002u
#define CR4_TSD 0x0004u
#define CR4_DE 0x0008u
#define CR4_PSE 0x0010u
#define CR4_PGE 0x0080u
#define CR4_PCE 0x0100u

/* Exception vectors */
enum {
    EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5, EXC_UD = 6,
    EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12, EXC_GP = 13, EXC_PF = 14,
    EXC_MF = 16, EXC_AC = 17, EXC_MC = 18,
};

/* Hidden part of a segment register. `attr` holds the descriptor's high dword masked with
 * 0x00F0FF00 (type, S, DPL, P, AVL, D/B, G), which is exactly what LAR reports. */
#define SEG_ATTR_MASK 0x00F0FF00u
#define SEG_P (1u << 15)
#define SEG_S (1u << 12)
#define SEG_DB (1u << 22)
#define SEG_G (1u << 23)
#define SEG_DPL(attr) (((attr) >> 13) & 3u)
#define SEG_TYPE(attr) (((attr) >> 8) & 15u)

/* Rights precomputed at load so the access fast path is a range compare. */
#define SEGR_READ 1u
#define SEGR_WRITE 2u
/* Readable, writable, base 0 and every 32-bit offset valid: translated code skips the range
 * checks (only the 4 GiB wrap remains). Derived in seg_set_rights() with the others. */
#define SEGR_FLAT 4u

struct seg {
    uint32_t base;
    uint32_t limit;   /* effective byte limit from the descriptor */
    uint32_t valid_lo; /* lowest valid offset (expand-down: limit + 1) */
    uint32_t valid_hi; /* highest valid offset */
    uint32_t attr;
    uint16_t sel;
    uint8_t rights;   /* SEGR_* */
    uint8_t pad;
};

struct dtr {
    uint32_t base;
    uint32_t limit;
};

/* Interrupt shadows (cpu->inhibit_irq). STI holds off maskable interrupts for one
 * instruction; MOV SS and POP SS also hold off NMI and the single-step trap. */
#define INHIBIT_IRQ 1u
#define INHIBIT_DEBUG 2u
#define INHIBIT_SS (INHIBIT_IRQ | INHIBIT_DEBUG)
/* Not a shadow: a #DB trap waits in cpu->dbg_pending (cpu/debug.h). It rides in this byte so
 * the run loop's existing event test sees it for free; keep the bit when resetting shadows. */
#define INHIBIT_DBG_PENDING 4u

/* Why cpu_run() returned. */
enum cpu_exit {
    CPU_EXIT_LIMIT = 0,     /* instruction budget used up */
    CPU_EXIT_HLT,           /* HLT with nothing to wake it (or cpu->exit_on_hlt) */
    CPU_EXIT_EXCEPTION,     /* an exception listed in cpu->stop_on_exception was raised */
    CPU_EXIT_SHUTDOWN,      /* triple fault */
    CPU_EXIT_STOP,          /* cpu_request_stop() */
};

/* Port I/O and interrupt acknowledge are supplied by the machine layer. */
struct cpu_bus {
    void *opaque;
    uint32_t (*port_in)(void *opaque, uint16_t port, unsigned size);
    void (*port_out)(void *opaque, uint16_t port, uint32_t value, unsigned size);
    int (*intr_ack)(void *opaque); /* vector of the pending maskable interrupt, or -1 */
    /* The local APIC, if the board has one: WRMSR IA32_APIC_BASE hands it the value (reserved
     * bits already refused) and stores what it returns. NULL: no APIC, and CPUID says so. */
    uint64_t (*apic_base_write)(void *opaque, uint64_t value);
    void *apic_opaque;
};

struct icache;

/* x87 register: 64-bit significand (explicit integer bit) and sign+exponent. MMX register i is
 * the significand of physical register i. */
struct fpreg {
    uint64_t mant;
    uint16_t sexp;
    uint16_t pad[3];
};

/* x87/MMX state (cpu/fpu.h). Registers are indexed physically; ST(i) is r[(top + i) & 7]. */
struct x87 {
    struct fpreg r[8];
    uint16_t cw;
    uint16_t sw;       /* with TOP in bits 11-13; ES/B follow the unmasked exception flags */
    uint8_t tag_valid; /* abridged tag: bit i set = physical register i is not empty */
    bool ferr;         /* FERR# asserted (NE = 0: IRQ 13 on the PC) */
    bool ignne;        /* IGNNE# asserted (port F0 written while FERR# was asserted) */
    uint8_t pad0;
    uint16_t fop;      /* last non-control opcode, 11 bits */
    uint16_t fcs, fds;
    uint16_t pad1;
    uint32_t fip, fdp;
};

struct cpu;
struct iblock;

/* A block engine that runs formed blocks instead of the interpreter's loop (the translator).
 * `translate` returns host code for the block starting at `eip`, or NULL to keep interpreting
 * it; code is valid while *gen equals the generation recorded with it. */
typedef void (*cpu_host_block)(struct cpu *c);
struct cpu_block_engine {
    void *ctx;
    const uint32_t *gen;
    uint32_t hot_runs; /* runs by the interpreter before a block is translated (1: at once) */
    cpu_host_block (*translate)(void *ctx, struct cpu *c, struct iblock *b, uint32_t eip);
    /* Optional: run the block itself (compare mode); false lets the interpreter run it. */
    bool (*run)(void *ctx, struct cpu *c, struct iblock *b, uint32_t eip);
    /* Optional: make the exit `site` of the last host block jump straight to block `b`. */
    void (*chain)(void *ctx, struct cpu *c, void *site, struct iblock *b);
};

struct cpu {
    /* ---- hot state: generated code addresses these by offset ---- */
    uint32_t regs[8];
    uint32_t eip;
    uint32_t eflags;  /* arithmetic bits are stale while lf_op != LF_NONE */
    uint32_t lf_op;   /* lazy-flags operation, see cpu/flags.h */
    uint32_t lf_res;  /* result, truncated to the operation size */
    uint32_t lf_a;    /* first operand */
    uint32_t lf_b;    /* second operand */
    uint32_t align_check; /* CR0.AM && EFLAGS.AC && CPL 3: misaligned data accesses raise #AC */
    struct seg seg[SR_COUNT];
    struct tlb tlb;

    /* ---- system state ---- */
    struct dtr gdtr, idtr;
    struct seg ldtr, tr;
    uint32_t cr0, cr2, cr3, cr4;
    uint32_t dr[8];
    uint16_t dbg_pending; /* DR6 bits of the #DB trap due at the next boundary (cpu/debug.h) */
    uint8_t dbg_armed;    /* DBG_* kinds of breakpoint DR7 enables, kept by dbg_update() */
    uint8_t cpl;
    bool code32;      /* CS.D: default operand/address size of the code */
    bool stack32;     /* SS.B: ESP (not SP) is the stack pointer */
    /* What the run loop must look at between instructions, readable as one word so the
     * per-instruction test is one load: `events` is nonzero when any of these is set. */
    union {
        struct {
            bool halted;
            bool intr_line;   /* INTR asserted by the interrupt controller */
            bool nmi_pending;
            uint8_t inhibit_irq; /* INHIBIT_* shadow bits, cleared after the next instruction */
            volatile bool stop_requested;
            uint8_t events_pad[3];
        };
        uint64_t events;
    };
    uint32_t a20_mask;   /* 0xFFFFFFFF, or 0xFFEFFFFF with A20 gated off */

    /* MSRs */
    uint64_t tsc_offset;
    uint32_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t apic_base;
    uint64_t mtrr_var[16];    /* PHYSBASE/PHYSMASK pairs 0x200-0x20F */
    uint64_t mtrr_fixed[11];  /* 0x250, 0x258, 0x259, 0x268-0x26F */
    uint64_t mtrr_def_type;   /* 0x2FF */
    uint64_t bios_sign_id;    /* 0x8B: microcode revision */

    /* ---- execution bookkeeping ---- */
    uint64_t icount;       /* retired instructions */
    uint64_t icount_end;   /* cpu_run()'s budget end: chained host blocks stop before it */
    void *chain_site;      /* exit of the last host block that may be chained (see translator/) */
    uint32_t chain_lin;    /* ... and the linear address it leads to */
    uint32_t insn_eip;     /* EIP of the instruction being executed, for precise faults */
    uint32_t insn_esp;     /* ESP at its start: restored when it faults */
    uint32_t stop_on_exception; /* bitmask of vectors that make cpu_run() return instead */
    bool exit_on_hlt;
    bool shutdown;         /* the machine must reset: triple fault or unrecoverable state */
    int exc_vector;        /* last exception raised (for CPU_EXIT_EXCEPTION), -1 if none */
    uint32_t exc_error;
    bool exc_has_error;
    bool exc_trap;         /* the stop was a trap: EIP/ESP are already past the instruction */
    bool fault_rf;         /* delivering a fault: the pushed EFLAGS image has RF set */
    int fault_depth;       /* 0 normally; 1 while delivering a fault (double-fault logic) */
    jmp_buf *exc_jmp;      /* where cpu_raise() unwinds to; set by cpu_run() */

    struct memmap *mem;
    struct cpu_bus bus;
    struct icache *icache; /* decoded-instruction cache of the interpreter */
    struct cpu_block_engine *engine; /* NULL: interpret every block */

    /* ---- x87 FPU and MMX (cpu/fpu.h) ---- */
    struct x87 fpu;
    /* FERR# output: the PC routes it to IRQ 13. NULL: no FERR# wiring (errors are then
     * ignored, as with IGNNE# held asserted). */
    void (*ferr)(void *opaque, bool level);
    void *ferr_opaque;
};

/* Lifecycle */
int cpu_init(struct cpu *c, struct memmap *mem);
void cpu_destroy(struct cpu *c);
void cpu_reset(struct cpu *c); /* power-on state: real mode, CS:IP = F000:FFF0 */
enum cpu_exit cpu_run(struct cpu *c, uint64_t max_insns);
void cpu_request_stop(struct cpu *c);
void cpu_set_irq(struct cpu *c, bool level);
/* A write to port F0h: the chipset clears its FERR# latch and asserts IGNNE#. */
void cpu_fpu_ignne(struct cpu *c);

/* Raise a fault or abort: unwinds the current instruction (EIP and ESP restored to its start)
 * and delivers the exception. Never returns. */
_Noreturn void cpu_raise(struct cpu *c, int vector, uint32_t error_code, bool has_error);
static inline _Noreturn void cpu_fault(struct cpu *c, int vector) { cpu_raise(c, vector, 0, false); }
static inline _Noreturn void cpu_fault_err(struct cpu *c, int vector, uint32_t err) { cpu_raise(c, vector, err, true); }

/* Deliver an interrupt or exception now (used by INT n/INT3/INTO and by the run loop).
 * `soft` marks INT n (pushes the next EIP and, in protected mode, checks gate DPL). */
void cpu_deliver(struct cpu *c, int vector, bool soft, uint32_t error_code, bool has_error);

/* Segment register load in the current mode (real/v8086: base = sel << 4). */
void cpu_load_seg(struct cpu *c, int sreg, uint16_t sel);
/* Set a segment register's hidden cache directly (reset, tests, loaders). */
void cpu_set_seg_cache(struct cpu *c, int sreg, uint16_t sel, uint32_t base, uint32_t limit,
                       uint32_t attr);
/* Refresh derived fields (code32, stack32, cpl) after CS/SS or CR0 changes. */
void cpu_update_mode(struct cpu *c);

/* Full EFLAGS with lazy arithmetic flags materialised; and its inverse. */
uint32_t cpu_get_eflags(struct cpu *c);
void cpu_set_eflags(struct cpu *c, uint32_t value); /* raw: no privilege checks */

/* Flush everything derived from the address mapping (TLB and decoded instructions). */
void cpu_flush_tlb(struct cpu *c, bool keep_global);
/* Guest memory was written behind the CPU's back (a loader, a test): forget every decoded
 * instruction and block, not only the TLB (blocks outlive TLB flushes). */
void cpu_invalidate_code(struct cpu *c);

static inline bool cpu_protected(const struct cpu *c) { return c->cr0 & CR0_PE; }

/* Recompute after any change of CR0, EFLAGS or CPL. */
static inline void cpu_update_align_check(struct cpu *c)
{
    c->align_check = (c->cr0 & CR0_AM) && (c->eflags & FL_AC) && c->cpl == 3;
}
static inline bool cpu_v86(const struct cpu *c) { return c->eflags & FL_VM; }

#endif
