/* Hardware task switching (TSS-based), shared by far JMP/CALL, INT through task gates and IRET
 * with NT set. */
#ifndef BT86_TASK_H
#define BT86_TASK_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

enum task_switch_reason { TS_JMP, TS_CALL, TS_INT, TS_IRET };

/* Switch to the task whose TSS descriptor `tss_sel`/`tss_desc` names (already fetched; for
 * TS_IRET the back-link selector). Performs every check the SDM lists (#TS/#NP/#GP with the
 * right error codes), saves the current state into the old TSS, updates busy bits, NT and the
 * back-link by `reason`, loads the new state, sets CR0.TS, and for TS_INT pushes `error_code`
 * on the new task's stack when has_error. On return EIP is the new task's EIP. */
void cpu_task_switch(struct cpu *c, uint16_t tss_sel, uint64_t tss_desc,
                     enum task_switch_reason reason, bool has_error, uint32_t error_code);

#endif
