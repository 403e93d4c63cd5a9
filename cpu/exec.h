/* Interpreter handlers: one per enum insn_op, named exec_<OP>, grouped by theme in cpu/exec_*.c.
 * A handler runs with cpu->eip already pointing past the instruction and cpu->insn_eip at it;
 * it may raise faults at any point before it changes architectural state. */
#ifndef BT86_EXEC_H
#define BT86_EXEC_H

#include "cpu/cpu.h"
#include "cpu/insn.h"

typedef void (*exec_fn)(struct cpu *c, const struct insn *i);

#define EXEC_DECL(name) void exec_##name(struct cpu *c, const struct insn *i);
INSN_OPS(EXEC_DECL)
#undef EXEC_DECL

extern const exec_fn exec_table[OP_COUNT];
/* The handler to cache for a decoded instruction: a specialised one for common shapes
 * (cpu/exec_fast.c), else exec_table[i->op]. */
exec_fn exec_fast_handler(const struct insn *i);

/* Protected-mode pieces (cpu/protmode.c). The handlers do real/v8086 mode themselves and call
 * these when CR0.PE is set and EFLAGS.VM is clear. */
void cpu_load_seg_protected(struct cpu *c, int sreg, uint16_t sel);
void cpu_deliver_protected(struct cpu *c, int vector, bool soft, uint32_t error_code,
                           bool has_error);
void cpu_far_jump_protected(struct cpu *c, uint16_t sel, uint32_t off, unsigned osize);
void cpu_far_call_protected(struct cpu *c, uint16_t sel, uint32_t off, unsigned osize);
void cpu_far_ret_protected(struct cpu *c, unsigned osize, uint16_t pop_bytes);
void cpu_iret_protected(struct cpu *c, unsigned osize);
/* I/O permission: true if the access may proceed (IOPL, or the TSS I/O bitmap). */
bool cpu_io_allowed(struct cpu *c, uint16_t port, unsigned size);

#endif
