/* Port I/O from the handlers of IN/OUT (cpu/exec_io.c) and INS/OUTS (cpu/exec_string.c):
 * the permission check and the bus access with its "nothing attached" defaults. */
#ifndef BT86_EXEC_PORT_H
#define BT86_EXEC_PORT_H

#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/flags.h"

/* #GP(0) unless the access is allowed: free in real mode and at CPL <= IOPL; otherwise (and
 * always in v8086 mode) the TSS I/O bitmap decides. */
static inline void port_check(struct cpu *c, uint16_t port, unsigned size)
{
    if (!cpu_protected(c))
        return;
    if (!cpu_v86(c) && c->cpl <= ((c->eflags & FL_IOPL) >> 12))
        return;
    if (!cpu_io_allowed(c, port, size))
        cpu_fault_err(c, EXC_GP, 0);
}

static inline uint32_t port_read(struct cpu *c, uint16_t port, unsigned size)
{
    if (__builtin_expect(c->dbg_armed & DBG_IO, 0))
        dbg_check_io(c, port, size);
    if (!c->bus.port_in)
        return size_mask(size); /* floating bus */
    return c->bus.port_in(c->bus.opaque, port, size) & size_mask(size);
}

static inline void port_write(struct cpu *c, uint16_t port, uint32_t v, unsigned size)
{
    if (__builtin_expect(c->dbg_armed & DBG_IO, 0))
        dbg_check_io(c, port, size);
    if (c->bus.port_out)
        c->bus.port_out(c->bus.opaque, port, v & size_mask(size), size);
}

#endif
