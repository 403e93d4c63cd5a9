/* SingleStepTests 80286 real-mode corpus through the interpreter (ctest label `conformance`).
 *
 *   conformance_sst80286 CORPUS_DIR [--show N] [--hash PREFIX] [--start IDX] [FILE_PREFIX...]
 *
 * CORPUS_DIR holds one gzip'd JSON array of tests per instruction form (00.json.gz ...
 * FF.6.json.gz, see ../shared/corpora/README.md). Every test of every file is run: the
 * registers and RAM bytes of `initial` are loaded into one reused real-mode test VM (16 MiB),
 * the interpreter runs from CS:IP until the HLT that ends the test's bytes, or the HLT of the
 * exception handler the test installed in the IVT, and the registers and RAM are compared with
 * `final`. Registers not listed in `final` must keep their initial value; the upper halves of
 * the 32-bit registers must stay zero and each segment's hidden base must be selector*16.
 * Every RAM page that was written is compared whole (listed bytes against `final`, the rest
 * against `initial` or zero), so stray writes are caught too. A fault the corpus does not
 * expect stops the run at once (cpu->stop_on_exception) and is reported as such.
 *
 * Output: pass/fail/skip counts per opcode file with the first failures of each in full (test
 * name, hash, bytes, expected vs got), a summary per instruction group, the table of
 * 286-vs-i686 differences with how many tests each touched, and the closing line
 * `conformance: N passed, M failed, K skipped`. Exit status: 0 every run test passed, 1 a test
 * failed, 77 (SKIPPED) the corpus is absent.
 *
 * The corpus was captured on a real 80286; bt86 is an i686. Where the two differ by design the
 * test neither bends the CPU nor silently passes: every difference is one entry of
 * `exclusions[]` below, with its reason, and is printed.
 *
 * Isolation between tests: the CPU is restored from a pristine real-mode image (all of
 * `struct cpu` except the TLB, which is flushed), and every RAM page is write-watched through
 * the memory map's code-page watch, so each page a test (or a stray write of the CPU) touched
 * is known exactly: it is compared, then zeroed and watched again before the next test.
 *
 * Debugging: --show N prints N failures per file (default 3), --hash runs only the tests whose
 * hash starts with PREFIX, --start skips each file's tests before index IDX, and file prefixes
 * ("F6", "D0.4") select opcode files. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "cpu/cpu.h"
#include "cpu/icache.h"
#include "cpu/insn.h"
#include "cpu/mem.h"
#include "cpu/undef_flags.h"
#include "mmu/memmap.h"
#include "tests/conformance/json.h"
#include "tests/support/testvm.h"

#define RAM_SIZE (16u << 20)
#define RAM_PAGES (RAM_SIZE >> PAGE_SHIFT)
#define INSN_BUDGET 1000   /* one instruction (REP strings keep CX < 128) + the handler's HLT */
#define DEFAULT_SHOW 3     /* failures printed in full per opcode file */
#define MAX_DIFFS 12       /* mismatching items listed per failing test */
#define MAX_TEST_BYTES 32
#define FLAGS_COMPARED 0x0FFFu /* bits 12-15: see exclusion "flags-12-15" */

/* ---------------------------------------------------------------- corpus test, as parsed */

enum { RG_AX, RG_BX, RG_CX, RG_DX, RG_CS, RG_SS, RG_DS, RG_ES, RG_SP, RG_BP, RG_SI, RG_DI,
       RG_IP, RG_FLAGS, RG_COUNT };
static const char *const reg_names[RG_COUNT] = {"ax", "bx", "cx", "dx", "cs", "ss", "ds",
                                                "es", "sp", "bp", "si", "di", "ip", "flags"};
/* General registers in corpus order -> struct cpu index; -1 for the others. */
static const int reg_gpr[RG_COUNT] = {R_EAX, R_EBX, R_ECX, R_EDX, -1, -1, -1, -1,
                                      R_ESP, R_EBP, R_ESI, R_EDI, -1, -1};
static const int reg_sreg[RG_COUNT] = {-1, -1, -1, -1, SR_CS, SR_SS, SR_DS, SR_ES,
                                       -1, -1, -1, -1, -1, -1};

struct rambyte {
    uint32_t addr;
    uint8_t val;
};

struct rambytes {
    struct rambyte *v;
    size_t n, cap;
};

struct sst_test {
    const char *name, *hash;
    long idx;
    uint8_t bytes[MAX_TEST_BYTES];
    unsigned nbytes;
    uint16_t init[RG_COUNT];
    uint16_t fin[RG_COUNT];   /* final value: `final` when listed, else the initial one */
    uint32_t fin_listed;      /* bit per RG_* */
    struct rambytes iram, fram;
    int exc;                  /* expected exception vector, -1 if none */
    uint32_t flag_addr;       /* where that exception's FLAGS image was pushed */
};

/* ---------------------------------------------------------------- small helpers */

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sst_runner: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static void rb_push(struct rambytes *r, uint32_t addr, uint8_t val)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 512;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        if (!r->v)
            die("out of memory");
    }
    r->v[r->n++] = (struct rambyte){addr, val};
}

static void flag_letters(uint32_t bits, char *out, size_t n)
{
    static const struct { uint32_t bit; const char *name; } f[] = {
        {FL_CF, "CF"}, {0x2, "b1"}, {FL_PF, "PF"}, {0x8, "b3"}, {FL_AF, "AF"}, {0x20, "b5"},
        {FL_ZF, "ZF"}, {FL_SF, "SF"}, {FL_TF, "TF"}, {FL_IF, "IF"}, {FL_DF, "DF"},
        {FL_OF, "OF"}, {FL_IOPL, "IOPL"}, {FL_NT, "NT"}, {0x8000, "b15"},
    };
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
        if ((bits & f[k].bit) && used + 6 < n)
            used += (size_t)snprintf(out + used, n - used, "%s%s", used ? " " : "", f[k].name);
    if (bits & 0xFFFF0000u && used + 8 < n)
        snprintf(out + used, n - used, "%shigh", used ? " " : "");
}

static const char *exc_name(int v)
{
    static const char *const names[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                        "#DF", "?9", "#TS", "#NP", "#SS", "#GP", "#PF", "?15",
                                        "#MF", "#AC", "#MC"};
    return v >= 0 && v < (int)(sizeof(names) / sizeof(names[0])) ? names[v] : "INT";
}

/* ---------------------------------------------------------------- instruction inspection */

struct prefixes {
    unsigned count;
    bool lock;
    uint8_t opcode, modrm;
    bool has_modrm;
};

static bool opcode_has_modrm(uint8_t op)
{
    if (op < 0x40)
        return (op & 7) < 4;
    switch (op) {
    case 0x62: case 0x63: case 0x69: case 0x6B: case 0xC0: case 0xC1: case 0xC4: case 0xC5:
    case 0xC6: case 0xC7: case 0xD0: case 0xD1: case 0xD2: case 0xD3: case 0xF6: case 0xF7:
    case 0xFE: case 0xFF:
        return true;
    default:
        return (op >= 0x80 && op <= 0x8F) || (op >= 0xD8 && op <= 0xDF);
    }
}

/* The 80286's prefixes: segment overrides, LOCK, REP/REPNE. */
static struct prefixes scan_prefixes(const struct sst_test *t)
{
    struct prefixes p = {0};
    while (p.count + 1 < t->nbytes) {
        uint8_t b = t->bytes[p.count];
        if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0xF2 || b == 0xF3) {
            p.count++;
        } else if (b == 0xF0) {
            p.lock = true;
            p.count++;
        } else {
            break;
        }
    }
    p.opcode = t->bytes[p.count];
    p.has_modrm = opcode_has_modrm(p.opcode) && p.count + 1 < t->nbytes;
    p.modrm = p.has_modrm ? t->bytes[p.count + 1] : 0;
    return p;
}

