/* IN and OUT. The string forms INS/OUTS live with the other string instructions. */
#include "cpu/exec_port.h"
#include "cpu/mem.h"

static uint16_t insn_port(const struct cpu *c, const struct insn *i)
{
    return i->form == FORM_DX ? (uint16_t)c->regs[R_EDX] : (uint16_t)(i->imm & 0xFF);
}

void exec_IN(struct cpu *c, const struct insn *i)
{
    uint16_t port = insn_port(c, i);
    port_check(c, port, i->osize);
    reg_set(c, R_EAX, i->osize, port_read(c, port, i->osize));
}

void exec_OUT(struct cpu *c, const struct insn *i)
{
    uint16_t port = insn_port(c, i);
    port_check(c, port, i->osize);
    port_write(c, port, reg_get(c, R_EAX, i->osize), i->osize);
}
