/* x87 loads, stores and exchanges of ordinary values done on the saved state, without the
 * host x87 (cpu/x87_moves.c). Each returns false, having changed nothing, when the operation
 * needs the host path; on true the caller records the pointers and clears C1. */
#ifndef BT86_X87_MOVES_H
#define BT86_X87_MOVES_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* Register forms: `op` is the opcode - D8h, `m` the ModRM byte & 3Fh. */
bool x87_move_reg(struct cpu *c, unsigned op, unsigned m);
/* Memory loads (FLD, FILD) from the operand bytes already read into `buf`. */
bool x87_move_load(struct cpu *c, unsigned op, unsigned reg, const uint8_t *buf);
/* Memory stores (FSTP m80): the bytes to write into `buf`. */
bool x87_move_store(struct cpu *c, unsigned op, unsigned reg, uint8_t *buf);

#endif
