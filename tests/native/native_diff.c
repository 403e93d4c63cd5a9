/* native_diff: the interpreter checked against the host CPU (DESIGN decision 8).
 *
 * Random sequences of unprivileged (and some privileged, which must fault) 32-bit instructions
 * from gen.c run twice: natively, one instruction at a time, in the oracle32 helper process,
 * and in the interpreter (flat 32-bit user mode, CPL 3, paging on with exactly the pages the
 * oracle has mapped, so stray accesses fault identically on both sides).
 *
 * Comparison: after every instruction, all GPRs, EIP (relative to the code base), the exception
 * vector (plus error code for #GP/#PF/#AC and CR2 for #PF), the whole 64 KiB data region and
 * EFLAGS. EFLAGS bits that insn_undefined_flags() says the instruction leaves undefined are
 * masked for that instruction only. Comparing after every instruction is what makes that mask
 * exact: a flag is ignored only right after the instruction that left it undefined. The
 * interpreter runs the whole sequence on its own state (lazy flags included), except that when
 * masked bits differ they are copied from the native state, so a later instruction that
 * consumes an undefined flag (ADC, SETcc, PUSHF...) starts from the same input on both sides.
 *
 * The x87/MMX state (an FSAVE image: CW, SW, full tag word, pointers, the eight registers) is
 * compared after every instruction too. Left out, each for a reason given where it is done:
 * the pointers when the native state comes from a signal frame (fpu_differs), pointers the
 * host kernel lost (fpu_pointers_lost), the state after a fault inside FLDENV/FSTENV/FRSTOR/
 * FSAVE, and 16-bit address-size operands running past offset FFFFh (check_case).
 *
 * Usage: native_diff [seed] [count]         count = instructions to compare (default 1000000)
 *        native_diff --case N [--seed S]    run one case, printing every step
 *        native_diff --code HEX [--set reg=value] [--mem addr=HEX]   a hand-written case
 *        options: --max-report K (detailed mismatch reports, default 20), --max-per-op K
 *        (of which at most K per decoded operation, default 2, and 3 per kind of mismatch),
 *        --batch N (cases per message), --groups x87,mmx (generate only these groups)
 * Exit status: 0 all equal, 1 mismatches (or an oracle problem), 77 no oracle on this host. */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cpu/cpu.h"
#include "cpu/fpu.h"
#include "cpu/insn.h"
#include "cpu/undef_flags.h"
#include "cpu/icache.h"
#include "tests/native/gen.h"
#include "tests/native/oracle_proto.h"
#include "translator/translator.h"
#include "tests/support/testvm.h"

#ifndef ORACLE32_PATH
#define ORACLE32_PATH "oracle32"
#endif

extern char **environ;

/* EFLAGS bits compared: everything a CPL-3 program can observe, less RF (a fault frame may
 * carry it) and the v8086 bits. */
#define CMP_FLAGS 0x00247FD7u
#define PT_DIR 0x00300000u
#define PT_TAB 0x00301000u
#define RAM_SIZE (4u << 20)
/* #PF error code bit 4 (instruction fetch) exists only with NX paging, which the host uses and
 * the modelled CPU does not have. */
#define PFEC_FETCH 0x10u
#define CR0_LINUX (CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG)

static const char *const reg_names[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

/* ------------------------------------------------------------------ oracle process */

struct oracle {
    pid_t pid;
    int wfd, rfd;
    uint8_t *in;
    size_t in_len, in_pos, in_cap;
};

static int oracle_start(struct oracle *o, const char *path)
{
    int to_child[2], from_child[2];
    memset(o, 0, sizeof(*o));
    if (access(path, X_OK) != 0)
        return -1;
    if (pipe2(to_child, O_CLOEXEC) || pipe2(from_child, O_CLOEXEC))
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, to_child[0], 3);
    posix_spawn_file_actions_adddup2(&fa, from_child[1], 4);
    char *argv[] = {(char *)path, "3", "4", NULL};
    int r = posix_spawn(&o->pid, path, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(to_child[0]);
    close(from_child[1]);
    if (r != 0) {
        close(to_child[1]);
        close(from_child[0]);
        return -1;
    }
    o->wfd = to_child[1];
    o->rfd = from_child[0];
    return 0;
}

static bool oracle_fill(struct oracle *o)
{
    if (o->in_pos && o->in_pos == o->in_len)
        o->in_pos = o->in_len = 0;
    if (o->in_cap - o->in_len < 65536) {
        if (o->in_pos) {
            memmove(o->in, o->in + o->in_pos, o->in_len - o->in_pos);
            o->in_len -= o->in_pos;
            o->in_pos = 0;
        }
        if (o->in_cap - o->in_len < 65536) {
            o->in_cap = o->in_cap ? o->in_cap * 2 : 1 << 20;
            o->in = realloc(o->in, o->in_cap);
            if (!o->in)
                abort();
        }
    }
    ssize_t n = read(o->rfd, o->in + o->in_len, o->in_cap - o->in_len);
    if (n < 0 && errno == EINTR)
        return true;
    if (n <= 0)
        return false;
    o->in_len += (size_t)n;
    return true;
}

/* Write a whole message while draining whatever the oracle sends meanwhile (it may be
 * answering the previous batch: two messages are in flight at once). */
static bool oracle_send(struct oracle *o, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len) {
        struct pollfd pf[2] = {{o->wfd, POLLOUT, 0}, {o->rfd, POLLIN, 0}};
        if (poll(pf, 2, 60000) <= 0)
            return false;
        if (pf[1].revents & (POLLIN | POLLHUP))
            if (!oracle_fill(o))
                return false;
        if (pf[0].revents & POLLOUT) {
            ssize_t n = write(o->wfd, p, len);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return false;
            p += n;
            len -= (size_t)n;
        } else if (pf[0].revents & (POLLERR | POLLHUP)) {
            return false;
        }
    }
    return true;
}

/* The next complete message; its payload stays valid until the next call. */
static const uint8_t *oracle_recv(struct oracle *o, struct orc_msg *m)
{
    for (;;) {
        size_t have = o->in_len - o->in_pos;
        if (have >= sizeof(*m)) {
            memcpy(m, o->in + o->in_pos, sizeof(*m));
            if (m->magic != ORC_MAGIC)
                return NULL;
            if (have >= sizeof(*m) + m->bytes) {
                const uint8_t *payload = o->in + o->in_pos + sizeof(*m);
                o->in_pos += sizeof(*m) + m->bytes;
                return payload;
            }
        }
        struct pollfd pf = {o->rfd, POLLIN, 0};
        if (poll(&pf, 1, 60000) <= 0 || !oracle_fill(o))
            return NULL;
    }
}