/* Whether LOCK is architecturally allowed on this one-byte-map form on the i686 (SDM, LOCK):
 * a read-modify-write whose destination is memory. Written from the SDM here rather than
 * taken from the decoder, so a decoder bug cannot hide behind the LOCK exclusion. */
static bool i686_lockable(const struct prefixes *p)
{
    if (!p->has_modrm || (p->modrm >> 6) == 3)
        return false;
    unsigned reg = (p->modrm >> 3) & 7;
    uint8_t op = p->opcode;
    if (op < 0x40)
        return (op & 7) <= 1 && (op & 0x38) != 0x38; /* ALU Eb/Ev,G; not CMP */
    switch (op) {
    case 0x80: case 0x81: case 0x82: case 0x83: return reg != 7; /* not CMP */
    case 0x86: case 0x87: return true;                          /* XCHG */
    case 0xF6: case 0xF7: return reg == 2 || reg == 3;          /* NOT, NEG */
    case 0xFE: case 0xFF: return reg <= 1;                      /* INC, DEC */
    default: return false;
    }
}

/* Whether the decoded instruction accesses memory through SS (stack operations, or a memory
 * operand / string source whose segment is SS). */
static bool uses_ss(const struct insn *i)
{
    switch (i->op) {
    case OP_PUSH: case OP_POP: case OP_PUSH_SEG: case OP_POP_SEG: case OP_PUSHA: case OP_POPA:
    case OP_PUSHF: case OP_POPF: case OP_ENTER: case OP_LEAVE: case OP_CALL: case OP_CALL_E:
    case OP_CALLF: case OP_CALLF_M: case OP_RET: case OP_RETF: case OP_IRET: case OP_INT:
    case OP_INT3: case OP_INTO:
        return true;
    case OP_MOVS: case OP_CMPS: case OP_LODS: case OP_OUTS: case OP_XLAT:
        return i->seg == SR_SS;
    default:
        return (i->flags & INSN_F_MEM) && i->seg == SR_SS;
    }
}

/* ---------------------------------------------------------------- the 286-vs-i686 table */

struct tctx {
    const struct sst_test *t;
    struct prefixes pfx;
    bool decoded;
    struct insn insn;         /* valid when decoded */
    const struct cpu *c;      /* the initial state, loaded (registers and RAM) */
};

enum excl_kind {
    EX_SKIP,  /* the test is not run (counted as skipped) */
    EX_MASK,  /* the test runs; the named difference is masked (counted when it mattered) */
    EX_KEEP,  /* considered and found not to differ: compared as is (counted when run) */
};

struct exclusion {
    const char *id;
    enum excl_kind kind;
    const char *scope;
    const char *reason;
    bool (*applies)(const struct tctx *x); /* whether it concerns this test; NULL: computed
                                              during the comparison */
    unsigned long hits;
};

static bool skip_lock(const struct tctx *x)
{
    return x->pfx.lock && !i686_lockable(&x->pfx);
}

static bool skip_long(const struct tctx *x)
{
    return x->t->nbytes - 1 > 10 && x->t->exc == EXC_GP;
}

static bool skip_fs_gs(const struct tctx *x)
{
    unsigned reg = (x->pfx.modrm >> 3) & 7;
    return (x->pfx.opcode == 0x8C || x->pfx.opcode == 0x8E) && x->pfx.has_modrm &&
           (reg == 4 || reg == 5);
}

/* POP m16 whose memory write faults (the pop itself, SP = FFFFh, is a different case). */
static bool skip_pop_mem_fault(const struct tctx *x)
{
    return x->pfx.opcode == 0x8F && x->pfx.has_modrm && (x->pfx.modrm >> 6) != 3 &&
           ((x->pfx.modrm >> 3) & 7) == 0 && x->t->exc == EXC_GP && x->t->init[RG_SP] != 0xFFFF;
}

static bool is_string_op(unsigned op)
{
    return op == OP_MOVS || op == OP_CMPS || op == OP_STOS || op == OP_LODS || op == OP_SCAS ||
           op == OP_INS || op == OP_OUTS;
}

static bool mask_string_gp(const struct tctx *x)
{
    return x->decoded && is_string_op(x->insn.op) && x->t->exc == EXC_GP;
}

static bool mask_aam_de(const struct tctx *x)
{
    return x->decoded && x->insn.op == OP_AAM && x->t->exc == EXC_DE;
}

/* IDIV that the 286 completed although the quotient does not fit (the i686 raises #DE). */
static bool skip_idiv_overflow(const struct tctx *x)
{
    if (!x->decoded || x->insn.op != OP_IDIV || x->t->exc >= 0)
        return false;
    const struct insn *i = &x->insn;
    const struct cpu *c = x->c;
    int64_t divisor, dividend, lim = i->osize == 1 ? 128 : 32768;
    uint32_t raw;
    if (i->flags & INSN_F_MEM) {
        uint32_t lin = c->seg[i->seg].base + insn_ea(c, i);
        const uint8_t *p = memmap_read_ptr(c->mem, lin);
        raw = p[0] | (i->osize == 2 ? (uint32_t)memmap_read_ptr(c->mem, lin + 1)[0] << 8 : 0);
    } else {
        raw = reg_get(c, i->rm, i->osize);
    }
    if (i->osize == 1) {
        divisor = (int8_t)raw;
        dividend = (int16_t)c->regs[R_EAX];
    } else {
        divisor = (int16_t)raw;
        dividend = (int32_t)((c->regs[R_EDX] & 0xFFFF) << 16 | (c->regs[R_EAX] & 0xFFFF));
    }
    if (divisor == 0)
        return false;
    int64_t q = dividend / divisor;
    return q < -lim || q > lim - 1;
}

static unsigned modrm_reg(const struct tctx *x) { return (x->pfx.modrm >> 3) & 7; }
static bool keep_salc(const struct tctx *x) { return x->pfx.opcode == 0xD6; }
static bool keep_82(const struct tctx *x) { return x->pfx.opcode == 0x82; }
static bool keep_sal6(const struct tctx *x)
{
    uint8_t op = x->pfx.opcode;
    return (op == 0xC0 || op == 0xC1 || (op >= 0xD0 && op <= 0xD3)) && modrm_reg(x) == 6;
}
static bool keep_test1(const struct tctx *x)
{
    return (x->pfx.opcode == 0xF6 || x->pfx.opcode == 0xF7) && modrm_reg(x) == 1;
}
static bool keep_esc(const struct tctx *x) { return x->pfx.opcode >= 0xD8 && x->pfx.opcode <= 0xDF; }
static bool keep_wait(const struct tctx *x) { return x->pfx.opcode == 0x9B; }
static bool keep_push_sp(const struct tctx *x) { return x->pfx.opcode == 0x54; }
static bool keep_shift_cl(const struct tctx *x)
{
    return x->pfx.opcode >= 0xD2 && x->pfx.opcode <= 0xD3 && (x->t->init[RG_CX] & 0xFF) > 31;
}

enum { EXM_FLAGS_HIGH, EXM_UNDEF, EXM_SS_GP, EXM_IP_WRAP, EXM_STRING_GP, EXM_AAM_DE,
       EXS_LOCK, EXS_LONG, EXS_FS_GS, EXS_POP_MEM, EXS_IDIV,
       EXK_SALC, EXK_82, EXK_SAL6, EXK_TEST1, EXK_ESC, EXK_WAIT, EXK_PUSH_SP, EXK_SHIFT_CL,
       EX_COUNT };

