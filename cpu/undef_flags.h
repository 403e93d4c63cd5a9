/* The one table of flags the architecture leaves undefined after an instruction. Tests that
 * compare against another CPU (the host, the 80286 corpus) mask exactly these bits. */
#ifndef BT86_UNDEF_FLAGS_H
#define BT86_UNDEF_FLAGS_H

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* EFLAGS bits whose value after `i` is undefined, given the state *before* it executed (some
 * depend on the shift count in CL or on the operand). */
uint32_t insn_undefined_flags(const struct insn *i, const struct cpu *before);

#endif
