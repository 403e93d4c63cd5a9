/* System instructions: control and debug registers, descriptor tables, MSRs, CPUID, TSC,
 * SYSENTER/SYSEXIT. The x87/MMX/FXSR opcodes are in cpu/exec_x87.c and cpu/exec_mmx.c. */
#include "cpu/debug.h"
#include "cpu/desc.h"
#include "cpu/exec.h"
#include "cpu/flags.h"
#include "cpu/icache.h"
#include "cpu/mem.h"

/* Privileged instructions: CPL 0 in protected mode; v8086 mode counts as CPL 3. */
static void require_cpl0(struct cpu *c)
{
    if (cpu_protected(c) && c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
}

/* Instructions that exist only in protected mode (not real, not v8086). */
static void require_protected(struct cpu *c)
{
    if (!cpu_protected(c) || cpu_v86(c))
        cpu_fault(c, EXC_UD);
}

void exec_UD(struct cpu *c, const struct insn *i) { (void)i; cpu_fault(c, EXC_UD); }
void exec_UD2(struct cpu *c, const struct insn *i) { (void)i; cpu_fault(c, EXC_UD); }
void exec_RSM(struct cpu *c, const struct insn *i) { (void)i; cpu_fault(c, EXC_UD); }

/* ---- descriptor tables ---- */

static void store_dtr(struct cpu *c, const struct insn *i, const struct dtr *t)
{
    uint32_t ea = insn_ea(c, i);
    /* With a 16-bit operand size only 24 bits of base are stored; the top byte reads as 0. */
    uint32_t base = i->osize == 2 ? t->base & 0x00FFFFFFu : t->base;
    mem_probe_write(c, i->seg, ea, 6);
    mem_write(c, i->seg, ea, t->limit & 0xFFFF, 2);
    mem_write(c, i->seg, (ea + 2) & (i->asize == 2 ? 0xFFFF : 0xFFFFFFFFu), base, 4);
}

static void load_dtr(struct cpu *c, const struct insn *i, struct dtr *t)
{
    require_cpl0(c);
    if (cpu_v86(c))
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t ea = insn_ea(c, i);
    uint32_t limit = mem_read(c, i->seg, ea, 2);
    uint32_t base = mem_read(c, i->seg, (ea + 2) & (i->asize == 2 ? 0xFFFF : 0xFFFFFFFFu), 4);
    t->limit = limit;
    t->base = i->osize == 2 ? base & 0x00FFFFFFu : base;
}

void exec_SGDT(struct cpu *c, const struct insn *i) { store_dtr(c, i, &c->gdtr); }
void exec_SIDT(struct cpu *c, const struct insn *i) { store_dtr(c, i, &c->idtr); }
void exec_LGDT(struct cpu *c, const struct insn *i) { load_dtr(c, i, &c->gdtr); }
void exec_LIDT(struct cpu *c, const struct insn *i) { load_dtr(c, i, &c->idtr); }

/* SLDT/STR/SMSW to a register with 32-bit operand size write the whole register. */
static void store_word(struct cpu *c, const struct insn *i, uint32_t v)
{
    if (i->flags & INSN_F_MEM)
        mem_write(c, i->seg, insn_ea(c, i), v & 0xFFFF, 2);
    else
        reg_set(c, i->rm, i->osize, v);
}

void exec_SLDT(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    store_word(c, i, c->ldtr.sel);
}

void exec_STR(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    store_word(c, i, c->tr.sel);
}

void exec_SMSW(struct cpu *c, const struct insn *i)
{
    store_word(c, i, (i->flags & INSN_F_MEM) ? c->cr0 & 0xFFFF : c->cr0);
}

void exec_LLDT(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    require_cpl0(c);
    uint16_t sel = (uint16_t)e_read(c, i);
    if ((sel & 0xFFFC) == 0) {
        c->ldtr = (struct seg){0};
        c->ldtr.sel = sel;
        return;
    }
    uint64_t d;
    if ((sel & 4) || !desc_fetch(c, sel, &d))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    uint32_t hi = desc_hi(d);
    if ((hi & SEG_S) || SEG_TYPE(hi) != 2)
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    c->ldtr.sel = sel;
    c->ldtr.base = desc_base(d);
    c->ldtr.limit = desc_limit(d);
    c->ldtr.attr = hi & SEG_ATTR_MASK;
}

void exec_LTR(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    require_cpl0(c);
    uint16_t sel = (uint16_t)e_read(c, i);
    uint64_t d;
    if ((sel & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    if ((sel & 4) || !desc_fetch(c, sel, &d))
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    uint32_t hi = desc_hi(d);
    unsigned type = SEG_TYPE(hi);
    if ((hi & SEG_S) || (type != 1 && type != 9)) /* available 16- or 32-bit TSS */
        cpu_fault_err(c, EXC_GP, sel & 0xFFFC);
    if (!(hi & SEG_P))
        cpu_fault_err(c, EXC_NP, sel & 0xFFFC);
    hi |= 0x200; /* mark busy in the descriptor and in TR */
    lin_write_priv(c, desc_addr(c, sel) + 4, hi, 4, PRIV_SUPER);
    c->tr.sel = sel;
    c->tr.base = desc_base(d);
    c->tr.limit = desc_limit(d);
    c->tr.attr = hi & SEG_ATTR_MASK;
}

/* LAR/LSL/VERR/VERW: report through ZF whether the descriptor is visible at CPL and RPL. */
static bool desc_visible(struct cpu *c, uint16_t sel, uint64_t *d)
{
    if (!desc_fetch(c, sel, d))
        return false;
    uint32_t hi = desc_hi(*d);
    bool conforming_code = (hi & SEG_S) && (SEG_TYPE(hi) & 0xC) == 0xC;
    if (conforming_code)
        return true;
    unsigned dpl = SEG_DPL(hi);
    return dpl >= c->cpl && dpl >= (sel & 3u);
}

static void set_zf(struct cpu *c, bool z)
{
    flags_materialize(c);
    c->eflags = z ? c->eflags | FL_ZF : c->eflags & ~FL_ZF;
}

void exec_LAR(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint16_t sel = (uint16_t)(i->flags & INSN_F_MEM ? mem_read(c, i->seg, insn_ea(c, i), 2)
                                                    : reg_get(c, i->rm, 2));
    uint64_t d;
    bool ok = desc_visible(c, sel, &d);
    if (ok && !(desc_hi(d) & SEG_S)) {
        /* System types LAR accepts: TSS (avail/busy, 16/32), LDT, call and task gates. */
        static const bool valid[16] = {0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 0, 0};
        ok = valid[SEG_TYPE(desc_hi(d))];
    }
    if (ok)
        reg_set(c, i->reg, i->osize, desc_hi(d) & 0x00FFFF00u);
    set_zf(c, ok);
}

void exec_LSL(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint16_t sel = (uint16_t)(i->flags & INSN_F_MEM ? mem_read(c, i->seg, insn_ea(c, i), 2)
                                                    : reg_get(c, i->rm, 2));
    uint64_t d;
    bool ok = desc_visible(c, sel, &d);
    if (ok && !(desc_hi(d) & SEG_S)) {
        static const bool valid[16] = {0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0};
        ok = valid[SEG_TYPE(desc_hi(d))];
    }
    if (ok)
        reg_set(c, i->reg, i->osize, desc_limit(d));
    set_zf(c, ok);
}

static void verify(struct cpu *c, const struct insn *i, bool write)
{
    require_protected(c);
    uint16_t sel = (uint16_t)e_read(c, i);
    uint64_t d;
    bool ok = desc_visible(c, sel, &d) && (desc_hi(d) & SEG_S);
    if (ok) {
        unsigned type = SEG_TYPE(desc_hi(d));
        ok = write ? !(type & 8) && (type & 2) : !(type & 8) || (type & 2);
    }
    set_zf(c, ok);
}

void exec_VERR(struct cpu *c, const struct insn *i) { verify(c, i, false); }
void exec_VERW(struct cpu *c, const struct insn *i) { verify(c, i, true); }

void exec_ARPL(struct cpu *c, const struct insn *i)
{
    require_protected(c);
    uint32_t dst = e_read(c, i);
    uint32_t src = reg_get(c, i->reg, 2);
    bool adjust = (dst & 3) < (src & 3);
    if (adjust)
        e_write(c, i, (dst & ~3u) | (src & 3));
    set_zf(c, adjust);
}

/* ---- control and debug registers ---- */

void exec_LMSW(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    if (cpu_v86(c))
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t v = e_read(c, i) & 0xF;
    /* LMSW sets PE but never clears it. */
    uint32_t cr0 = (c->cr0 & ~0xEu) | (v & 0xE) | (c->cr0 & CR0_PE) | (v & CR0_PE);
    if ((cr0 ^ c->cr0) & CR0_PE) {
        c->cr0 = cr0;
        cpu_update_mode(c);
    } else {
        c->cr0 = cr0;
    }
}

void exec_CLTS(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    if (cpu_v86(c))
        cpu_fault_err(c, EXC_GP, 0);
    c->cr0 &= ~CR0_TS;
}

void exec_INVD(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_cpl0(c);
    if (cpu_v86(c))
        cpu_fault_err(c, EXC_GP, 0);
}

void exec_WBINVD(struct cpu *c, const struct insn *i) { exec_INVD(c, i); }

void exec_INVLPG(struct cpu *c, const struct insn *i)
{
    require_cpl0(c);
    if (cpu_v86(c))
        cpu_fault_err(c, EXC_GP, 0);
    uint32_t lin = c->seg[i->seg].base + insn_ea(c, i);
    tlb_flush_page(&c->tlb, lin);
    icache_new_epoch(c->icache); /* decoded instructions are keyed by linear address */
}

static void require_sys_register_access(struct cpu *c)
{
    if (cpu_v86(c))
        cpu_fault_err(c, EXC_GP, 0);
    require_cpl0(c);
}

void exec_MOV_FROM_CR(struct cpu *c, const struct insn *i)
{
    require_sys_register_access(c);
    uint32_t v;
    switch (i->reg) {
    case 0: v = c->cr0; break;
    case 2: v = c->cr2; break;
    case 3: v = c->cr3; break;
    default: v = c->cr4; break;
    }
    c->regs[i->rm] = v;
}

/* OSFXSR (bit 9): FXSR is implemented (no SSE state depends on it here). */
#define CR4_SUPPORTED (CR4_TSD | CR4_DE | CR4_PSE | CR4_PGE | CR4_PCE | 0x200u)

void exec_MOV_TO_CR(struct cpu *c, const struct insn *i)
{
    require_sys_register_access(c);
    uint32_t v = c->regs[i->rm];
    switch (i->reg) {
    case 0: {
        if ((v & CR0_PG) && !(v & CR0_PE))
            cpu_fault_err(c, EXC_GP, 0);
        if ((v & CR0_NW) && !(v & CR0_CD))
            cpu_fault_err(c, EXC_GP, 0);
        uint32_t old = c->cr0;
        c->cr0 = v | CR0_ET; /* ET is hardwired to 1 on P6 */
        /* Only PG and WP change what the TLB caches (translations and rights). PE does not:
         * without paging linear = physical either way, and decoded instructions are keyed by
         * code size and privilege. SeaBIOS toggles PE on every BIOS call. */
        if ((old ^ c->cr0) & (CR0_PG | CR0_WP))
            cpu_flush_tlb(c, false);
        if ((old ^ c->cr0) & CR0_PE)
            cpu_update_mode(c);
        cpu_update_align_check(c);
        break;
    }
    case 2: c->cr2 = v; break;
    case 3:
        c->cr3 = v & 0xFFFFF018u;
        cpu_flush_tlb(c, true);
        break;
    default: {
        if (v & ~CR4_SUPPORTED)
            cpu_fault_err(c, EXC_GP, 0);
        uint32_t old = c->cr4;
        c->cr4 = v;
        if ((old ^ v) & (CR4_PSE | CR4_PGE))
            cpu_flush_tlb(c, false);
        if ((old ^ v) & CR4_DE) /* I/O breakpoints exist only with DE */
            dbg_update(c);
        break;
    }
    }
}

static unsigned dr_index(struct cpu *c, unsigned n)
{
    if (n == 4 || n == 5) {
        if (c->cr4 & CR4_DE)
            cpu_fault(c, EXC_UD);
        return n + 2; /* aliases of DR6/DR7 without CR4.DE */
    }
    return n;
}

void exec_MOV_FROM_DR(struct cpu *c, const struct insn *i)
{
    require_sys_register_access(c);
    unsigned n = dr_index(c, i->reg);
    dbg_check_gd(c);
    c->regs[i->rm] = c->dr[n];
}

void exec_MOV_TO_DR(struct cpu *c, const struct insn *i)
{
    require_sys_register_access(c);
    unsigned n = dr_index(c, i->reg);
    dbg_check_gd(c);
    dbg_write_dr(c, n, c->regs[i->rm]);
}

/* ---- MSRs, TSC, CPUID ---- */

#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_APIC_BASE 0x1B
#define MSR_EBL_CR_POWERON 0x2A
#define MSR_BIOS_SIGN_ID 0x8B
#define MSR_MTRRCAP 0xFE
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MTRR_DEF_TYPE 0x2FF

static uint64_t tsc_now(const struct cpu *c) { return c->icount + c->tsc_offset; }

static uint64_t *fixed_mtrr(struct cpu *c, uint32_t msr)
{
    if (msr == 0x250)
        return &c->mtrr_fixed[0];
    if (msr == 0x258 || msr == 0x259)
        return &c->mtrr_fixed[1 + (msr - 0x258)];
    if (msr >= 0x268 && msr <= 0x26F)
        return &c->mtrr_fixed[3 + (msr - 0x268)];
    return NULL;
}

/* Returns false for an MSR this CPU does not have (the caller raises #GP(0)). */
static bool msr_read(struct cpu *c, uint32_t msr, uint64_t *v)
{
    uint64_t *f;
    switch (msr) {
    case MSR_TSC: *v = tsc_now(c); return true;
    case MSR_PLATFORM_ID: *v = 0; return true;
    case MSR_APIC_BASE: *v = c->apic_base; return true;
    case MSR_EBL_CR_POWERON: *v = 0; return true;
    case MSR_BIOS_SIGN_ID: *v = c->bios_sign_id; return true;
    case MSR_MTRRCAP: *v = 0x508; return true; /* 8 variable ranges, fixed ranges, WC */
    case MSR_SYSENTER_CS: *v = c->sysenter_cs; return true;
    case MSR_SYSENTER_ESP: *v = c->sysenter_esp; return true;
    case MSR_SYSENTER_EIP: *v = c->sysenter_eip; return true;
    case MSR_MTRR_DEF_TYPE: *v = c->mtrr_def_type; return true;
    default: break;
    }
    if (msr >= 0x200 && msr < 0x210) {
        *v = c->mtrr_var[msr - 0x200];
        return true;
    }
    if ((f = fixed_mtrr(c, msr))) {
        *v = *f;
        return true;
    }
    return false;
}

static bool msr_write(struct cpu *c, uint32_t msr, uint64_t v)
{
    uint64_t *f;
    switch (msr) {
    case MSR_TSC: c->tsc_offset = v - c->icount; return true;
    case MSR_APIC_BASE:
        /* Base 31:12, EN (11), BSP (8, read-only); no PAE, so 32-bit physical addresses. */
        if (v & ~0xFFFFF900ull)
            return false;
        c->apic_base = c->bus.apic_base_write ? c->bus.apic_base_write(c->bus.apic_opaque, v)
                                              : (c->apic_base & 0x100) | (v & 0xFFFFF800ull);
        return true;
    case MSR_BIOS_SIGN_ID: c->bios_sign_id = 0; return true; /* a write starts a fresh read */
    case MSR_SYSENTER_CS: c->sysenter_cs = (uint32_t)v & 0xFFFF; return true;
    case MSR_SYSENTER_ESP: c->sysenter_esp = (uint32_t)v; return true;
    case MSR_SYSENTER_EIP: c->sysenter_eip = (uint32_t)v; return true;
    case MSR_MTRR_DEF_TYPE: c->mtrr_def_type = v & 0xCFF; return true;
    default: break;
    }
    if (msr >= 0x200 && msr < 0x210) {
        c->mtrr_var[msr - 0x200] = v & 0xFFFFFFFFFull;
        return true;
    }
    if ((f = fixed_mtrr(c, msr))) {
        *f = v;
        return true;
    }
    return false;
}

void exec_RDMSR(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_sys_register_access(c);
    uint64_t v;
    if (!msr_read(c, c->regs[R_ECX], &v))
        cpu_fault_err(c, EXC_GP, 0);
    c->regs[R_EAX] = (uint32_t)v;
    c->regs[R_EDX] = (uint32_t)(v >> 32);
}

void exec_WRMSR(struct cpu *c, const struct insn *i)
{
    (void)i;
    require_sys_register_access(c);
    uint64_t v = (uint64_t)c->regs[R_EDX] << 32 | c->regs[R_EAX];
    if (!msr_write(c, c->regs[R_ECX], v))
        cpu_fault_err(c, EXC_GP, 0);
}

void exec_RDTSC(struct cpu *c, const struct insn *i)
{
    (void)i;
    if ((c->cr4 & CR4_TSD) && cpu_protected(c) && c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint64_t t = tsc_now(c);
    c->regs[R_EAX] = (uint32_t)t;
    c->regs[R_EDX] = (uint32_t)(t >> 32);
}

void exec_RDPMC(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (!(c->cr4 & CR4_PCE) && cpu_protected(c) && c->cpl != 0)
        cpu_fault_err(c, EXC_GP, 0);
    if (c->regs[R_ECX] > 1)
        cpu_fault_err(c, EXC_GP, 0);
    /* The two counters exist but no events are programmed to count. */
    c->regs[R_EAX] = 0;
    c->regs[R_EDX] = 0;
}

/* CPUID feature bits, only for what is implemented (DESIGN: no promise the CPU can't keep). */
#define CPUID_FPU (1u << 0)
#define CPUID_VME (1u << 1)
#define CPUID_DE (1u << 2)
#define CPUID_PSE (1u << 3)
#define CPUID_TSC (1u << 4)
#define CPUID_MSR (1u << 5)
#define CPUID_CX8 (1u << 8)
#define CPUID_APIC (1u << 9)
#define CPUID_SEP (1u << 11)
#define CPUID_MTRR (1u << 12)
#define CPUID_PGE (1u << 13)
#define CPUID_CMOV (1u << 15)
#define CPUID_MMX (1u << 23)
#define CPUID_FXSR (1u << 24)

void exec_CPUID(struct cpu *c, const struct insn *i)
{
    (void)i;
    uint32_t leaf = c->regs[R_EAX];
    if (leaf > 2)
        leaf = 2; /* P6: out-of-range leaves return the highest basic leaf */
    uint32_t a = 0, b = 0, cx = 0, d = 0;
    switch (leaf) {
    case 0:
        a = 2;
        b = 0x756E6547u; /* "GenuineIntel" in EBX, EDX, ECX */
        d = 0x49656E69u;
        cx = 0x6C65746Eu;
        break;
    case 1:
        a = 0x00000653u; /* family 6, model 5, stepping 3: Pentium II (Deschutes, FXSR) */
        d = CPUID_FPU | CPUID_MMX | CPUID_FXSR | CPUID_DE | CPUID_PSE | CPUID_TSC | CPUID_MSR | CPUID_CX8 | CPUID_SEP | CPUID_MTRR |
            CPUID_PGE | CPUID_CMOV;
        /* SDM: a globally disabled APIC (IA32_APIC_BASE.EN = 0) clears the flag. */
        if (c->bus.apic_base_write && (c->apic_base & 0x800))
            d |= CPUID_APIC;
        break;
    default:
        /* Cache and TLB descriptors of a Pentium II with 512 KiB L2. */
        a = 0x03020101u;
        d = 0x0C040843u;
        break;
    }
    c->regs[R_EAX] = a;
    c->regs[R_EBX] = b;
    c->regs[R_ECX] = cx;
    c->regs[R_EDX] = d;
}

/* ---- SYSENTER / SYSEXIT ---- */

static void load_flat(struct cpu *c, int sreg, uint16_t sel, bool code, unsigned dpl)
{
    uint32_t attr = SEG_P | SEG_S | SEG_DB | SEG_G | (dpl << 13) | ((code ? 0xBu : 0x3u) << 8);
    cpu_set_seg_cache(c, sreg, sel, 0, 0xFFFFFFFFu, attr);
}

void exec_SYSENTER(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (!cpu_protected(c) || (c->sysenter_cs & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    c->eflags &= ~(FL_VM | FL_IF | FL_RF);
    uint16_t cs = (uint16_t)(c->sysenter_cs & 0xFFFC);
    load_flat(c, SR_CS, cs, true, 0);
    load_flat(c, SR_SS, (uint16_t)(cs + 8), false, 0);
    cpu_update_mode(c);
    c->regs[R_ESP] = c->sysenter_esp;
    c->eip = c->sysenter_eip;
}

void exec_SYSEXIT(struct cpu *c, const struct insn *i)
{
    (void)i;
    if (!cpu_protected(c) || cpu_v86(c) || c->cpl != 0 || (c->sysenter_cs & 0xFFFC) == 0)
        cpu_fault_err(c, EXC_GP, 0);
    uint16_t base = (uint16_t)c->sysenter_cs;
    load_flat(c, SR_CS, (uint16_t)((base + 16) | 3), true, 3);
    load_flat(c, SR_SS, (uint16_t)((base + 24) | 3), false, 3);
    cpu_update_mode(c);
    c->regs[R_ESP] = c->regs[R_ECX];
    c->eip = c->regs[R_EDX];
}