/* Every difference between the 80286 the corpus was captured on and the i686 bt86 is, and the
 * places where one was looked for and not found. A SKIP entry's predicate decides from the
 * test alone (its bytes and initial state, never bt86's result) that it is not run; a MASK
 * entry names what is left out of the comparison, and `hits` counts the tests that passed
 * only because of it; a KEEP entry records a suspected difference that is not one (the tests
 * run and are compared in full). All entries are printed with the results. */
static struct exclusion exclusions[EX_COUNT] = {
    [EXM_FLAGS_HIGH] = {"flags-12-15", EX_MASK, "all",
        "FLAGS bits 12-15 (IOPL, NT, 15) read as 0 on a 286 in real mode, a 386+ keeps what "
        "POPF/IRET load: cleared in the initial state, not compared in FLAGS", NULL, 0},
    [EXM_UNDEF] = {"undefined-flags", EX_MASK, "all",
        "flags the SDM leaves undefined (insn_undefined_flags() on the initial state) hold what "
        "the 286 produced: not compared in FLAGS, nor in an exception's pushed FLAGS image",
        NULL, 0},
    [EXM_SS_GP] = {"ss-overrun-#GP", EX_MASK, "SS accesses",
        "a real-mode SS access past offset FFFFh is #GP(13) on the 286 and #SS(12) on the "
        "i686: when the corpus expects #GP and the instruction uses SS, #SS is taken as it and "
        "delivered through vector 13 (the rest of the state is still compared)", NULL, 0},
    [EXM_IP_WRAP] = {"ip-wrap-at-ffff", EX_MASK, "closing HLT at offset FFFFh",
        "after the test's closing HLT at IP FFFFh the 286 wraps IP to 0000, the i686's EIP is "
        "10000h (its next fetch would #GP): EIP 10000h is accepted for an expected IP 0000",
        NULL, 0},
    [EXM_STRING_GP] = {"string-#GP-pointers", EX_MASK, "string ops faulting with #GP",
        "a word string access at offset FFFFh: the 286 has already stepped SI/DI (and under REP "
        "CX) when it raises #GP, the i686 faults precisely; SI/DI/CX are checked for "
        "consistency (stopped on the element at FFFFh, moved by whole iterations) instead",
        mask_string_gp, 0},
    [EXM_AAM_DE] = {"aam-0-flags", EX_MASK, "D4 (AAM) raising #DE",
        "AAM 0: the 286 updates SF/ZF/PF before raising #DE, the i686 faults leaving FLAGS "
        "unchanged: SF/ZF/PF not compared (FLAGS and the pushed image)", mask_aam_de, 0},
    [EXS_LOCK] = {"lock-non-lockable", EX_SKIP, "LOCK-prefixed tests",
        "LOCK on an instruction that is not a read-modify-write of memory: the 286 ignores it, "
        "the i686 raises #UD", skip_lock, 0},
    [EXS_LONG] = {"length-over-10", EX_SKIP, "tests with > 10 instruction bytes",
        "the 286 limits an instruction to 10 bytes (#GP(13) beyond), the i686 to 15",
        skip_long, 0},
    [EXS_FS_GS] = {"mov-sreg-4-5", EX_SKIP, "8C, 8E with ModRM.reg 4/5",
        "MOV to/from segment register 4/5: #UD on the 286, FS/GS on the i686", skip_fs_gs, 0},
    [EXS_POP_MEM] = {"pop-m16-write-#GP", EX_SKIP, "8F /0 to memory raising #GP",
        "POP m16 whose write faults: the 286 has already popped (SP+2) when it raises #GP, the "
        "i686 restores SP, so the exception frame lands 2 bytes lower", skip_pop_mem_fault, 0},
    [EXS_IDIV] = {"idiv-overflow-no-#DE", EX_SKIP, "F6.7, F7.7 without exception",
        "IDIV whose true quotient does not fit: the 286 sometimes returns a quotient of 80h "
        "instead of raising #DE, the i686 raises #DE", skip_idiv_overflow, 0},
    [EXK_SALC] = {"salc", EX_KEEP, "D6",
        "SALC (undocumented) sets AL to CF ? FFh : 00h on the 286 and on the i686", keep_salc, 0},
    [EXK_82] = {"alias-82", EX_KEEP, "82",
        "82 (undocumented alias of 80, group 1 Eb,Ib) behaves as 80 on both", keep_82, 0},
    [EXK_SAL6] = {"alias-sal-/6", EX_KEEP, "C0, C1, D0-D3 /6",
        "shift group /6 (undocumented alias) shifts as SHL/SAL on both", keep_sal6, 0},
    [EXK_TEST1] = {"alias-test-/1", EX_KEEP, "F6, F7 /1",
        "group 3 /1 (undocumented alias) is TEST on both", keep_test1, 0},
    [EXK_ESC] = {"esc-x87-absent", EX_KEEP, "D8-DF (the corpus has D8)",
        "the 286 the corpus was captured on has no 287; bt86 has an x87: D8 forms compute on "
        "the x87 (from its reset state, every exception pending only) and leave integer "
        "registers, FLAGS and memory alone on both",
        keep_esc, 0},
    [EXK_WAIT] = {"wait", EX_KEEP, "9B",
        "WAIT with no coprocessor error pending does nothing on both", keep_wait, 0},
    [EXK_PUSH_SP] = {"push-sp", EX_KEEP, "54",
        "PUSH SP stores SP as it was before the push on the 286 and the i686 (unlike the 8086)",
        keep_push_sp, 0},
    [EXK_SHIFT_CL] = {"shift-count-cl", EX_KEEP, "D2, D3 with CL > 31",
        "shift and rotate counts in CL are masked to 5 bits by the 286 and the i686 alike",
        keep_shift_cl, 0},
};

/* ---------------------------------------------------------------- the VM and its isolation */

struct runner {
    struct testvm vm;
    struct cpu pristine;              /* real-mode state every test starts from */
    bool dirty[RAM_PAGES];
    uint32_t dirty_list[RAM_PAGES];
    unsigned ndirty;
    uint8_t expect[PAGE_SIZE];
};

static struct runner *g_runner; /* for the write-watch hook */
static unsigned long g_flag_addr_even, g_flag_addr_other; /* corpus flag_address vs the frame */
static unsigned long g_tf_after_hlt; /* runs that ended with a single-step trap after the HLT */

/* memmap code-write hook: records the page, then does what the CPU's own hook does. */
static void page_written(void *opaque, uint32_t phys_page_addr)
{
    struct runner *r = g_runner;
    uint32_t pg = phys_page_addr >> PAGE_SHIFT;
    if (pg < RAM_PAGES && !r->dirty[pg]) {
        r->dirty[pg] = true;
        r->dirty_list[r->ndirty++] = pg;
    }
    icache_code_written(opaque, phys_page_addr);
}

static uint32_t bus_in(void *opaque, uint16_t port, unsigned size)
{
    (void)opaque;
    (void)port;
    return size == 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1; /* nothing attached: open bus */
}

static void bus_out(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
    (void)opaque;
    (void)port;
    (void)value;
    (void)size;
}

