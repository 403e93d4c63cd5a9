/* Guest memory access from the CPU: segmentation, then the shadow TLB.
 *
 * Fast path: segment range/rights compare, TLB tag compare, host load. Everything else (TLB miss,
 * page-crossing access, MMIO, ROM writes, write-watched code pages) goes out of line to
 * cpu/mem.c, which raises the architectural fault when there is one. */
#ifndef BT86_CPU_MEM_H
#define BT86_CPU_MEM_H

#include <string.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* Privilege used for a linear access: user when CPL = 3, except implicit system accesses. */
enum { PRIV_SUPER = 0, PRIV_USER = 1 };
static inline unsigned cpu_priv(const struct cpu *c) { return c->cpl == 3; }

uint32_t lin_read_slow(struct cpu *c, uint32_t lin, unsigned size, unsigned kind, unsigned priv);
void lin_write_slow(struct cpu *c, uint32_t lin, uint32_t v, unsigned size, unsigned priv);
_Noreturn void seg_limit_fault(struct cpu *c, int sreg);

static inline uint32_t host_load(const uint8_t *p, unsigned size)
{
    if (size == 1)
        return *p;
    if (size == 2) {
        uint16_t v;
        memcpy(&v, p, 2);
        return v;
    }
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void host_store(uint8_t *p, uint32_t v, unsigned size)
{
    if (size == 1)
        *p = (uint8_t)v;
    else if (size == 2) {
        uint16_t w = (uint16_t)v;
        memcpy(p, &w, 2);
    } else
        memcpy(p, &v, 4);
}

static inline uint32_t lin_read_priv(struct cpu *c, uint32_t lin, unsigned size, unsigned priv)
{
    const struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    if (likely(e->tag[TLB_READ] == (lin & PAGE_MASK) && (lin & ~PAGE_MASK) <= PAGE_SIZE - size))
        return host_load((const uint8_t *)(uintptr_t)(lin + e->addend), size);
    return lin_read_slow(c, lin, size, TLB_READ, priv);
}

static inline void lin_write_priv(struct cpu *c, uint32_t lin, uint32_t v, unsigned size,
                                  unsigned priv)
{
    const struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    if (likely(e->tag[TLB_WRITE] == (lin & PAGE_MASK) && (lin & ~PAGE_MASK) <= PAGE_SIZE - size)) {
        host_store((uint8_t *)(uintptr_t)(lin + e->addend), v, size);
        return;
    }
    lin_write_slow(c, lin, v, size, priv);
}

static inline uint32_t lin_read(struct cpu *c, uint32_t lin, unsigned size)
{
    return lin_read_priv(c, lin, size, cpu_priv(c));
}
static inline void lin_write(struct cpu *c, uint32_t lin, uint32_t v, unsigned size)
{
    lin_write_priv(c, lin, v, size, cpu_priv(c));
}

/* Segment check: returns the linear address or raises #GP(0)/#SS(0). */
static inline uint32_t seg_linear(struct cpu *c, int sreg, uint32_t off, unsigned size,
                                  unsigned rights)
{
    const struct seg *s = &c->seg[sreg];
    uint32_t last = off + size - 1;
    if (unlikely(!(s->rights & rights) || off < s->valid_lo || last > s->valid_hi || last < off))
        seg_limit_fault(c, sreg);
    return s->base + off;
}

/* #AC(0) for a misaligned access of a power-of-two size while alignment checking is on. The
 * flag is precomputed, so the fast path pays one predictable branch. */
static inline void align_check(struct cpu *c, uint32_t lin, unsigned size)
{
    if (unlikely(c->align_check) && (size & (size - 1)) == 0 && size <= 8 && (lin & (size - 1)))
        cpu_fault_err(c, EXC_AC, 0);
}

static inline uint32_t mem_read(struct cpu *c, int sreg, uint32_t off, unsigned size)
{
    uint32_t lin = seg_linear(c, sreg, off, size, SEGR_READ);
    align_check(c, lin, size);
    return lin_read(c, lin, size);
}

static inline void mem_write(struct cpu *c, int sreg, uint32_t off, uint32_t v, unsigned size)
{
    uint32_t lin = seg_linear(c, sreg, off, size, SEGR_WRITE);
    align_check(c, lin, size);
    lin_write(c, lin, v, size);
}

/* Check that a write of `size` bytes at sreg:off would succeed (segment and page), without
 * writing: multi-part instructions probe before they change any state. The fast path is a TLB
 * write hit within one page (every read-modify-write instruction probes, so this is hot). */
void mem_probe_write_slow(struct cpu *c, uint32_t lin, unsigned size, unsigned priv);
static inline void mem_probe_write(struct cpu *c, int sreg, uint32_t off, unsigned size)
{
    uint32_t lin = seg_linear(c, sreg, off, size, SEGR_WRITE);
    align_check(c, lin, size); /* callers probe one access at a time, or multi-slot sizes */
    unsigned priv = cpu_priv(c);
    const struct tlb_entry *e = &c->tlb.e[priv][tlb_index(lin)];
    if (likely(e->tag[TLB_WRITE] == (lin & PAGE_MASK) && (lin & ~PAGE_MASK) <= PAGE_SIZE - size))
        return;
    mem_probe_write_slow(c, lin, size, priv);
}

/* Effective address of the memory operand, wrapped to the address size. */
static inline uint32_t insn_ea(const struct cpu *c, const struct insn *i)
{
    uint32_t ea = (uint32_t)i->disp;
    if (i->base != INSN_NO_REG)
        ea += c->regs[i->base];
    if (i->index != INSN_NO_REG)
        ea += c->regs[i->index] << i->scale;
    return i->asize == 2 ? ea & 0xFFFF : ea;
}

/* Offset of the second part of a two-part memory operand (far pointer, BOUND limits): the
 * offset arithmetic wraps at the address size, as the host CPU does. */
static inline uint32_t second_part(const struct insn *i, uint32_t ea)
{
    uint32_t off = ea + i->osize;
    return i->asize == 2 ? off & 0xFFFF : off;
}

/* General registers by operand size: 8-bit numbers 4..7 are AH, CH, DH, BH. */
static inline uint32_t reg_get(const struct cpu *c, unsigned r, unsigned size)
{
    if (size == 4)
        return c->regs[r];
    if (size == 2)
        return c->regs[r] & 0xFFFF;
    return r < 4 ? c->regs[r] & 0xFF : (c->regs[r - 4] >> 8) & 0xFF;
}

static inline void reg_set(struct cpu *c, unsigned r, unsigned size, uint32_t v)
{
    if (size == 4)
        c->regs[r] = v;
    else if (size == 2)
        c->regs[r] = (c->regs[r] & 0xFFFF0000u) | (v & 0xFFFF);
    else if (r < 4)
        c->regs[r] = (c->regs[r] & 0xFFFFFF00u) | (v & 0xFF);
    else
        c->regs[r - 4] = (c->regs[r - 4] & 0xFFFF00FFu) | ((v & 0xFF) << 8);
}

/* The E operand (register or memory) of size i->osize. */
static inline uint32_t e_read(struct cpu *c, const struct insn *i)
{
    if (i->flags & INSN_F_MEM)
        return mem_read(c, i->seg, insn_ea(c, i), i->osize);
    return reg_get(c, i->rm, i->osize);
}

static inline void e_write(struct cpu *c, const struct insn *i, uint32_t v)
{
    if (i->flags & INSN_F_MEM)
        mem_write(c, i->seg, insn_ea(c, i), v, i->osize);
    else
        reg_set(c, i->rm, i->osize, v);
}

/* Stack: SS with SP or ESP by SS.B. */
static inline uint32_t sp_mask(const struct cpu *c) { return c->stack32 ? 0xFFFFFFFFu : 0xFFFFu; }

static inline void set_sp(struct cpu *c, uint32_t v)
{
    if (c->stack32)
        c->regs[R_ESP] = v;
    else
        c->regs[R_ESP] = (c->regs[R_ESP] & 0xFFFF0000u) | (v & 0xFFFF);
}

static inline void push(struct cpu *c, uint32_t v, unsigned size)
{
    uint32_t sp = (c->regs[R_ESP] - size) & sp_mask(c);
    mem_write(c, SR_SS, sp, v, size);
    set_sp(c, sp);
}

static inline uint32_t pop(struct cpu *c, unsigned size)
{
    uint32_t sp = c->regs[R_ESP] & sp_mask(c);
    uint32_t v = mem_read(c, SR_SS, sp, size);
    set_sp(c, sp + size);
    return v;
}

/* Read without popping, at `offset` bytes above the stack pointer. */
static inline uint32_t stack_peek(struct cpu *c, uint32_t offset, unsigned size)
{
    return mem_read(c, SR_SS, (c->regs[R_ESP] + offset) & sp_mask(c), size);
}

/* Transfer control within CS: checks the limit, #GP(0) beyond it. */
static inline void jump_near(struct cpu *c, uint32_t target)
{
    if (unlikely(target > c->seg[SR_CS].limit))
        cpu_fault_err(c, EXC_GP, 0);
    c->eip = target;
}

#endif
