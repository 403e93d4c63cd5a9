/* Read-modify-write access to the E operand, shared by the ALU, shift and bit handlers.
 *
 * A memory destination is checked for writing before it is read, as the hardware does for its
 * read-with-write-intent access: a read-only page faults with the W bit set in the #PF error
 * code even though the value was never stored. The write itself comes last, so nothing visible
 * changes before the last access that can fault. */
#ifndef BT86_EXEC_RMW_H
#define BT86_EXEC_RMW_H

#include "cpu/mem.h"

struct rmw {
    uint32_t ea; /* effective address, computed once: the write must not re-read base/index */
};

static inline uint32_t rmw_read(struct cpu *c, const struct insn *i, struct rmw *a)
{
    if (i->flags & INSN_F_MEM) {
        a->ea = insn_ea(c, i);
        mem_probe_write(c, i->seg, a->ea, i->osize);
        return mem_read(c, i->seg, a->ea, i->osize);
    }
    a->ea = 0;
    return reg_get(c, i->rm, i->osize);
}

static inline void rmw_write(struct cpu *c, const struct insn *i, const struct rmw *a, uint32_t v)
{
    if (i->flags & INSN_F_MEM)
        mem_write(c, i->seg, a->ea, v, i->osize);
    else
        reg_set(c, i->rm, i->osize, v);
}

/* Sign-extend a value of `size` bytes to 32 bits. */
static inline int32_t sext(uint32_t v, unsigned size)
{
    if (size == 1)
        return (int8_t)v;
    if (size == 2)
        return (int16_t)v;
    return (int32_t)v;
}

#endif