static void runner_init(struct runner *r)
{
    int e = testvm_init(&r->vm, RAM_SIZE);
    if (e)
        die("testvm_init: %s", strerror(-e));
    testvm_real_mode(&r->vm);
    struct cpu *c = &r->vm.cpu;
    c->bus = (struct cpu_bus){.port_in = bus_in, .port_out = bus_out};
    c->exit_on_hlt = true;
    r->pristine = *c;
    g_runner = r;
    struct memmap *m = &r->vm.mem;
    m->code_write_hook = page_written;
    m->code_write_opaque = c->icache;
    for (uint32_t pg = 0; pg < RAM_PAGES; pg++)
        memmap_mark_code(m, pg << PAGE_SHIFT, PAGE_SIZE);
}

/* Everything of struct cpu except the TLB comes from the pristine copy; the TLB is flushed. */
static void restore_cpu(struct runner *r)
{
    struct cpu *c = &r->vm.cpu;
    const size_t t0 = offsetof(struct cpu, tlb), t1 = t0 + sizeof(c->tlb);
    memcpy(c, &r->pristine, t0);
    memcpy((char *)c + t1, (const char *)&r->pristine + t1, sizeof(*c) - t1);
    cpu_flush_tlb(c, false);
}

/* Zero and re-watch every page written since the last call. */
static void clean_pages(struct runner *r)
{
    struct memmap *m = &r->vm.mem;
    for (unsigned k = 0; k < r->ndirty; k++) {
        uint32_t pg = r->dirty_list[k];
        icache_code_written(r->vm.cpu.icache, pg << PAGE_SHIFT);
        memset(m->ram + ((size_t)pg << PAGE_SHIFT), 0, PAGE_SIZE);
        memmap_mark_code(m, pg << PAGE_SHIFT, PAGE_SIZE);
        r->dirty[pg] = false;
    }
    r->ndirty = 0;
}

/* ---------------------------------------------------------------- parsing one test */

static bool get_regs(const struct json *o, uint16_t *out, uint32_t *listed, bool all, char *why,
                     size_t whylen)
{
    if (!o || o->type != JSON_OBJECT) {
        snprintf(why, whylen, "regs is not an object");
        return false;
    }
    for (int k = 0; k < RG_COUNT; k++) {
        const struct json *v = json_get(o, reg_names[k]);
        int64_t x;
        if (!v) {
            if (all) {
                snprintf(why, whylen, "initial.regs.%s missing", reg_names[k]);
                return false;
            }
            continue;
        }
        if (!json_int(v, 0, 0xFFFF, &x)) {
            snprintf(why, whylen, "regs.%s is not a 16-bit value", reg_names[k]);
            return false;
        }
        out[k] = (uint16_t)x;
        if (listed)
            *listed |= 1u << k;
    }
    return true;
}

static bool get_ram(const struct json *a, struct rambytes *out, char *why, size_t whylen)
{
    out->n = 0;
    if (!a || a->type != JSON_ARRAY) {
        snprintf(why, whylen, "ram is not an array");
        return false;
    }
    for (uint32_t k = 0; k < a->len; k++) {
        const struct json *pair = json_at(a, k);
        int64_t addr, val;
        if (!pair || pair->type != JSON_ARRAY || pair->len != 2 ||
            !json_int(json_at(pair, 0), 0, RAM_SIZE - 1, &addr) ||
            !json_int(json_at(pair, 1), 0, 255, &val)) {
            snprintf(why, whylen, "ram[%u] is not [address below 16 MiB, byte]", k);
            return false;
        }
        rb_push(out, (uint32_t)addr, (uint8_t)val);
    }
    return true;
}

static bool parse_test(const struct json *jt, struct sst_test *t, char *why, size_t whylen)
{
    t->name = "?";
    t->hash = "?";
    t->idx = -1;
    t->exc = -1;
    t->fin_listed = 0;
    t->iram.n = t->fram.n = 0;
    const struct json *v;
    int64_t x;
    if (!jt || jt->type != JSON_OBJECT) {
        snprintf(why, whylen, "test is not an object");
        return false;
    }
    if ((v = json_get(jt, "name")) && v->type == JSON_STRING)
        t->name = v->u.str;
    if ((v = json_get(jt, "hash")) && v->type == JSON_STRING)
        t->hash = v->u.str;
    if (json_int(json_get(jt, "idx"), 0, INT32_MAX, &x))
        t->idx = (long)x;
    v = json_get(jt, "bytes");
    if (!v || v->type != JSON_ARRAY || v->len < 1 || v->len > MAX_TEST_BYTES) {
        snprintf(why, whylen, "bytes missing or longer than %d", MAX_TEST_BYTES);
        return false;
    }
    t->nbytes = v->len;
    for (uint32_t k = 0; k < v->len; k++) {
        if (!json_int(json_at(v, k), 0, 255, &x)) {
            snprintf(why, whylen, "bytes[%u] is not a byte", k);
            return false;
        }
        t->bytes[k] = (uint8_t)x;
    }
    if (t->bytes[t->nbytes - 1] != 0xF4) {
        snprintf(why, whylen, "bytes do not end with HLT (F4)");
        return false;
    }
    const struct json *ini = json_get(jt, "initial"), *fin = json_get(jt, "final");
    if (!get_regs(json_get(ini, "regs"), t->init, NULL, true, why, whylen) ||
        !get_ram(json_get(ini, "ram"), &t->iram, why, whylen))
        return false;
    memcpy(t->fin, t->init, sizeof(t->fin));
    if (!get_regs(json_get(fin, "regs"), t->fin, &t->fin_listed, false, why, whylen) ||
        !get_ram(json_get(fin, "ram"), &t->fram, why, whylen))
        return false;
    if ((v = json_get(jt, "exception"))) {
        int64_t fa;
        if (!json_int(json_get(v, "number"), 0, 255, &x) ||
            !json_int(json_get(v, "flag_address"), 0, RAM_SIZE - 2, &fa)) {
            snprintf(why, whylen, "exception needs number and flag_address");
            return false;
        }
        t->exc = (int)x;
        t->flag_addr = (uint32_t)fa;
    }
    return true;
}

/* ---------------------------------------------------------------- running and comparing */

enum diff_kind { D_REG, D_HIGH, D_BASE, D_RAM, D_NOTE };

struct diff {
    uint8_t kind;
    uint8_t reg;        /* D_REG/D_HIGH/D_BASE: RG_* */
    bool listed;        /* D_RAM: the corpus lists the byte as changed */
    bool has_init;      /* D_RAM: the corpus gives an initial value */
    uint32_t addr;      /* D_RAM */
    uint32_t init, exp, got, mask;
    char note[112];     /* D_NOTE */
};

struct result {
    bool pass;
    unsigned ndiffs, nmore;
    struct diff d[MAX_DIFFS];
};

static struct diff *add_diff(struct result *res, enum diff_kind k)
{
    res->pass = false;
    if (res->ndiffs == MAX_DIFFS) {
        res->nmore++;
        return NULL;
    }
    struct diff *d = &res->d[res->ndiffs++];
    memset(d, 0, sizeof(*d));
    d->kind = (uint8_t)k;
    return d;
}

static void add_note(struct result *res, const char *fmt, ...)
{
    struct diff *d = add_diff(res, D_NOTE);
    if (!d)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->note, sizeof(d->note), fmt, ap);
    va_end(ap);
}

