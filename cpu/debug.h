/* Debug registers DR0-DR7: instruction, data and I/O breakpoints, general detect, and the
 * #DB traps (SDM vol. 3, chapter 17).
 *
 * The fast paths (TLB hit, cached instruction) test nothing; the rest tests cpu->dbg_armed:
 * - instruction breakpoints: the interpreter never caches a decoded instruction that starts on
 *   an enabled breakpoint address, so only its slow fetch (which runs for that address every
 *   time) checks;
 * - data breakpoints: translate() installs no read/write TLB tags for a linear page holding an
 *   enabled data breakpoint, so accesses to it take the slow path, which checks;
 * - traps found during an instruction (data/I-O breakpoints, the TSS T bit) collect in
 *   cpu->dbg_pending and raise INHIBIT_DBG_PENDING, which the run loop already tests before
 *   every instruction; the #DB is delivered at that boundary, or merged with the single-step
 *   trap into one #DB.
 * Whoever changes DR7, DR0-DR3 or CR4.DE other than through dbg_write_dr() (task switch, state
 * restore) must call dbg_update(). */
#ifndef BT86_CPU_DEBUG_H
#define BT86_CPU_DEBUG_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* DR6 status bits (set by the processor, cleared only by software). */
#define DR6_B(n) (1u << (n))
#define DR6_BD 0x2000u
#define DR6_BS 0x4000u
#define DR6_BT 0x8000u
#define DR6_FIXED1 0xFFFF0FF0u /* reads as 1 on P6 */
#define DR6_WRITABLE 0x0000E00Fu

#define DR7_GD 0x2000u
#define DR7_FIXED1 0x00000400u
#define DR7_WRITABLE 0xFFFF2FFFu

/* cpu->dbg_armed: the kinds of breakpoint DR7 currently enables. */
#define DBG_INSN 1u
#define DBG_DATA 2u
#define DBG_IO 4u /* R/W = 10 with CR4.DE */

/* MOV to DRn (n already resolved from the DR4/DR5 aliases): masks reserved bits and keeps the
 * TLB and decoded-instruction cache consistent with the new breakpoints. */
void dbg_write_dr(struct cpu *c, unsigned n, uint32_t v);
/* Recompute cpu->dbg_armed and drop the translations the enabled breakpoints must watch. */
void dbg_update(struct cpu *c);

/* DR7.GD set: any MOV to or from a debug register is a #DB fault with DR6.BD. */
static inline void dbg_check_gd(struct cpu *c)
{
    if (c->dr[7] & DR7_GD) {
        c->dr[6] |= DR6_BD;
        cpu_fault(c, EXC_DB);
    }
}

/* Whether an enabled instruction breakpoint is set on linear address `lin`. */
bool dbg_insn_bp_at(const struct cpu *c, uint32_t lin);
/* Before the instruction at `lin` executes: #DB fault when an instruction breakpoint matches
 * and EFLAGS.RF does not suppress it. Call only when c->dbg_armed & DBG_INSN. */
void dbg_check_insn(struct cpu *c, uint32_t lin);

/* A completed data access (slow path only; call when c->dbg_armed & DBG_DATA). */
void dbg_check_data(struct cpu *c, uint32_t lin, unsigned size, bool write);
/* An I/O port access (call when c->dbg_armed & DBG_IO). */
void dbg_check_io(struct cpu *c, uint16_t port, unsigned size);
/* translate() hook: strip the tags an enabled data breakpoint on this page forbids. */
void dbg_filter_tlb(const struct cpu *c, struct tlb_entry *e, uint32_t page);

/* Queue a #DB trap (DR6 bits) for the end of the current instruction. */
static inline void dbg_queue_trap(struct cpu *c, uint32_t dr6_bits)
{
    c->dbg_pending |= (uint16_t)dr6_bits;
    c->inhibit_irq |= INHIBIT_DBG_PENDING;
}

/* Deliver one #DB trap now with `dr6_bits` plus whatever is pending, EIP/ESP already past the
 * instruction. Returns true when the run loop must stop (cpu->stop_on_exception). */
bool dbg_trap(struct cpu *c, uint32_t dr6_bits);
/* The run loop at an instruction boundary with a trap pending and cpu->inhibit_irq set:
 * delivers it, or behind MOV SS/POP SS keeps it for one more instruction. Returns true when
 * the run loop must stop. */
bool dbg_boundary(struct cpu *c);

#endif