static void oracle_stop(struct oracle *o)
{
    if (o->pid > 0) {
        struct orc_msg q = {ORC_MAGIC, ORC_QUIT, 0, 0};
        ssize_t w = write(o->wfd, &q, sizeof(q));
        (void)w;
        close(o->wfd);
        close(o->rfd);
        int st;
        waitpid(o->pid, &st, 0);
        o->pid = 0;
    }
    free(o->in);
    o->in = NULL;
}

/* ------------------------------------------------------------------ byte buffers */

struct buf {
    uint8_t *p;
    size_t len, cap;
};

static void *buf_add(struct buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1 << 16;
        while (b->len + n > cap)
            cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p)
            abort();
        b->cap = cap;
    }
    void *r = b->p + b->len;
    memset(r, 0, n);
    b->len += n;
    return r;
}

static void serialize_case(struct buf *b, const struct gen_case *gc)
{
    struct orc_case *c = buf_add(b, sizeof(*c));
    memcpy(c->regs, gc->regs, sizeof(c->regs));
    c->eflags = gc->eflags;
    c->flags = gc->es_ldt ? ORC_CASE_ES_LDT : 0;
    c->code_len = gc->code_len;
    c->n_insns = gc->n_insns;
    c->n_patches = gc->n_patches;
    memcpy(c->fpu, gc->fpu, sizeof(c->fpu));
    for (unsigned i = 0; i < gc->n_insns; i++) {
        struct orc_insn *in = buf_add(b, sizeof(*in));
        in->off = gc->insn[i].off;
        in->len = gc->insn[i].len;
        in->kind = gc->insn[i].kind;
    }
    memcpy(buf_add(b, orc_pad4(gc->code_len)), gc->code, gc->code_len);
    for (unsigned i = 0; i < gc->n_patches; i++) {
        struct orc_patch *p = buf_add(b, sizeof(*p));
        p->off = gc->patch[i].off;
        p->len = gc->patch[i].len;
        memcpy(buf_add(b, orc_pad4(p->len)), gc->patch[i].bytes, p->len);
    }
}

/* ------------------------------------------------------------------ interpreter side */

struct run {
    uint64_t seed;
    uint64_t count;
    unsigned max_report;
    unsigned max_per_op;
    bool single;  /* --case: print every step */
    struct testvm vm;
    uint8_t pattern[ORC_DATA_SIZE];
    uint8_t native_mem[ORC_DATA_SIZE];
    csh cs;
    /* statistics */
    uint64_t steps, cases, mismatches, harness_errors;
    uint64_t group_steps[GRP_COUNT], group_mism[GRP_COUNT];
    uint64_t native_vec[33];
    uint64_t op_mism[OP_COUNT];
    unsigned op_reported[OP_COUNT]; /* detailed reports are limited per operation */
    /* Kinds of mismatch (what differs, interpreter vector, native vector), with counts: a
     * missing feature shows up in every operation, so detailed reports are limited per kind
     * too, and the summary lists the kinds. */
    struct kind {
        const char *what;
        int iv, nv;
        uint64_t count;
        unsigned reported;
    } kinds[64];
    unsigned n_kinds;
    uint64_t flag_resyncs;
    uint64_t x87_wrap_skips, x87_partial_faults, x87_ptr_resyncs, x87_steps, x87_cases;
    unsigned reported;
};

static void vm_setup(struct run *r)
{
    if (testvm_init(&r->vm, RAM_SIZE)) {
        fprintf(stderr, "native_diff: cannot create the test VM\n");
        exit(1);
    }
    testvm_flat32_user(&r->vm);
    struct memmap *m = &r->vm.mem;
    memmap_write(m, PT_DIR, PT_TAB | 0x27, 4); /* P W U A */
    for (uint32_t a = ORC_DATA_BASE; a < ORC_DATA_BASE + ORC_DATA_SIZE; a += 4096)
        memmap_write(m, PT_TAB + (a >> 12) * 4, a | 0x67, 4); /* P W U A D */
    memmap_write(m, PT_TAB + (ORC_CODE_BASE >> 12) * 4, ORC_CODE_BASE | 0x67, 4);
}