static void load_state(struct runner *r, const struct sst_test *t)
{
    struct cpu *c = &r->vm.cpu;
    struct memmap *m = &r->vm.mem;
    restore_cpu(r);
    /* Through the memory map, so a page's watch fires and stale decoded code is dropped. */
    for (size_t k = 0; k < t->iram.n; k++)
        memmap_copy_to(m, t->iram.v[k].addr, &t->iram.v[k].val, 1);
    for (int k = 0; k < RG_COUNT; k++)
        if (reg_gpr[k] >= 0)
            c->regs[reg_gpr[k]] = t->init[k];
    const uint32_t data = SEG_P | SEG_S | (0x3u << 8), code = SEG_P | SEG_S | (0xBu << 8);
    for (int k = 0; k < RG_COUNT; k++)
        if (reg_sreg[k] >= 0)
            cpu_set_seg_cache(c, reg_sreg[k], t->init[k], (uint32_t)t->init[k] << 4, 0xFFFF,
                              reg_sreg[k] == SR_CS ? code : data);
    cpu_set_seg_cache(c, SR_FS, 0, 0, 0xFFFF, data);
    cpu_set_seg_cache(c, SR_GS, 0, 0, 0xFFFF, data);
    cpu_set_eflags(c, t->init[RG_FLAGS] & FLAGS_COMPARED); /* see "flags-12-15" */
    c->eip = t->init[RG_IP];
}

/* Deliver #GP in place of the #SS the i686 raised (exclusion "ss-overrun-#GP"). Returns false
 * if the delivery itself faulted. */
static bool deliver_gp_instead(struct cpu *c)
{
    jmp_buf jb;
    c->exc_jmp = &jb;
    if (setjmp(jb)) {
        c->exc_jmp = NULL;
        return false;
    }
    cpu_deliver(c, EXC_GP, false, 0, false);
    c->exc_jmp = NULL;
    return true;
}

/* Run from CS:IP to the final HLT. Returns false (with a note) if it ended otherwise. */
static bool run_to_hlt(struct runner *r, const struct tctx *x, struct result *res, bool *remapped)
{
    struct cpu *c = &r->vm.cpu;
    const struct sst_test *t = x->t;
    uint64_t left = INSN_BUDGET;
    *remapped = false;
    /* Stop on any fault the corpus does not expect instead of running into a zeroed IVT. */
    c->stop_on_exception = 0xFFFFFFFFu;
    if (t->exc >= 0 && t->exc < 32)
        c->stop_on_exception &= ~(1u << t->exc);
    for (;;) {
        uint64_t before = c->icount;
        enum cpu_exit why = cpu_run(c, left);
        uint64_t used = c->icount - before;
        left = used < left ? left - used : 0;
        switch (why) {
        case CPU_EXIT_HLT:
            return true;
        case CPU_EXIT_EXCEPTION: {
            int v = c->exc_vector;
            if (v == EXC_DB && c->halted) {
                g_tf_after_hlt++; /* single-step trap after the closing HLT: the corpus ends there */
                return true;
            }
            if (v == EXC_SS && t->exc == EXC_GP && !*remapped && x->decoded && uses_ss(&x->insn)) {
                *remapped = true;
                if (!deliver_gp_instead(c)) {
                    add_note(res, "delivering #GP in place of #SS faulted again (%s)",
                             exc_name(c->exc_vector));
                    return false;
                }
                continue;
            }
            add_note(res, "stopped: %s (vector %d%s) at %04X:%04X, corpus expects %s%s", exc_name(v),
                     v, c->exc_has_error ? ", with error code" : "", c->seg[SR_CS].sel,
                     c->eip & 0xFFFF, t->exc >= 0 ? exc_name(t->exc) : "no exception",
                     v == EXC_UD ? " (invalid encoding?)" : "");
            return false;
        }
        case CPU_EXIT_LIMIT:
            add_note(res, "no HLT within %d instructions (now at %04X:%04X)", INSN_BUDGET,
                     c->seg[SR_CS].sel, c->eip & 0xFFFF);
            return false;
        case CPU_EXIT_SHUTDOWN:
            add_note(res, "shutdown (triple fault)");
            return false;
        default:
            add_note(res, "cpu_run stopped (%d)", (int)why);
            return false;
        }
    }
}

static uint16_t got_reg(const struct cpu *c, int k, uint32_t *high)
{
    uint32_t v;
    if (reg_gpr[k] >= 0)
        v = c->regs[reg_gpr[k]];
    else if (reg_sreg[k] >= 0)
        v = c->seg[reg_sreg[k]].sel;
    else if (k == RG_IP)
        v = c->eip;
    else
        v = cpu_get_eflags((struct cpu *)c);
    *high = v >> 16;
    return (uint16_t)v;
}

/* What the comparison leaves out for one test, and which masks turned out to matter. */
struct cmp {
    uint32_t undef;        /* insn_undefined_flags(): "undefined-flags" */
    uint32_t extra;        /* flags of a MASK entry ("aam-0-flags") */
    bool string_gp;        /* "string-#GP-pointers" */
    uint32_t image[2];     /* physical addresses of the pushed FLAGS image, low and high byte */
    bool m_undef, m_high, m_ipwrap, m_string, m_extra;
};

static uint32_t flags_mask(const struct cmp *m) { return FLAGS_COMPARED & ~(m->undef | m->extra); }

/* The corpus's flag_address is rounded down to even when SP is odd; where the handler's frame
 * really is follows from the final SS:SP (the handler is a HLT): FLAGS at SP+4. */
static void locate_flags_image(const struct sst_test *t, struct cmp *m)
{
    uint32_t ss = (uint32_t)t->fin[RG_SS] << 4, sp = t->fin[RG_SP];
    m->image[0] = ss + ((sp + 4) & 0xFFFF);
    m->image[1] = ss + ((sp + 5) & 0xFFFF);
}

/* "string-#GP-pointers": instead of the 286's already-stepped SI/DI/CX, check that the i686
 * stopped on a word element at offset FFFFh after whole iterations. */
static void check_string_fault(const struct cpu *c, const struct tctx *x, struct result *res)
{
    const struct sst_test *t = x->t;
    const struct insn *i = &x->insn;
    bool src = i->op == OP_MOVS || i->op == OP_CMPS || i->op == OP_LODS || i->op == OP_OUTS;
    bool dst = i->op != OP_LODS && i->op != OP_OUTS;
    uint16_t si = (uint16_t)c->regs[R_ESI], di = (uint16_t)c->regs[R_EDI];
    uint16_t cx = (uint16_t)c->regs[R_ECX];
    uint16_t iters = i->rep != REP_NONE ? (uint16_t)(t->init[RG_CX] - cx) : 0;
    int step = (t->init[RG_FLAGS] & FL_DF) ? -(int)i->osize : (int)i->osize;
    bool ok = i->osize == 2 && ((src && si == 0xFFFF) || (dst && di == 0xFFFF));
    if (i->rep == REP_NONE && cx != t->init[RG_CX])
        ok = false;
    if (i->rep != REP_NONE && iters > t->init[RG_CX])
        ok = false;
    if (src && si != (uint16_t)(t->init[RG_SI] + iters * step))
        ok = false;
    if (dst && di != (uint16_t)(t->init[RG_DI] + iters * step))
        ok = false;
    if (!ok)
        add_note(res, "string #GP: i686 stopped at SI %04X DI %04X CX %04X (from SI %04X DI %04X "
                 "CX %04X): not a word element at FFFFh after whole iterations", si, di, cx,
                 t->init[RG_SI], t->init[RG_DI], t->init[RG_CX]);
}

/* Whether the closing HLT sits at offset FFFFh of the final CS ("ip-wrap-at-ffff"). */
static bool hlt_at_ffff(const struct runner *r, const struct sst_test *t)
{
    return r->vm.mem.ram[((uint32_t)t->fin[RG_CS] << 4) + 0xFFFF] == 0xF4;
}

