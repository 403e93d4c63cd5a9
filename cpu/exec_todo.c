/* DEVELOPMENT SCAFFOLD, removed before the CPU-core work is submitted: weak #UD defaults so
 * each handler group can be built and tested while the others are written. */
#include "cpu/exec.h"

#define EXEC_WEAK(name) \
    __attribute__((weak)) void exec_##name(struct cpu *c, const struct insn *i) \
    { (void)i; cpu_fault(c, EXC_UD); }
INSN_OPS(EXEC_WEAK)
#undef EXEC_WEAK