static void vm_load_case(struct run *r, const struct gen_case *gc)
{
    struct cpu *c = &r->vm.cpu;
    struct memmap *m = &r->vm.mem;
    if (c->cr0 != CR0_LINUX || c->cr3 != PT_DIR || c->cr4 != 0) {
        c->cr0 = CR0_LINUX;
        c->cr3 = PT_DIR;
        c->cr4 = 0;
        cpu_flush_tlb(c, false);
    }
    const uint32_t common = SEG_P | SEG_S | SEG_DB | SEG_G | (3u << 13);
    const uint32_t ldt = SEG_P | SEG_S | SEG_DB | (3u << 13) | (0x3u << 8);
    cpu_set_seg_cache(c, SR_CS, ORC_FLAT_CS, 0, 0xFFFFFFFFu, common | (0xBu << 8));
    cpu_set_seg_cache(c, SR_SS, ORC_FLAT_DS, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    cpu_set_seg_cache(c, SR_DS, ORC_FLAT_DS, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    cpu_set_seg_cache(c, SR_GS, ORC_FLAT_DS, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    cpu_set_seg_cache(c, SR_FS, ORC_LDT_SEL, ORC_DATA_BASE, 0xFFFF, ldt);
    if (gc->es_ldt)
        cpu_set_seg_cache(c, SR_ES, ORC_LDT_SEL, ORC_DATA_BASE, 0xFFFF, ldt);
    else
        cpu_set_seg_cache(c, SR_ES, ORC_FLAT_DS, 0, 0xFFFFFFFFu, common | (0x3u << 8));
    memcpy(c->regs, gc->regs, sizeof(c->regs));
    fpu_load_save_area(c, gc->fpu, 4); /* protected mode: the 32-bit protected format */
    c->eip = ORC_CODE_BASE;
    cpu_set_eflags(c, gc->eflags);
    c->halted = false;
    c->shutdown = false;
    c->stop_requested = false;
    c->inhibit_irq = 0;
    c->fault_depth = 0;
    c->exc_vector = -1;
    c->stop_on_exception = 0xFFFFFFFFu;

    memmap_copy_to(m, ORC_DATA_BASE, r->pattern, ORC_DATA_SIZE);
    memcpy(r->native_mem, r->pattern, ORC_DATA_SIZE);
    for (unsigned i = 0; i < gc->n_patches; i++) {
        const struct gen_patch *p = &gc->patch[i];
        memmap_copy_to(m, ORC_DATA_BASE + p->off, p->bytes, p->len);
        memcpy(r->native_mem + p->off, p->bytes, p->len);
    }
    uint8_t code[ORC_MAX_CODE + 32];
    memset(code, 0xCC, sizeof(code));
    memcpy(code, gc->code, gc->code_len);
    memmap_copy_to(m, ORC_CODE_BASE, code, gc->code_len + 32);
}

struct state {
    uint32_t regs[8];
    uint32_t eflags, eip;
    int vector;
    uint32_t err, cr2;
    uint8_t fpu[108]; /* FSAVE image, 32-bit protected-mode format */
};

static bool is_string_op(unsigned op)
{
    return op == OP_MOVS || op == OP_CMPS || op == OP_STOS || op == OP_LODS || op == OP_SCAS ||
           op == OP_INS || op == OP_OUTS;
}

/* One guest instruction in the interpreter (a REP string instruction may take several
 * cpu_run() calls if the interpreter executes it an iteration at a time). */
static void interp_step(struct run *r, const struct insn *in, bool decoded, struct state *s)
{
    struct cpu *c = &r->vm.cpu;
    uint32_t start = c->eip;
    c->exc_vector = -1;
    enum cpu_exit e = cpu_run(c, 1);
    for (unsigned k = 0; e == CPU_EXIT_LIMIT && decoded && in->rep && is_string_op(in->op) &&
                         c->eip == start && k < 1000000;
         k++)
        e = cpu_run(c, 1);
    memcpy(s->regs, c->regs, sizeof(s->regs));
    fpu_store_save_area(c, s->fpu, 4);
    s->eflags = cpu_get_eflags(c);
    s->eip = c->eip - ORC_CODE_BASE;
    s->err = 0;
    s->cr2 = 0;
    switch (e) {
    case CPU_EXIT_LIMIT: s->vector = -1; break;
    case CPU_EXIT_EXCEPTION:
        s->vector = c->exc_vector;
        s->err = c->exc_error;
        s->cr2 = c->cr2;
        break;
    case CPU_EXIT_HLT: s->vector = -10; break;
    case CPU_EXIT_SHUTDOWN: s->vector = -11; break;
    default: s->vector = -12; break;
    }
    if (e == CPU_EXIT_SHUTDOWN || e == CPU_EXIT_STOP) {
        c->shutdown = false;
        c->stop_requested = false;
    }
}

static const char *vector_name(int v)
{
    static const char *const n[] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                                    "#DF", "?9", "#TS", "#NP", "#SS", "#GP", "#PF", "?15",
                                    "#MF", "#AC", "#MC"};
    if (v == -1)
        return "none";
    if (v == -2)
        return "timeout";
    if (v == -10)
        return "HLT-exit";
    if (v == -11)
        return "shutdown";
    if (v == -12)
        return "stop";
    if (v >= 0 && v < (int)(sizeof(n) / sizeof(n[0])))
        return n[v];
    return "?";
}

static bool vector_has_error(int v) { return v == EXC_GP || v == EXC_PF || v == EXC_AC || (v >= 10 && v <= 12); }

static void disasm_line(struct run *r, const struct gen_case *gc, unsigned i, char *out, size_t n)
{
    const struct gen_insn *in = &gc->insn[i];
    cs_insn *ci;
    size_t k = cs_disasm(r->cs, gc->code + in->off, in->len, ORC_CODE_BASE + in->off, 1, &ci);
    if (k == 1 && ci->size == in->len) {
        snprintf(out, n, "%.31s %.159s", ci->mnemonic, ci->op_str);
    } else if (k == 1) {
        snprintf(out, n, "%.31s %.159s   (capstone length %u)", ci->mnemonic, ci->op_str, ci->size);
    } else {
        snprintf(out, n, "(bad)");
    }
    if (k)
        cs_free(ci, k);
}

static void print_sequence(struct run *r, const struct gen_case *gc, int mark)
{
    for (unsigned i = 0; i < gc->n_insns; i++) {
        const struct gen_insn *in = &gc->insn[i];
        char hex[64] = "", dis[256];
        for (unsigned k = 0; k < in->len && k < 15; k++)
            snprintf(hex + 3 * k, sizeof(hex) - 3 * k, "%02x ", gc->code[in->off + k]);
        disasm_line(r, gc, i, dis, sizeof(dis));
        printf("  %s %08x: %-36s %-40s [%s]\n", (int)i == mark ? "=>" : "  ",
               ORC_CODE_BASE + in->off, hex, dis, gen_group_names[in->group]);
    }
}

/* x87 state fields compared: the 16-bit CW, SW and tag word (full tags, computed from the
 * contents on both sides), FIP, FCS, FOP, FDP, FDS, and the eight registers (empty ones too:
 * their contents survive FFREE, pops and FINIT). The reserved upper halves of the image are
 * not compared (the kernel's signal frame, used at faults, builds them itself). */
static uint32_t rd32le(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static const char *fpu_differs(const uint8_t *a, const uint8_t *n, bool fault)
{
    static const struct {
        unsigned off;
        uint32_t mask;
        const char *what;
    } f[] = {{0, 0xFFFF, "x87 CW differs"}, {4, 0xFFFF, "x87 SW differs"},
             {8, 0xFFFF, "x87 tag word differs"}, {12, ~0u, "x87 FIP differs"},
             {16, 0x07FFFFFF, "x87 FCS/FOP differs"}, {20, ~0u, "x87 FDP differs"},
             {24, 0xFFFF, "x87 FDS differs"}};
    /* When a step ends in a signal the native state comes from the kernel's frame, where the
     * instruction and data pointers are not the processor's (a 64-bit kernel saves them in
     * the 64-bit layout and fills FCS/FDS from the user registers, FOP with 0; this AMD host
     * saves FIP/FDP only with an error pending): only CW, SW, tags and registers count. */
    for (unsigned k = 0; k < (fault ? 3u : sizeof(f) / sizeof(f[0])); k++)
        if ((rd32le(a + f[k].off) ^ rd32le(n + f[k].off)) & f[k].mask)
            return f[k].what;
    if (memcmp(a + 28, n + 28, 80) != 0)
        return "x87/MMX registers differ";
    return NULL;
}

/* Differences only in the pointers (FIP, FCS, FOP, FDP, FDS), each native one that differs
 * being zero: a context switch of the oracle between its FRSTOR and FNSAVE went through the
 * kernel's 64-bit XSAVE/XRSTOR, which has no FCS/FDS (they come back as 0), and this AMD host
 * drops FIP/FDP/FOP there too unless an error is pending. */
static bool fpu_pointers_lost(const uint8_t *a, const uint8_t *n)
{
    if (memcmp(a, n, 12) != 0 || memcmp(a + 28, n + 28, 80) != 0)
        return false;
    static const struct {
        unsigned off, shift;
        uint32_t mask;
    } f[] = {{12, 0, ~0u}, {16, 0, 0xFFFF}, {16, 16, 0x7FF}, {20, 0, ~0u}, {24, 0, 0xFFFF}};
    bool any = false;
    for (unsigned k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
        uint32_t x = (rd32le(a + f[k].off) >> f[k].shift) & f[k].mask;
        uint32_t y = (rd32le(n + f[k].off) >> f[k].shift) & f[k].mask;
        if (x != y) {
            if (y != 0)
                return false;
            any = true;
        }
    }
    return any;
}

static void print_fpu_pair(const uint8_t *a, const uint8_t *n)
{
    static const char *const names[7] = {"fcw", "fsw", "ftw", "fip", "fcs:op", "fdp", "fds"};
    static const uint32_t masks[7] = {0xFFFF, 0xFFFF, 0xFFFF, ~0u, 0x07FFFFFF, ~0u, 0xFFFF};
    for (unsigned k = 0; k < 7; k++) {
        uint32_t x = rd32le(a + 4 * k) & masks[k], y = rd32le(n + 4 * k) & masks[k];
        printf("    %-6s   %08x      %08x %s\n", names[k], x, y, x != y ? "  <==" : "");
    }
    for (unsigned k = 0; k < 8; k++) {
        const uint8_t *p = a + 28 + 10 * k, *q = n + 28 + 10 * k;
        printf("    st%u      %04x:%08x%08x  %04x:%08x%08x %s\n", k, p[8] | p[9] << 8,
               rd32le(p + 4), rd32le(p), q[8] | q[9] << 8, rd32le(q + 4), rd32le(q),
               memcmp(p, q, 10) ? "  <==" : "");
    }
}

static void print_state_pair(const struct state *a, const struct state *n, uint32_t undef)
{
    printf("             interpreter   native\n");
    for (int k = 0; k < 8; k++)
        printf("    %-6s   %08x      %08x %s\n", reg_names[k], a->regs[k], n->regs[k],
               a->regs[k] != n->regs[k] ? "  <==" : "");
    printf("    %-6s   %08x      %08x %s\n", "eip", a->eip + ORC_CODE_BASE, n->eip + ORC_CODE_BASE,
           a->eip != n->eip ? "  <==" : "");
    uint32_t d = (a->eflags ^ n->eflags) & CMP_FLAGS & ~undef;
    printf("    %-6s   %08x      %08x %s (compared mask %08x, undefined %08x)\n", "eflags",
           a->eflags, n->eflags, d ? "  <==" : "", CMP_FLAGS & ~undef, undef);
    printf("    %-6s   %-8s      %-8s %s\n", "vector", vector_name(a->vector),
           vector_name(n->vector), a->vector != n->vector ? "  <==" : "");
    if (a->vector >= 0 || n->vector >= 0)
        printf("    %-6s   %08x      %08x\n", "error", a->err, n->err);
    if (a->vector == EXC_PF || n->vector == EXC_PF)
        printf("    %-6s   %08x      %08x\n", "cr2", a->cr2, n->cr2);
    print_fpu_pair(a->fpu, n->fpu);
}

static void print_mem_diff(struct run *r)
{
    const uint8_t *im = r->vm.mem.ram + ORC_DATA_BASE;
    unsigned shown = 0;
    for (uint32_t off = 0; off < ORC_DATA_SIZE && shown < 6;) {
        if (im[off] == r->native_mem[off]) {
            off++;
            continue;
        }
        uint32_t s = off & ~7u;
        printf("    memory %08x  interp:", ORC_DATA_BASE + s);
        for (uint32_t k = 0; k < 16; k++)
            printf(" %02x", im[s + k]);
        printf("\n    memory %08x  native:", ORC_DATA_BASE + s);
        for (uint32_t k = 0; k < 16; k++)
            printf(" %02x", r->native_mem[s + k]);
        printf("\n");
        off = s + 16;
        shown++;
    }
}

static void report(struct run *r, uint64_t case_no, const struct gen_case *gc, unsigned step,
                   unsigned insn_idx, const struct state *before, const struct state *interp,
                   const struct state *native, uint32_t undef, const char *what, bool mem_differs)
{
    printf("\n=== MISMATCH seed=%" PRIu64 " case=%" PRIu64 " step=%u: %s\n", r->seed, case_no, step,
           what);
    printf("  reproduce: native_diff --seed %" PRIu64 " --case %" PRIu64 "\n", r->seed, case_no);
    printf("  initial: ");
    for (int k = 0; k < 8; k++)
        printf("%s=%08x ", reg_names[k], gc->regs[k]);
    printf("eflags=%08x es=%s\n", gc->eflags, gc->es_ldt ? "ldt" : "flat");
    for (unsigned i = 0; i < gc->n_patches; i++) {
        printf("  patch %08x:", ORC_DATA_BASE + gc->patch[i].off);
        for (unsigned k = 0; k < gc->patch[i].len; k++)
            printf(" %02x", gc->patch[i].bytes[k]);
        printf("\n");
    }
    print_sequence(r, gc, (int)insn_idx);
    printf("  state before the instruction:\n   ");
    for (int k = 0; k < 8; k++)
        printf(" %s=%08x", reg_names[k], before->regs[k]);
    printf(" eflags=%08x\n", before->eflags);
    print_state_pair(interp, native, undef);
    if (mem_differs)
        print_mem_diff(r);
}

static bool apply_diffs(struct run *r, const uint8_t **pp, const uint8_t *end, uint32_t n)
{
    const uint8_t *p = *pp;
    for (uint32_t k = 0; k < n; k++) {
        struct orc_patch d;
        if ((size_t)(end - p) < sizeof(d))
            return false;
        memcpy(&d, p, sizeof(d));
        p += sizeof(d);
        if (d.off >= ORC_DATA_SIZE || d.len > ORC_DATA_SIZE - d.off ||
            (size_t)(end - p) < orc_pad4(d.len))
            return false;
        memcpy(r->native_mem + d.off, p, d.len);
        p += orc_pad4(d.len);
    }
    *pp = p;
    return true;
}

/* After FNSTENV/FNSAVE at `lin`: the data regions differ only in the pointer fields of the
 * stored environment, and each native field that differs is zero (see fpu_pointers_lost). */
static bool env_ptrs_lost(const struct run *r, uint32_t lin, unsigned osize)
{
    static const uint8_t f32[][2] = {{12, 4}, {16, 2}, {18, 2}, {20, 4}, {24, 2}};
    static const uint8_t f16[][2] = {{6, 2}, {8, 2}, {10, 2}, {12, 2}};
    const uint8_t(*f)[2] = osize == 4 ? f32 : f16;
    unsigned nf = osize == 4 ? 5 : 4, lo = f[0][0], hi = f[nf - 1][0] + f[nf - 1][1];
    uint32_t off = lin - ORC_DATA_BASE;
    if (lin < ORC_DATA_BASE || off + hi > ORC_DATA_SIZE)
        return false;
    const uint8_t *im = r->vm.mem.ram + ORC_DATA_BASE, *nm = r->native_mem;
    if (memcmp(im, nm, off + lo) != 0 ||
        memcmp(im + off + hi, nm + off + hi, ORC_DATA_SIZE - off - hi) != 0)
        return false;
    for (unsigned k = 0; k < nf; k++) {
        uint32_t x = 0, y = 0;
        memcpy(&x, im + off + f[k][0], f[k][1]);
        memcpy(&y, nm + off + f[k][0], f[k][1]);
        if (osize == 4 && f[k][0] == 18) /* FOP: 11 bits, the rest reserved */
            x &= 0x7FF, y &= 0x7FF;
        if (x != y && y != 0)
            return false;
    }
    return true;
}

/* x87/MMX memory operand size in bytes of a decoded instruction, 0 if it has none. */
static unsigned fpu_operand_size(const struct insn *in)
{
    if (!(in->flags & INSN_F_MEM))
        return 0;
    if (in->op == OP_MMX)
        return in->opcode == 0x6E || in->opcode == 0x7E || in->opcode <= 0x62 ? 4 : 8;
    if (in->op != OP_FPU)
        return 0;
    static const uint8_t sz[8][8] = {
        {4, 4, 4, 4, 4, 4, 4, 4}, {4, 0, 4, 4, 0, 2, 0, 2}, {4, 4, 4, 4, 4, 4, 4, 4},
        {4, 4, 4, 4, 0, 10, 0, 10}, {8, 8, 8, 8, 8, 8, 8, 8}, {8, 8, 8, 8, 0, 0, 0, 2},
        {2, 2, 2, 2, 2, 2, 2, 2}, {2, 2, 2, 2, 10, 8, 10, 8}};
    unsigned op = in->opcode & 7, env = in->osize == 4 ? 28 : 14;
    if (op == 1 && (in->reg == 4 || in->reg == 6))
        return env;
    if (op == 5 && (in->reg == 4 || in->reg == 6))
        return env + 80;
    return sz[op][in->reg];
}

/* FLDENV, FNSTENV, FRSTOR, FNSAVE: several accesses of their own. */
static bool fpu_state_format_insn(const struct insn *in)
{
    unsigned op = in->opcode & 7;
    return in->op == OP_FPU && (in->flags & INSN_F_MEM) && (op == 1 || op == 5) &&
           (in->reg == 4 || in->reg == 6);
}

/* Compare one case against the oracle's steps. Returns the pointer past its results. */
static const uint8_t *check_case(struct run *r, uint64_t case_no, const struct gen_case *gc,
                                 const uint8_t *p, const uint8_t *end)
{
    struct orc_case_res cr;
    if ((size_t)(end - p) < sizeof(cr))
        return NULL;
    memcpy(&cr, p, sizeof(cr));
    p += sizeof(cr);
    r->cases++;
    vm_load_case(r, gc);
    struct cpu *c = &r->vm.cpu;
    bool failed = false, case_has_x87 = false;
    if (r->single) {
        printf("case %" PRIu64 " (seed %" PRIu64 "), %u steps natively, es=%s\n", case_no, r->seed,
               cr.n_steps, gc->es_ldt ? "ldt" : "flat");
        print_sequence(r, gc, -1);
    }
    for (uint32_t s = 0; s < cr.n_steps; s++) {
        struct orc_step st;
        if ((size_t)(end - p) < sizeof(st))
            return NULL;
        memcpy(&st, p, sizeof(st));
        p += sizeof(st);
        if (!apply_diffs(r, &p, end, st.n_diffs) || st.insn >= gc->n_insns)
            return NULL;
        if (failed)
            continue;
        const struct gen_insn *gi = &gc->insn[st.insn];
        struct state native = {{0}, st.eflags, st.eip, st.vector, st.err, st.cr2, {0}};
        memcpy(native.regs, st.regs, sizeof(native.regs));
        memcpy(native.fpu, st.fpu, sizeof(native.fpu));
        struct state before = {{0}, cpu_get_eflags(c), c->eip - ORC_CODE_BASE, -1, 0, 0, {0}};
        memcpy(before.regs, c->regs, sizeof(before.regs));
        r->steps++;
        r->group_steps[gi->group]++;
        if (st.vector >= 0 && st.vector < 32)
            r->native_vec[st.vector]++;
        else if (st.vector == -1)
            r->native_vec[32]++;

        struct insn in;
        int dst = decode_insn(&in, gc->code + gi->off, gc->code_len - gi->off, true);
        /* A 16-bit address-size x87/MMX operand that runs past offset FFFFh: the SDM says
         * #GP (beyond the limit), which bt86 raises; this host computes each field's offset
         * modulo 64 KiB and accesses the wrapped fields (or faults after some of them). Not
         * comparable: the rest of the case is left out. */
        unsigned fsz = dst == DEC_OK ? fpu_operand_size(&in) : 0;
        uint32_t flin = 0; /* linear address of the x87/MMX memory operand */
        if (fsz) {
            uint32_t ea = (uint32_t)in.disp;
            if (in.base != INSN_NO_REG)
                ea += c->regs[in.base];
            if (in.index != INSN_NO_REG)
                ea += c->regs[in.index] << in.scale;
            if (in.asize == 2)
                ea &= 0xFFFF;
            flin = c->seg[in.seg].base + ea;
        }
        if (fsz && in.asize == 2) {
            if ((flin - c->seg[in.seg].base) + fsz - 1 > 0xFFFF) {
                r->x87_wrap_skips++;
                failed = true;
                continue;
            }
        }
        uint32_t undef = st.vector == -1 && dst == DEC_OK ? insn_undefined_flags(&in, c) : 0;
        if (dst == DEC_OK && (in.op == OP_FPU || in.op == OP_MMX || in.op == OP_EMMS ||
                              in.op == OP_WAIT)) {
            r->x87_cases += !case_has_x87;
            case_has_x87 = true;
            r->x87_steps++;
        }
        const char *what = NULL;
        struct state ist;
        if (before.eip != gi->off) {
            what = "the interpreter is not at this instruction";
            ist = before;
        } else {
            if (dst == DEC_OK && in.len != gi->len)
                what = "decoded length differs from the generated instruction";
            interp_step(r, &in, dst == DEC_OK, &ist);
            /* Natively, a transfer to an unmapped address faults on the fetch of the next
             * instruction within the same step; the interpreter needs one more step for it. */
            if (native.vector == EXC_PF && native.cr2 == native.eip + ORC_CODE_BASE &&
                ist.vector == -1 && ist.eip == native.eip)
                interp_step(r, &in, false, &ist);
        }
        bool mem_differs = memcmp(r->vm.mem.ram + ORC_DATA_BASE, r->native_mem, ORC_DATA_SIZE) != 0;
        const bool ptrs_unreliable = st.flags & ORC_STEP_FPU_PTRS_UNRELIABLE;
        if (!what && mem_differs && native.vector == -1 && dst == DEC_OK &&
            fpu_state_format_insn(&in) && in.reg == 6 && env_ptrs_lost(r, flin, in.osize)) {
            /* FNSTENV/FNSAVE stored pointers the host kernel had lost (fpu_pointers_lost):
             * take the host's bytes. */
            uint32_t off = flin - ORC_DATA_BASE;
            memmap_copy_to(&r->vm.mem, flin, r->native_mem + off, in.osize == 4 ? 28 : 14);
            mem_differs = false;
            r->x87_ptr_resyncs++;
        }
        if (!what) {
            if (ist.vector != native.vector)
                what = "exception differs";
            else if (ist.eip != native.eip)
                what = "EIP differs";
            else if (memcmp(ist.regs, native.regs, sizeof(ist.regs)) != 0)
                what = "registers differ";
            else if ((ist.eflags ^ native.eflags) & CMP_FLAGS & ~undef)
                what = "EFLAGS differ";
            else if (vector_has_error(native.vector) &&
                     (ist.err ^ native.err) & (native.vector == EXC_PF ? ~PFEC_FETCH : ~0u))
                what = "error code differs";
            else if (native.vector >= 0 && dst == DEC_OK && fpu_state_format_insn(&in))
                /* A fault in the middle of FLDENV/FSTENV/FRSTOR/FSAVE: the host has already
                 * loaded or stored some fields (and reports CR2 of whichever field it reached
                 * first); bt86 faults before any of them, as faults are precise. Compared:
                 * the vector and error code. The case ends here anyway. */
                r->x87_partial_faults++;
            else if (native.vector == EXC_PF && ist.cr2 != native.cr2)
                what = "CR2 differs";
            else if (mem_differs)
                what = "memory differs";
            else if ((what = fpu_differs(ist.fpu, native.fpu, ptrs_unreliable)) &&
                     fpu_pointers_lost(ist.fpu, native.fpu)) {
                /* The host kernel lost pointers across a context switch (see
                 * fpu_pointers_lost): take the host's zeros and go on. */
                what = NULL;
                memcpy(ist.fpu + 12, native.fpu + 12, 16);
                fpu_load_save_area(c, ist.fpu, 4);
                r->x87_ptr_resyncs++;
            }
        }
        if (r->single) {
            char dis[256];
            disasm_line(r, gc, st.insn, dis, sizeof(dis));
            printf("step %u: %08x %s -> %s\n", s, ORC_CODE_BASE + gi->off, dis,
                   what ? what : "equal");
            print_state_pair(&ist, &native, undef);
            if (mem_differs)
                print_mem_diff(r);
        }
        if (what && native.vector == -1 && ist.vector == EXC_PF &&
            (ist.cr2 < ORC_DATA_BASE || ist.cr2 >= 0x08000000u)) {
            /* The native access did not fault where nothing is mapped in the guest: it went
             * into the oracle's own memory. A generator bug, and the oracle may be damaged. */
            r->harness_errors++;
            printf("\n=== HARNESS: native access at %08x escaped into the oracle's memory "
                   "(seed=%" PRIu64 " case=%" PRIu64 ")\n", ist.cr2, r->seed, case_no);
            print_sequence(r, gc, (int)st.insn);
        }
        if (what) {
            failed = true;
            r->mismatches++;
            r->group_mism[gi->group]++;
            r->op_mism[dst == DEC_OK || dst == DEC_UD ? in.op : 0]++;
            unsigned opi = dst == DEC_OK || dst == DEC_UD ? in.op : 0;
            struct kind *kd = NULL;
            for (unsigned k = 0; k < r->n_kinds && !kd; k++)
                if (r->kinds[k].what == what && r->kinds[k].iv == ist.vector &&
                    r->kinds[k].nv == native.vector)
                    kd = &r->kinds[k];
            if (!kd && r->n_kinds < sizeof(r->kinds) / sizeof(r->kinds[0])) {
                kd = &r->kinds[r->n_kinds++];
                *kd = (struct kind){what, ist.vector, native.vector, 0, 0};
            }
            if (kd)
                kd->count++;
            if (!r->single && r->reported < r->max_report && r->op_reported[opi] < r->max_per_op &&
                (!kd || kd->reported < 3)) {
                r->op_reported[opi]++;
                if (kd)
                    kd->reported++;
                r->reported++;
                report(r, case_no, gc, s, st.insn, &before, &ist, &native, undef, what,
                       mem_differs);
            }
            continue;
        }
        /* The step ended in a signal (a fault, or a branch reaching the INT3 filler): from
         * here on the oracle runs with the kernel's x87 pointers, so take them too. */
        if (ptrs_unreliable && memcmp(ist.fpu + 12, native.fpu + 12, 16) != 0) {
            memcpy(ist.fpu + 12, native.fpu + 12, 16);
            fpu_load_save_area(c, ist.fpu, 4);
        }
        /* Undefined flags: continue from the native values so both sides consume the same. */
        if ((ist.eflags ^ native.eflags) & undef) {
            cpu_set_eflags(c, (ist.eflags & ~undef) | (native.eflags & undef));
            r->flag_resyncs++;
        }
    }
    if (cr.status != ORC_ST_OK) {
        r->harness_errors++;
        printf("\n=== ORACLE %s: seed=%" PRIu64 " case=%" PRIu64 " (generator or oracle problem)\n",
               cr.status == ORC_ST_LOST ? "LOST (EIP left the instruction boundaries)" : "TIMEOUT",
               r->seed, case_no);
        print_sequence(r, gc, -1);
    }
    return p;
}

/* ------------------------------------------------------------------ hand-written cases */

/* --code HEX [--set reg=value]... [--mem addr=HEX]...: one case from given bytes, for minimal
 * reproducers. Instruction boundaries come from capstone; every instruction is run as a
 * possible branch (the oracle ends it on whatever INT3 of the page it reaches). */
struct custom {
    const char *code;
    const char *sets[16];
    unsigned n_sets;
    const char *mems[GEN_MAX_PATCHES];
    unsigned n_mems;
};

static unsigned parse_hex(const char *h, uint8_t *out, unsigned max)
{
    unsigned n = 0;
    int hi = -1;
    for (; *h; h++) {
        int v;
        if (*h >= '0' && *h <= '9')
            v = *h - '0';
        else if ((*h | 0x20) >= 'a' && (*h | 0x20) <= 'f')
            v = (*h | 0x20) - 'a' + 10;
        else
            continue;
        if (hi < 0) {
            hi = v;
        } else {
            if (n < max)
                out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

static bool build_custom(struct run *r, const struct custom *cu, struct gen_case *gc)
{
    memset(gc, 0, sizeof(*gc));
    gc->regs[R_ESP] = ORC_DATA_BASE + 0x8000;
    gc->eflags = 0x202;
    for (unsigned i = 0; i < cu->n_sets; i++) {
        const char *eq = strchr(cu->sets[i], '=');
        if (!eq)
            return false;
        size_t nl = (size_t)(eq - cu->sets[i]);
        uint32_t v = (uint32_t)strtoul(eq + 1, NULL, 0);
        bool done = false;
        for (int k = 0; k < 8; k++)
            if (strlen(reg_names[k]) == nl && !strncmp(cu->sets[i], reg_names[k], nl))
                gc->regs[k] = v, done = true;
        if (nl == 6 && !strncmp(cu->sets[i], "eflags", 6))
            gc->eflags = (v & ~FL_TF) | 2, done = true;
        if (nl == 2 && !strncmp(cu->sets[i], "es", 2))
            gc->es_ldt = !strcmp(eq + 1, "ldt"), done = true;
        if (!done)
            return false;
    }
    for (unsigned i = 0; i < cu->n_mems; i++) {
        const char *eq = strchr(cu->mems[i], '=');
        if (!eq)
            return false;
        uint32_t a = (uint32_t)strtoul(cu->mems[i], NULL, 0);
        struct gen_patch *p = &gc->patch[gc->n_patches++];
        p->len = parse_hex(eq + 1, p->bytes, ORC_MAX_PATCH);
        p->off = a - ORC_DATA_BASE;
        if (a < ORC_DATA_BASE || p->off + p->len > ORC_DATA_SIZE)
            return false;
    }
    gc->code_len = parse_hex(cu->code, gc->code, ORC_MAX_CODE - 16);
    unsigned off = 0;
    while (off < gc->code_len && gc->n_insns < ORC_MAX_INSNS) {
        cs_insn *ci;
        size_t k = cs_disasm(r->cs, gc->code + off, gc->code_len - off, ORC_CODE_BASE + off, 1, &ci);
        unsigned len = k ? ci->size : 1;
        if (k)
            cs_free(ci, k);
        struct gen_insn *in = &gc->insn[gc->n_insns++];
        in->off = (uint16_t)off;
        in->len = (uint8_t)(len < gc->code_len - off ? len : gc->code_len - off);
        in->kind = ORC_K_BRANCH;
        in->group = GRP_mov;
        off += in->len;
    }
    return gc->code_len > 0;
}

/* ------------------------------------------------------------------ driver */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

struct batch {
    uint64_t first;
    unsigned n;
    uint64_t insns;
    struct gen_case *gc;
};

static void usage(void)
{
    fprintf(stderr, "usage: native_diff [seed] [count] [--seed S] [--count N] [--case N] "
                    "[--max-report K] [--max-per-op K] [--batch N] [--groups g1,g2]\n"
                    "       [--translator]   (every instruction through the binary translator)\n"
                    "       native_diff --code HEX [--set reg=value]... [--mem addr=HEX]...\n"
                    "           (reg: eax..edi, eflags, es=ldt; addresses in the data region)\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static struct run r;
    r.seed = 1;
    r.count = 1000000;
    r.max_report = 20;
    r.max_per_op = 2;
    int64_t single = -1;
    struct custom cu = {0};
    unsigned batch_cases = 256;
    bool translated = false;
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--seed") && i + 1 < argc)
            r.seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--count") && i + 1 < argc)
            r.count = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--case") && i + 1 < argc)
            single = (int64_t)strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--max-report") && i + 1 < argc)
            r.max_report = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(a, "--code") && i + 1 < argc)
            cu.code = argv[++i];
        else if (!strcmp(a, "--set") && i + 1 < argc && cu.n_sets < 16)
            cu.sets[cu.n_sets++] = argv[++i];
        else if (!strcmp(a, "--mem") && i + 1 < argc && cu.n_mems < GEN_MAX_PATCHES)
            cu.mems[cu.n_mems++] = argv[++i];
        else if (!strcmp(a, "--max-per-op") && i + 1 < argc)
            r.max_per_op = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(a, "--groups") && i + 1 < argc) {
            /* comma-separated group names: generate only these */
            uint64_t mask = 0;
            char buf[512];
            snprintf(buf, sizeof(buf), "%s", argv[++i]);
            for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
                unsigned k = 0;
                while (k < GRP_COUNT && strcmp(t, gen_group_names[k]))
                    k++;
                if (k == GRP_COUNT)
                    usage();
                mask |= 1ull << k;
            }
            gen_only_groups(mask);
        } else if (!strcmp(a, "--translator"))
            translated = true;
        else if (!strcmp(a, "--batch") && i + 1 < argc)
            batch_cases = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (a[0] != '-' && positional < 2)
            *(positional++ == 0 ? &r.seed : &r.count) = strtoull(a, NULL, 0);
        else
            usage();
    }
    if (batch_cases == 0 || batch_cases > 4096)
        usage();
    const char *path = getenv("BT86_ORACLE32") ? getenv("BT86_ORACLE32") : ORACLE32_PATH;
    signal(SIGPIPE, SIG_IGN);

    struct oracle o;
    if (oracle_start(&o, path)) {
        printf("native diff: SKIPPED: cannot start the 32-bit oracle %s\n", path);
        return 77;
    }
    gen_pattern(r.pattern, r.seed);
    struct orc_msg init = {ORC_MAGIC, ORC_INIT, 0, ORC_DATA_SIZE};
    struct buf req = {0};
    memcpy(buf_add(&req, sizeof(init)), &init, sizeof(init));
    memcpy(buf_add(&req, ORC_DATA_SIZE), r.pattern, ORC_DATA_SIZE);
    if (!oracle_send(&o, req.p, req.len)) {
        printf("native diff: SKIPPED: the 32-bit oracle did not start (no 32-bit support?)\n");
        oracle_stop(&o);
        return 77;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &r.cs) != CS_ERR_OK) {
        fprintf(stderr, "native_diff: capstone failed\n");
        return 1;
    }
    vm_setup(&r);
    struct translator *tr = NULL;
    if (translated) {
        /* Every instruction as a translated one-instruction block, from its first run: the
         * inline forms, their slow paths and faults meet the host CPU too. */
        tr = translator_create(0);
        if (!tr) {
            fprintf(stderr, "native_diff: cannot create the translator\n");
            return 1;
        }
        translator_set_hot_runs(tr, 1);
        r.vm.cpu.icache->block_limit = 1;
        translator_attach(tr, &r.vm.cpu);
    }

    if (cu.code && single < 0)
        single = 0;
    if (single >= 0) {
        r.single = true;
        batch_cases = 1;
    }
    struct batch inflight[2] = {{0}, {0}};
    unsigned n_inflight = 0, head = 0;
    uint64_t next_case = single >= 0 ? (uint64_t)single : 0, pending_insns = 0, sent_cases = 0;
    double t0 = now();
    bool oracle_ok = true;
    for (;;) {
        bool want_more = single >= 0 ? sent_cases == 0 : r.steps + pending_insns < r.count;
        if (want_more && n_inflight < 2) {
            struct batch *b = &inflight[(head + n_inflight) % 2];
            if (!b->gc)
                b->gc = malloc(sizeof(struct gen_case) * batch_cases);
            b->first = next_case;
            b->n = batch_cases;
            b->insns = 0;
            req.len = 0;
            buf_add(&req, sizeof(struct orc_msg));
            for (unsigned k = 0; k < b->n; k++) {
                if (cu.code) {
                    if (!build_custom(&r, &cu, &b->gc[k]))
                        usage();
                } else {
                    gen_case(&b->gc[k], r.seed, next_case + k);
                }
                b->insns += b->gc[k].n_insns;
                serialize_case(&req, &b->gc[k]);
            }
            struct orc_msg m = {ORC_MAGIC, ORC_BATCH, b->n, (uint32_t)(req.len - sizeof(m))};
            memcpy(req.p, &m, sizeof(m));
            if (!oracle_send(&o, req.p, req.len)) {
                oracle_ok = false;
                break;
            }
            next_case += b->n;
            sent_cases += b->n;
            pending_insns += b->insns;
            n_inflight++;
            if (n_inflight < 2 && r.steps + pending_insns < r.count && single < 0)
                continue; /* keep the oracle busy while we check */
        }
        if (n_inflight == 0)
            break;
        struct batch *b = &inflight[head];
        struct orc_msg m;
        const uint8_t *p = oracle_recv(&o, &m);
        if (!p || m.kind != ORC_RESULTS || m.count != b->n) {
            oracle_ok = false;
            break;
        }
        const uint8_t *end = p + m.bytes;
        for (unsigned k = 0; k < b->n && p; k++)
            p = check_case(&r, b->first + k, &b->gc[k], p, end);
        if (!p) {
            oracle_ok = false;
            break;
        }
        pending_insns -= b->insns;
        head = (head + 1) % 2;
        n_inflight--;
    }
    double dt = now() - t0;
    oracle_stop(&o);
    if (!oracle_ok) {
        printf("native diff: FAILED: lost the oracle process (crashed or sent garbage)\n");
        return 1;
    }

    printf("\nper group: steps compared, mismatching cases\n");
    for (unsigned g = 0; g < GRP_COUNT; g++)
        printf("  %-12s %10" PRIu64 " %8" PRIu64 "\n", gen_group_names[g], r.group_steps[g],
               r.group_mism[g]);
    printf("native outcomes: none %" PRIu64, r.native_vec[32]);
    for (int v = 0; v < 32; v++)
        if (r.native_vec[v])
            printf(", %s %" PRIu64, vector_name(v), r.native_vec[v]);
    printf("\n");
    for (unsigned k = 0; k < r.n_kinds; k++)
        printf("mismatch kind: %-48s interpreter %-8s native %-8s %8" PRIu64 "\n", r.kinds[k].what,
               vector_name(r.kinds[k].iv), vector_name(r.kinds[k].nv), r.kinds[k].count);
    if (r.mismatches) {
        printf("mismatches by decoded operation:");
        for (unsigned op = 0; op < OP_COUNT; op++)
            if (r.op_mism[op])
                printf(" %s=%" PRIu64, insn_op_name(op), r.op_mism[op]);
        printf("\n");
    }
    printf("undefined-flag resyncs: %" PRIu64 "\n", r.flag_resyncs);
    printf("x87/MMX: %" PRIu64 " steps in %" PRIu64 " cases; not compared: %" PRIu64
           " 16-bit offset wraps, %" PRIu64 " state-format faults (vector only); %" PRIu64
           " pointer resyncs (host lost them)\n",
           r.x87_steps, r.x87_cases, r.x87_wrap_skips, r.x87_partial_faults, r.x87_ptr_resyncs);
    struct rusage self, child;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &child);
    printf("time %.2f s, %.0f instructions/s (CPU: checker %.2f s, oracle %.2f s)\n", dt,
           dt > 0 ? (double)r.steps / dt : 0.0,
           self.ru_utime.tv_sec + self.ru_stime.tv_sec + 1e-6 * (self.ru_utime.tv_usec + self.ru_stime.tv_usec),
           child.ru_utime.tv_sec + child.ru_stime.tv_sec + 1e-6 * (child.ru_utime.tv_usec + child.ru_stime.tv_usec));
    printf("native diff: %" PRIu64 " instructions in %" PRIu64 " cases, %" PRIu64
           " mismatches (seed %" PRIu64 ")\n",
           r.steps, r.cases, r.mismatches, r.seed);
    if (r.harness_errors)
        printf("native diff: %" PRIu64 " cases lost by the oracle\n", r.harness_errors);
    if (tr) {
        struct translator_stats st;
        translator_get_stats(tr, &st);
        printf("translator: %" PRIu64 " one-instruction blocks translated, %" PRIu64 " inline\n",
               st.blocks, st.inline_insns);
        /* A run where the translator never ran would prove nothing. */
        if (st.blocks < r.steps / 2) {
            printf("native diff: FAILED: only %" PRIu64 " of %" PRIu64 " instructions translated\n",
                   st.blocks, r.steps);
            r.mismatches++;
        }
        translator_attach(NULL, &r.vm.cpu);
        translator_destroy(tr);
    }
    for (unsigned k = 0; k < 2; k++)
        free(inflight[k].gc);
    free(req.p);
    cs_close(&r.cs);
    testvm_destroy(&r.vm);
    return r.mismatches || r.harness_errors ? 1 : 0;
}