static void compare_regs(struct runner *r, const struct tctx *x, struct cmp *m,
                         struct result *res)
{
    struct cpu *c = &r->vm.cpu;
    const struct sst_test *t = x->t;
    for (int k = 0; k < RG_COUNT; k++) {
        uint32_t high;
        uint16_t got = got_reg(c, k, &high);
        uint32_t mask = 0xFFFF;
        if (k == RG_FLAGS) {
            mask = flags_mask(m);
            uint32_t diff = (uint32_t)(got ^ t->fin[k]);
            m->m_undef |= (diff & FLAGS_COMPARED & m->undef) != 0;
            m->m_extra |= (diff & FLAGS_COMPARED & m->extra & ~m->undef) != 0;
            m->m_high |= (diff & ~FLAGS_COMPARED & 0xFFFF) != 0;
        }
        if (m->string_gp && (k == RG_SI || k == RG_DI || k == RG_CX)) {
            m->m_string |= got != t->fin[k];
            mask = 0;
        }
        if (k == RG_IP && high == 1 && got == 0 && t->fin[k] == 0 && hlt_at_ffff(r, t)) {
            m->m_ipwrap = true; /* "ip-wrap-at-ffff" */
            high = 0;
        }
        if ((got ^ t->fin[k]) & mask) {
            struct diff *d = add_diff(res, D_REG);
            if (d) {
                d->reg = (uint8_t)k;
                d->init = t->init[k];
                d->exp = t->fin[k];
                d->got = got;
                d->mask = mask;
            }
        }
        if (high) {
            struct diff *d = add_diff(res, D_HIGH);
            if (d) {
                d->reg = (uint8_t)k;
                d->got = high;
            }
        }
        if (reg_sreg[k] >= 0 && c->seg[reg_sreg[k]].base != (uint32_t)got << 4) {
            struct diff *d = add_diff(res, D_BASE);
            if (d) {
                d->reg = (uint8_t)k;
                d->exp = (uint32_t)got << 4;
                d->got = c->seg[reg_sreg[k]].base;
            }
        }
    }
    if (m->string_gp)
        check_string_fault(c, x, res);
}

/* Per-byte comparison mask at physical address `a`: the pushed FLAGS image of an expected
 * exception loses its undefined bits, every other byte is compared whole. */
static uint8_t byte_mask(const struct sst_test *t, const struct cmp *m, uint32_t a)
{
    if (t->exc < 0)
        return 0xFF;
    uint32_t fl = ~flags_mask(m) & FLAGS_COMPARED;
    if (a == m->image[0])
        return (uint8_t)~fl;
    if (a == m->image[1])
        return (uint8_t)~(fl >> 8);
    return 0xFF;
}

/* Compare every page the test wrote or the CPU wrote, plus the pages of the listed bytes:
 * listed bytes must hold their final value, all other bytes their initial value (zero when
 * the corpus gives none), so a stray write anywhere in RAM is caught. */
static void compare_ram(struct runner *r, const struct tctx *x, struct cmp *m, struct result *res)
{
    const struct sst_test *t = x->t;
    const uint8_t *ram = r->vm.mem.ram;
    static uint32_t pages[RAM_PAGES];
    static bool seen[RAM_PAGES];
    unsigned np = 0;
    for (unsigned k = 0; k < r->ndirty; k++) {
        seen[r->dirty_list[k]] = true;
        pages[np++] = r->dirty_list[k];
    }
    for (size_t k = 0; k < t->fram.n; k++) {
        uint32_t pg = t->fram.v[k].addr >> PAGE_SHIFT;
        if (!seen[pg]) {
            seen[pg] = true;
            pages[np++] = pg;
        }
    }
    for (unsigned k = 0; k < np; k++) {
        uint32_t pg = pages[k], base = pg << PAGE_SHIFT;
        seen[pg] = false;
        memset(r->expect, 0, PAGE_SIZE);
        for (size_t j = 0; j < t->iram.n; j++)
            if (t->iram.v[j].addr >> PAGE_SHIFT == pg)
                r->expect[t->iram.v[j].addr - base] = t->iram.v[j].val;
        for (size_t j = 0; j < t->fram.n; j++)
            if (t->fram.v[j].addr >> PAGE_SHIFT == pg)
                r->expect[t->fram.v[j].addr - base] = t->fram.v[j].val;
        const uint8_t *got = ram + base;
        if (memcmp(got, r->expect, PAGE_SIZE) == 0)
            continue;
        for (uint32_t off = 0; off < PAGE_SIZE; off++) {
            if (got[off] == r->expect[off])
                continue;
            uint32_t a = base + off;
            uint8_t bm = byte_mask(t, m, a);
            if (bm != 0xFF) {
                uint32_t fl = (uint32_t)(uint8_t)((got[off] ^ r->expect[off]) & ~bm)
                              << (a == m->image[1] ? 8 : 0);
                m->m_undef |= (fl & m->undef) != 0;
                m->m_extra |= (fl & m->extra & ~m->undef) != 0;
            }
            if (((got[off] ^ r->expect[off]) & bm) == 0)
                continue;
            struct diff *d = add_diff(res, D_RAM);
            if (!d)
                continue;
            d->addr = a;
            d->exp = r->expect[off];
            d->got = got[off];
            d->mask = bm;
            for (size_t j = 0; j < t->fram.n; j++)
                if (t->fram.v[j].addr == a)
                    d->listed = true;
            for (size_t j = 0; j < t->iram.n; j++)
                if (t->iram.v[j].addr == a) {
                    d->has_init = true;
                    d->init = t->iram.v[j].val;
                }
        }
    }
}

/* ---------------------------------------------------------------- reporting */

static void print_failure(const char *file, const struct sst_test *t, const struct result *res,
                          uint32_t undef)
{
    printf("  FAIL %s #%ld \"%s\" hash %s\n", file, t->idx, t->name, t->hash);
    printf("       bytes:");
    for (unsigned k = 0; k < t->nbytes; k++)
        printf(" %02X", t->bytes[k]);
    if (t->exc >= 0)
        printf("   corpus: %s (vector %d), FLAGS image at %06X", exc_name(t->exc), t->exc,
               t->flag_addr);
    if (undef) {
        char fl[64];
        flag_letters(undef, fl, sizeof(fl));
        printf("   undefined: %s", fl);
    }
    printf("\n");
    for (unsigned k = 0; k < res->ndiffs; k++) {
        const struct diff *d = &res->d[k];
        char fl[96];
        switch (d->kind) {
        case D_REG:
            printf("       %-5s initial %04X  expected %04X  got %04X", reg_names[d->reg], d->init,
                   d->exp, d->got);
            if (d->reg == RG_FLAGS) {
                flag_letters((d->exp ^ d->got) & d->mask, fl, sizeof(fl));
                printf("  (differ: %s; compared %04X)", fl, d->mask);
            }
            printf("\n");
            break;
        case D_HIGH:
            printf("       %-5s upper 16 bits are %04X, expected 0000\n", reg_names[d->reg], d->got);
            break;
        case D_BASE:
            printf("       %-5s hidden base %08X, expected selector*16 = %08X\n", reg_names[d->reg],
                   d->got, d->exp);
            break;
        case D_RAM:
            if (d->has_init)
                printf("       ram %06X initial %02X  ", d->addr, d->init);
            else
                printf("       ram %06X initial --  ", d->addr);
            printf("expected %02X  got %02X%s%s\n", d->exp, d->got,
                   d->listed ? "" : "  (not written by the 286: stray write?)",
                   d->mask != 0xFF ? "  (flags image, undefined bits masked)" : "");
            break;
        default:
            printf("       %s\n", d->note);
            break;
        }
    }
    if (res->nmore)
        printf("       ... and %u more differences\n", res->nmore);
}

/* ---------------------------------------------------------------- groups */

enum group { G_ALU, G_MOVE, G_STACK, G_CTRL, G_STRING, G_BCD, G_SHIFT, G_MULDIV, G_FLAGS,
             G_MISC, G_COUNT };
static const char *const group_names[G_COUNT] = {"ALU", "moves", "stack", "control transfer",
                                                 "string", "BCD", "shifts", "mul/div", "flags",
                                                 "misc"};

static enum group group_of(const char *stem)
{
    unsigned op = (unsigned)strtoul(stem, NULL, 16) & 0xFF;
    const char *dot = strchr(stem, '.');
    int reg = dot ? dot[1] - '0' : -1;
    if (op < 0x40) {
        switch (op & 7) {
        case 6: case 7:
            if (op == 0x27 || op == 0x2F || op == 0x37 || op == 0x3F)
                return G_BCD;
            return G_STACK; /* PUSH/POP Sreg; 26/2E/36/3E are prefixes, no files */
        default: return G_ALU;
        }
    }
    if (op <= 0x4F)
        return G_ALU;
    if (op <= 0x5F)
        return G_STACK;
    if (op >= 0x70 && op <= 0x7F)
        return G_CTRL;
    if (op >= 0x80 && op <= 0x85)
        return G_ALU;
    if ((op >= 0x86 && op <= 0x8E) || (op >= 0x90 && op <= 0x99) || (op >= 0xA0 && op <= 0xA3) ||
        (op >= 0xB0 && op <= 0xBF) || (op >= 0xC4 && op <= 0xC7) || op == 0xD7)
        return G_MOVE;
    if ((op >= 0xA4 && op <= 0xA7) || (op >= 0xAA && op <= 0xAF) || (op >= 0x6C && op <= 0x6F))
        return G_STRING;
    if (op == 0xA8 || op == 0xA9)
        return G_ALU;
    if (op == 0xC0 || op == 0xC1 || (op >= 0xD0 && op <= 0xD3))
        return G_SHIFT;
    if (op == 0xD4 || op == 0xD5)
        return G_BCD;
    if (op == 0x69 || op == 0x6B)
        return G_MULDIV;
    if (op == 0x9C || op == 0x9D || op == 0x9E || op == 0x9F || op == 0xF5 ||
        (op >= 0xF8 && op <= 0xFD))
        return G_FLAGS;
    if (op == 0x60 || op == 0x61 || op == 0x68 || op == 0x6A || op == 0x8F || op == 0xC8 ||
        op == 0xC9)
        return G_STACK;
    if (op == 0x9A || op == 0xC2 || op == 0xC3 || (op >= 0xCA && op <= 0xCF) ||
        (op >= 0xE0 && op <= 0xE3) || (op >= 0xE8 && op <= 0xEB))
        return G_CTRL;
    if (op == 0xF6 || op == 0xF7)
        return reg >= 4 ? G_MULDIV : G_ALU;
    if (op == 0xFE)
        return G_ALU;
    if (op == 0xFF)
        return reg <= 1 ? G_ALU : reg == 6 ? G_STACK : G_CTRL;
    return G_MISC; /* BOUND, WAIT, SALC, ESC, IN/OUT, HLT */
}

/* ---------------------------------------------------------------- files */

struct counts {
    unsigned long pass, fail, skip;
};

static char *read_gz(const char *path, size_t *len, char *why, size_t whylen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(why, whylen, "cannot open: %s", strerror(errno));
        return NULL;
    }
    gzbuffer(f, 1 << 17);
    size_t cap = 1 << 21, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf) {
            gzclose(f);
            snprintf(why, whylen, "out of memory");
            return NULL;
        }
        if (n == cap) {
            if (cap > ((size_t)1 << 30)) {
                free(buf);
                gzclose(f);
                snprintf(why, whylen, "larger than 1 GiB uncompressed");
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        unsigned want = cap - n > (1u << 30) ? 1u << 30 : (unsigned)(cap - n);
        int got = gzread(f, buf + n, want);
        if (got < 0) {
            int e;
            snprintf(why, whylen, "gzip error: %s", gzerror(f, &e));
            free(buf);
            gzclose(f);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    gzclose(f);
    *len = n;
    return buf;
}

/* The mnemonic of a test name, after any LOCK/REP prefix words. */
static void name_mnemonic(const char *name, char *out, size_t n)
{
    static const char *const skip[] = {"lock", "rep", "repe", "repne", "repz", "repnz"};
    const char *p = name;
    for (;;) {
        while (*p == ' ')
            p++;
        size_t w = strcspn(p, " ");
        bool pref = false;
        for (size_t k = 0; k < sizeof(skip) / sizeof(skip[0]); k++)
            if (w == strlen(skip[k]) && strncmp(p, skip[k], w) == 0)
                pref = true;
        if (!pref || !p[w]) {
            snprintf(out, n, "%.*s", (int)(w < n ? w : n - 1), p);
            return;
        }
        p += w;
    }
}

/* The most frequent mnemonic of a file, for its summary line. */
struct mnem_tally {
    char name[8][16];
    unsigned count[8], n;
};

static void tally_add(struct mnem_tally *m, const char *test_name)
{
    char w[16];
    name_mnemonic(test_name, w, sizeof(w));
    for (unsigned k = 0; k < m->n; k++)
        if (strcmp(m->name[k], w) == 0) {
            m->count[k]++;
            return;
        }
    if (m->n < 8) {
        memcpy(m->name[m->n], w, sizeof(w));
        m->count[m->n++] = 1;
    }
}

static const char *tally_top(const struct mnem_tally *m)
{
    unsigned best = 0;
    for (unsigned k = 1; k < m->n; k++)
        if (m->count[k] > m->count[best])
            best = k;
    return m->n ? m->name[best] : "?";
}

static const char *g_hash_filter;
static long g_start_idx; /* --start: skip tests before this index (debugging order effects) */

static void run_file(struct runner *r, const char *dir, const char *fname, unsigned show,
                     struct counts *total, struct counts *grp)
{
    char path[4096], why[160], stem[32];
    snprintf(path, sizeof(path), "%s/%s", dir, fname);
    snprintf(stem, sizeof(stem), "%.*s", (int)(strlen(fname) - strlen(".json.gz")), fname);
    enum group g = group_of(stem);
    struct counts fc = {0, 0, 0};
    size_t len;
    char *text = read_gz(path, &len, why, sizeof(why));
    static struct json_doc doc;
    if (!text || json_parse(&doc, text, len) != 0 || doc.root.type != JSON_ARRAY) {
        if (text && doc.err[0])
            snprintf(why, sizeof(why), "JSON error at byte %zu: %s", doc.err_offset, doc.err);
        else if (text)
            snprintf(why, sizeof(why), "top level is not an array");
        printf("%-6s %-8s  FILE ERROR: %s\n", stem, "?", why);
        free(text);
        total->fail++;
        grp[g].fail++;
        return;
    }
    static struct sst_test t;
    struct mnem_tally mnem = {0};
    unsigned shown = 0;
    for (uint32_t k = 0; k < doc.root.len; k++) {
        struct result res = {.pass = true};
        if (!parse_test(json_at(&doc.root, k), &t, why, sizeof(why))) {
            fc.fail++;
            if (shown++ < show)
                printf("  FAIL %s test %u: malformed: %s\n", stem, k, why);
            continue;
        }
        tally_add(&mnem, t.name);
        if (t.idx >= 0 && t.idx < g_start_idx)
            continue;
        if (g_hash_filter && strncmp(t.hash, g_hash_filter, strlen(g_hash_filter)) != 0)
            continue;

        struct tctx x = {.t = &t, .pfx = scan_prefixes(&t)};
        x.decoded = decode_insn(&x.insn, t.bytes, t.nbytes, false) == DEC_OK;
        load_state(r, &t);
        x.c = &r->vm.cpu;
        bool skipped = false;
        for (int e = 0; e < EX_COUNT; e++)
            if (exclusions[e].kind == EX_SKIP && exclusions[e].applies(&x)) {
                exclusions[e].hits++;
                skipped = true;
                break;
            }
        if (skipped) {
            clean_pages(r);
            fc.skip++;
            continue;
        }

        for (int e = 0; e < EX_COUNT; e++)
            if (exclusions[e].kind == EX_KEEP && exclusions[e].applies(&x))
                exclusions[e].hits++;
        struct cmp m = {0};
        m.undef = x.decoded ? insn_undefined_flags(&x.insn, &r->vm.cpu) & FL_ARITH : 0;
        if (mask_aam_de(&x))
            m.extra = FL_SF | FL_ZF | FL_PF;
        m.string_gp = mask_string_gp(&x);
        if (t.exc >= 0) {
            locate_flags_image(&t, &m);
            if (t.flag_addr != m.image[0]) {
                if (t.flag_addr == (m.image[0] & ~1u))
                    g_flag_addr_even++;
                else
                    g_flag_addr_other++;
            }
        }
        bool remapped = false;
        bool ran = run_to_hlt(r, &x, &res, &remapped);
        /* After a run that went astray the registers still say a lot; RAM would be noise. */
        compare_regs(r, &x, &m, &res);
        if (ran)
            compare_ram(r, &x, &m, &res);
        clean_pages(r);
        if (res.pass) {
            fc.pass++;
            exclusions[EXM_UNDEF].hits += m.m_undef;
            exclusions[EXM_FLAGS_HIGH].hits += m.m_high;
            exclusions[EXM_SS_GP].hits += remapped;
            exclusions[EXM_IP_WRAP].hits += m.m_ipwrap;
            exclusions[EXM_STRING_GP].hits += m.m_string;
            exclusions[EXM_AAM_DE].hits += m.m_extra;
        } else {
            fc.fail++;
            if (shown++ < show)
                print_failure(stem, &t, &res, m.undef | m.extra);
        }
    }
    if (shown > show)
        printf("  ... %u more failures in %s not shown\n", shown - show, stem);
    free(text);
    printf("%-6s %-8s %5lu tests %5lu passed %5lu failed %5lu skipped\n", stem, tally_top(&mnem),
           fc.pass + fc.fail + fc.skip, fc.pass, fc.fail, fc.skip);
    fflush(stdout);
    total->pass += fc.pass;
    total->fail += fc.fail;
    total->skip += fc.skip;
    grp[g].pass += fc.pass;
    grp[g].fail += fc.fail;
    grp[g].skip += fc.skip;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    unsigned show = DEFAULT_SHOW;
    const char *dir = NULL;
    const char *filters[64];
    unsigned nfilters = 0;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--show") == 0 && k + 1 < argc)
            show = (unsigned)strtoul(argv[++k], NULL, 10);
        else if (strcmp(argv[k], "--start") == 0 && k + 1 < argc)
            g_start_idx = strtol(argv[++k], NULL, 10);
        else if (strcmp(argv[k], "--hash") == 0 && k + 1 < argc)
            g_hash_filter = argv[++k];
        else if (!dir)
            dir = argv[k];
        else if (nfilters < sizeof(filters) / sizeof(filters[0]))
            filters[nfilters++] = argv[k];
    }
    if (!dir) {
        fprintf(stderr, "usage: %s CORPUS_DIR [--show N] [--hash PREFIX] [OPCODE_FILE_PREFIX...]\n", argv[0]);
        return 2;
    }

    struct stat st;
    DIR *d = stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? opendir(dir) : NULL;
    if (!d) {
        printf("SKIPPED: SingleStepTests 80286 corpus not found at %s (%s)\n", dir,
               strerror(errno ? errno : ENOENT));
        return 77;
    }
    char **names = NULL;
    size_t nnames = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l <= 8 || strcmp(de->d_name + l - 8, ".json.gz") != 0)
            continue;
        bool want = nfilters == 0;
        for (unsigned f = 0; f < nfilters; f++)
            if (strncmp(de->d_name, filters[f], strlen(filters[f])) == 0)
                want = true;
        if (!want)
            continue;
        if (nnames == cap) {
            cap = cap ? cap * 2 : 512;
            names = realloc(names, cap * sizeof(*names));
            if (!names)
                die("out of memory");
        }
        names[nnames] = strdup(de->d_name);
        if (!names[nnames++])
            die("out of memory");
    }
    closedir(d);
    if (nnames == 0) {
        printf("SKIPPED: no *.json.gz opcode files%s in %s\n", nfilters ? " matching the filter" : "",
               dir);
        return 77;
    }
    qsort(names, nnames, sizeof(*names), name_cmp);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    static struct runner r;
    runner_init(&r);

    printf("SingleStepTests 80286 real mode: %zu opcode files from %s\n", nnames, dir);
    printf("test rig: 16 MiB RAM, no A20 wrap, port reads return all-ones (open bus), writes are "
           "dropped\n\n");
    struct counts total = {0, 0, 0}, grp[G_COUNT];
    memset(grp, 0, sizeof(grp));
    for (size_t k = 0; k < nnames; k++) {
        run_file(&r, dir, names[k], show, &total, grp);
        free(names[k]);
    }
    free(names);
    clock_gettime(CLOCK_MONOTONIC, &t1);

    printf("\nper group:\n");
    for (int g = 0; g < G_COUNT; g++) {
        unsigned long run = grp[g].pass + grp[g].fail;
        printf("  %-17s %6lu passed %6lu failed %6lu skipped  %6.2f%% of run tests pass\n",
               group_names[g], grp[g].pass, grp[g].fail, grp[g].skip,
               run ? 100.0 * (double)grp[g].pass / (double)run : 0.0);
    }
    printf("\n286-vs-i686 differences: excluded (tests skipped), masked (tests that passed only "
           "thanks to the mask), kept (considered, no difference: tests run and compared):\n");
    static const char *const kind_names[] = {"excluded:", "masked:  ", "kept:    "};
    for (int e = 0; e < EX_COUNT; e++)
        printf("  %s %-20s %6lu  [%s] %s\n", kind_names[exclusions[e].kind], exclusions[e].id,
               exclusions[e].hits, exclusions[e].scope, exclusions[e].reason);
    printf("\ncorpus note: flag_address is the pushed FLAGS image rounded down to even (odd SP) "
           "in %lu tests and elsewhere in %lu; the image is located from the final SS:SP+4\n",
           g_flag_addr_even, g_flag_addr_other);
    if (g_tf_after_hlt)
        printf("harness note: %lu tests set TF (POPF/IRET); their single-step trap after the closing "
           "HLT is not taken, as the corpus ends at the HLT\n", g_tf_after_hlt);
    printf("\ntime: %.2f s\n", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    printf("conformance: %lu passed, %lu failed, %lu skipped\n", total.pass, total.fail, total.skip);
    testvm_destroy(&r.vm);
    return total.fail ? 1 : 0;
}
