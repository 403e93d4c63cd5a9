/* oracle32: runs guest instruction bytes natively on the host CPU (DESIGN decision 8).
 *
 * Built with the host compiler as a separate 32-bit static executable (-m32 -static -no-pie),
 * started by native_diff and driven over two pipes (see oracle_proto.h). It is the "truth" the
 * interpreter is compared against, so it is kept small and does nothing clever:
 *
 *  - A 64 KiB data region is mapped at ORC_DATA_BASE and a code page at ORC_CODE_BASE, both with
 *    MAP_FIXED_NOREPLACE. Addresses are the same as in the interpreter's guest, so pushed return
 *    addresses, pointers stored to memory and fault addresses compare directly.
 *  - 16-bit addressing (0x67) yields offsets below 64 KiB, which a process cannot map. LDT entry
 *    0 (modify_ldt) is a data segment whose base is the data region; FS always holds it, and ES
 *    holds it for cases that run 16-bit string instructions.
 *  - Each instruction runs alone: its bytes are written at their offset in the code page, which
 *    is otherwise filled with INT3. A linear instruction is followed by a JMP to oracle_exit; a
 *    branch is not, and whichever INT3 it reaches (fall-through or target) ends the step.
 *  - oracle_enter saves the host ESP, sets EFLAGS with POPF while still on the host stack (so the
 *    guest stack below ESP is never touched), loads the eight GPRs with absolute-address moves
 *    and jumps to the instruction. oracle_exit stores the GPRs with absolute-address moves
 *    before anything can change the flags, switches to the host stack, and only then PUSHFs.
 *  - Faults arrive as SIGFPE/SIGILL/SIGSEGV/SIGBUS/SIGTRAP on an alternate signal stack. The
 *    handler reads the vector (REG_TRAPNO), error code, CR2, the registers and the x87 state
 *    from the ucontext (EIP = the faulting instruction for faults) and siglongjmps back.
 *  - The x87/MMX state goes with the GPRs: FRSTOR before each instruction, FNSAVE right after
 *    it (both non-waiting, so an unmasked error the instruction leaves pending raises #MF at
 *    the next waiting x87 instruction, as it would in the guest).
 *  - After every instruction the data region is compared with a shadow copy; the changed bytes
 *    are reported and the shadow updated. Pages touched by a case are restored from the
 *    pattern before the next case. */
#include <asm/ldt.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <ucontext.h>
#include <unistd.h>

#include "oracle_proto.h"

#if !defined(__i386__)
#error "oracle32 must be built with -m32"
#endif

#define PAGE 4096u
#define DATA ((uint8_t *)(uintptr_t)ORC_DATA_BASE)
#define CODE ((uint8_t *)(uintptr_t)ORC_CODE_BASE)

/* ---- state shared with the assembly stubs (absolute addresses: -no-pie) ---- */
__attribute__((used)) uint32_t g_in[8], g_in_eflags, g_in_es, g_entry;
__attribute__((used)) uint32_t g_out[8], g_out_eflags;
__attribute__((used)) uint32_t g_host_esp;
__attribute__((used)) volatile uint32_t g_in_guest;
/* x87/MMX state: FRSTOR'd just before the guest instruction, FNSAVE'd right after it. */
__attribute__((used, aligned(16))) uint8_t g_fpu_in[108], g_fpu_out[108];

void oracle_enter(void);
void oracle_exit(void);

__asm__(
    "    .text\n"
    "    .globl oracle_enter\n"
    "    .type oracle_enter, @function\n"
    "oracle_enter:\n"
    "    pushl %ebp\n"
    "    pushl %ebx\n"
    "    pushl %esi\n"
    "    pushl %edi\n"
    "    movl %esp, g_host_esp\n"
    "    movl g_in_es, %eax\n"
    "    movw %ax, %es\n"
    "    movl $1, g_in_guest\n"
    "    frstor g_fpu_in\n" /* nothing waits before the guest instruction */
    "    pushl g_in_eflags\n" /* still on the host stack */
    "    popfl\n"
    "    movl g_in+0, %eax\n"
    "    movl g_in+4, %ecx\n"
    "    movl g_in+8, %edx\n"
    "    movl g_in+12, %ebx\n"
    "    movl g_in+20, %ebp\n"
    "    movl g_in+24, %esi\n"
    "    movl g_in+28, %edi\n"
    "    movl g_in+16, %esp\n"
    "    jmp *g_entry\n"
    "    .size oracle_enter, .-oracle_enter\n"
    "    .globl oracle_exit\n"
    "    .type oracle_exit, @function\n"
    "oracle_exit:\n"
    "    movl %eax, g_out+0\n"
    "    movl %ecx, g_out+4\n"
    "    movl %edx, g_out+8\n"
    "    movl %ebx, g_out+12\n"
    "    movl %esp, g_out+16\n"
    "    movl %ebp, g_out+20\n"
    "    movl %esi, g_out+24\n"
    "    movl %edi, g_out+28\n"
    "    fnsave g_fpu_out\n" /* non-waiting: a pending x87 error stays in the image */
    "    movl g_host_esp, %esp\n"
    "    pushfl\n" /* only now, on the host stack */
    "    popl g_out_eflags\n"
    "    pushl $0x202\n" /* known host flags: DF, AC, NT clear */
    "    popfl\n"
    "    movl $0, g_in_guest\n"
    "    movw %ds, %ax\n"
    "    movw %ax, %es\n"
    "    popl %edi\n"
    "    popl %esi\n"
    "    popl %ebx\n"
    "    popl %ebp\n"
    "    ret\n"
    "    .size oracle_exit, .-oracle_exit\n");

/* ---- fault capture ---- */
static sigjmp_buf g_jb;
static struct {
    uint32_t regs[8];
    uint32_t eflags, eip, trapno, err, cr2;
    int sig;
    uint8_t fpu[108];
} g_fault;
static volatile int g_timed_out;

static void die(const char *msg)
{
    fprintf(stderr, "oracle32: %s\n", msg);
    _exit(3);
}

static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    /* The guest may have left AC (and NT) set; the kernel clears only DF, TF and RF. */
    __asm__ volatile("pushfl; andl $~0x44400, (%%esp); popfl" ::: "memory", "cc");
    (void)si;
    if (sig == SIGALRM) {
        if (!g_in_guest)
            return;
        g_timed_out = 1;
    } else if (!g_in_guest) {
        static const char msg[] = "oracle32: fault outside guest code\n";
        ssize_t r = write(2, msg, sizeof(msg) - 1);
        (void)r;
        _exit(4);
    }
    ucontext_t *uc = ucv;
    const greg_t *gr = uc->uc_mcontext.gregs;
    g_fault.regs[0] = (uint32_t)gr[REG_EAX];
    g_fault.regs[1] = (uint32_t)gr[REG_ECX];
    g_fault.regs[2] = (uint32_t)gr[REG_EDX];
    g_fault.regs[3] = (uint32_t)gr[REG_EBX];
    g_fault.regs[4] = (uint32_t)gr[REG_ESP];
    g_fault.regs[5] = (uint32_t)gr[REG_EBP];
    g_fault.regs[6] = (uint32_t)gr[REG_ESI];
    g_fault.regs[7] = (uint32_t)gr[REG_EDI];
    g_fault.eflags = (uint32_t)gr[REG_EFL];
    g_fault.eip = (uint32_t)gr[REG_EIP];
    g_fault.trapno = (uint32_t)gr[REG_TRAPNO];
    g_fault.err = (uint32_t)gr[REG_ERR];
    g_fault.cr2 = (uint32_t)uc->uc_mcontext.cr2;
    g_fault.sig = sig;
    /* The x87 state at the fault, as the kernel saved it for the handler (FSAVE layout). */
    if (uc->uc_mcontext.fpregs)
        memcpy(g_fault.fpu, uc->uc_mcontext.fpregs, sizeof(g_fault.fpu));
    else
        memset(g_fault.fpu, 0, sizeof(g_fault.fpu));
    g_in_guest = 0;
    siglongjmp(g_jb, 1);
}

static void setup_signals(void)
{
    static uint8_t altstack[64 * 1024] __attribute__((aligned(16)));
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0};
    if (sigaltstack(&ss, NULL))
        die("sigaltstack failed");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_signal;
    /* NODEFER: we leave the handler with siglongjmp without restoring a signal mask. */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    const int sigs[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP, SIGALRM};
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL))
            die("sigaction failed");
}

static void setup_memory(void)
{
    void *d = mmap(DATA, ORC_DATA_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    void *c = mmap(CODE, ORC_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (d != DATA || c != CODE)
        die("cannot map the data region or the code page at their fixed addresses");
    memset(CODE, 0xCC, ORC_CODE_SIZE);

    struct user_desc ud;
    memset(&ud, 0, sizeof(ud));
    ud.entry_number = ORC_LDT_SEL >> 3;
    ud.base_addr = ORC_DATA_BASE;
    ud.limit = 0xFFFF;
    ud.seg_32bit = 1;
    ud.contents = 0; /* data, expand-up */
    ud.read_exec_only = 0;
    ud.limit_in_pages = 0;
    ud.seg_not_present = 0;
    ud.useable = 1;
    if (syscall(SYS_modify_ldt, 1, &ud, sizeof(ud)) != 0)
        die("modify_ldt failed");
    uint16_t sel = ORC_LDT_SEL;
    __asm__ volatile("movw %0, %%fs" : : "r"(sel) : "memory");
}

/* ---- I/O ---- */
static int g_rfd = 0, g_wfd = 1;

static void read_full(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(g_rfd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            _exit(r == 0 ? 0 : 5); /* parent gone */
        p += r;
        n -= (size_t)r;
    }
}

static void write_full(const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t r = write(g_wfd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            _exit(6);
        p += r;
        n -= (size_t)r;
    }
}

static uint8_t *g_out_buf;
static size_t g_out_len, g_out_cap;

static void *out_reserve(size_t n)
{
    if (g_out_len + n > g_out_cap) {
        size_t cap = g_out_cap ? g_out_cap : 1 << 20;
        while (g_out_len + n > cap)
            cap *= 2;
        g_out_buf = realloc(g_out_buf, cap);
        if (!g_out_buf)
            die("out of memory");
        g_out_cap = cap;
    }
    void *p = g_out_buf + g_out_len;
    g_out_len += n;
    return p;
}

/* ---- data region bookkeeping ---- */
static uint8_t g_pattern[ORC_DATA_SIZE];
static uint8_t g_shadow[ORC_DATA_SIZE];
static uint32_t g_dirty; /* one bit per 4 KiB page touched during the current case */

/* Report the bytes that changed since the shadow was taken (as whole aligned words) and update
 * the shadow. Returns the number of ranges appended to the output. */
static uint32_t emit_diffs(void)
{
    if (memcmp(DATA, g_shadow, ORC_DATA_SIZE) == 0)
        return 0;
    uint32_t n = 0;
    for (uint32_t pg = 0; pg < ORC_DATA_SIZE / PAGE; pg++) {
        uint32_t base = pg * PAGE;
        if (memcmp(DATA + base, g_shadow + base, PAGE) == 0)
            continue;
        g_dirty |= 1u << pg;
        uint32_t w = 0;
        while (w < PAGE) {
            if (memcmp(DATA + base + w, g_shadow + base + w, 4) == 0) {
                w += 4;
                continue;
            }
            uint32_t start = w, end = w + 4;
            /* Extend while words differ, bridging gaps of up to two equal words. */
            for (uint32_t k = end; k < PAGE; k += 4) {
                if (memcmp(DATA + base + k, g_shadow + base + k, 4) != 0)
                    end = k + 4;
                else if (k >= end + 8)
                    break;
            }
            struct orc_patch *d = out_reserve(sizeof(*d));
            d->off = base + start;
            d->len = end - start;
            memcpy(out_reserve(end - start), DATA + base + start, end - start);
            memcpy(g_shadow + base + start, DATA + base + start, end - start);
            n++;
            w = end;
        }
    }
    return n;
}

static void restore_dirty(void)
{
    for (uint32_t pg = 0; pg < ORC_DATA_SIZE / PAGE; pg++) {
        if (g_dirty & (1u << pg)) {
            memcpy(DATA + pg * PAGE, g_pattern + pg * PAGE, PAGE);
            memcpy(g_shadow + pg * PAGE, g_pattern + pg * PAGE, PAGE);
        }
    }
    g_dirty = 0;
}

/* ---- running one case ---- */
static void write_exit_jump(uint8_t *at)
{
    uint32_t rel = (uint32_t)(uintptr_t)oracle_exit - (uint32_t)(uintptr_t)(at + 5);
    at[0] = 0xE9;
    memcpy(at + 1, &rel, 4);
}

/* Run the guest from g_in/g_in_eflags/g_entry. Returns 0 when it reached oracle_exit, 1 when a
 * signal ended it (g_fault holds the state). */
static __attribute__((noinline)) int enter_guest(void)
{
    if (sigsetjmp(g_jb, 0))
        return 1;
    oracle_enter();
    return 0;
}

static const uint8_t *run_case(const uint8_t *p, const uint8_t *end)
{
    struct orc_case cs;
    if ((size_t)(end - p) < sizeof(cs))
        die("truncated case");
    memcpy(&cs, p, sizeof(cs));
    p += sizeof(cs);
    if (cs.n_insns > ORC_MAX_INSNS || cs.code_len > ORC_MAX_CODE || cs.code_len + 8 > ORC_CODE_SIZE)
        die("case too large");
    struct orc_insn ins[ORC_MAX_INSNS];
    memcpy(ins, p, cs.n_insns * sizeof(ins[0]));
    p += cs.n_insns * sizeof(ins[0]);
    const uint8_t *code = p;
    p += orc_pad4(cs.code_len);
    for (uint32_t k = 0; k < cs.n_patches; k++) {
        struct orc_patch pt;
        memcpy(&pt, p, sizeof(pt));
        p += sizeof(pt);
        if (pt.off >= ORC_DATA_SIZE || pt.len > ORC_DATA_SIZE - pt.off)
            die("bad patch");
        memcpy(DATA + pt.off, p, pt.len);
        memcpy(g_shadow + pt.off, p, pt.len);
        for (uint32_t b = pt.off / PAGE; b <= (pt.off + pt.len - 1) / PAGE && pt.len; b++)
            g_dirty |= 1u << b;
        p += orc_pad4(pt.len);
    }
    if (p > end)
        die("truncated case");

    size_t res_at = g_out_len;
    out_reserve(sizeof(struct orc_case_res));
    struct orc_case_res res = {0, ORC_ST_OK};

    uint32_t regs[8], eflags = cs.eflags, eip = 0;
    memcpy(regs, cs.regs, sizeof(regs));
    memcpy(g_fpu_in, cs.fpu, sizeof(g_fpu_in));
    g_in_es = (cs.flags & ORC_CASE_ES_LDT) ? ORC_LDT_SEL : ORC_FLAT_DS;

    for (uint32_t guard = 0; guard < ORC_MAX_INSNS; guard++) {
        if (eip == cs.code_len)
            break;
        uint32_t idx = 0;
        while (idx < cs.n_insns && ins[idx].off != eip)
            idx++;
        if (idx == cs.n_insns) {
            res.status = ORC_ST_LOST;
            break;
        }
        const struct orc_insn *in = &ins[idx];
        uint8_t *at = CODE + in->off;
        memcpy(at, code + in->off, in->len);
        if (in->kind == ORC_K_LINEAR)
            write_exit_jump(at + in->len);
        memcpy(g_in, regs, sizeof(regs));
        g_in_eflags = eflags;
        g_entry = (uint32_t)(uintptr_t)at;

        struct orc_step st;
        memset(&st, 0, sizeof(st));
        st.insn = idx;
        st.vector = -1;
        if (enter_guest() == 0) {
            memcpy(st.regs, g_out, sizeof(st.regs));
            memcpy(st.fpu, g_fpu_out, sizeof(st.fpu));
            st.eflags = g_out_eflags;
            st.eip = in->off + in->len;
        } else {
            memcpy(st.regs, g_fault.regs, sizeof(st.regs));
            memcpy(st.fpu, g_fault.fpu, sizeof(st.fpu));
            st.flags = ORC_STEP_FPU_PTRS_UNRELIABLE;
            st.eflags = g_fault.eflags & ~0x10000u; /* RF in a fault frame is not guest state */
            uint32_t feip = g_fault.eip;
            if (g_timed_out) {
                g_timed_out = 0;
                res.status = ORC_ST_TIMEOUT;
                st.vector = -2;
                st.eip = feip - ORC_CODE_BASE;
            } else if (g_fault.sig == SIGTRAP && g_fault.trapno == 3 &&
                       !(feip - 1 >= (uint32_t)(uintptr_t)at &&
                         feip - 1 < (uint32_t)(uintptr_t)at + in->len)) {
                /* An INT3 of the filler: the instruction transferred control there. */
                st.eip = feip - 1 - ORC_CODE_BASE;
            } else {
                st.vector = (int32_t)g_fault.trapno;
                st.err = g_fault.err;
                st.cr2 = g_fault.cr2;
                st.eip = feip - ORC_CODE_BASE;
            }
        }
        memset(at, 0xCC, in->len + 5u);

        memcpy(regs, st.regs, sizeof(regs));
        memcpy(g_fpu_in, st.fpu, sizeof(g_fpu_in));
        eflags = st.eflags;
        eip = st.eip;
        size_t st_at = g_out_len;
        out_reserve(sizeof(st));
        st.n_diffs = emit_diffs();
        memcpy(g_out_buf + st_at, &st, sizeof(st));
        res.n_steps++;
        if (st.vector != -1)
            break;
    }
    memcpy(g_out_buf + res_at, &res, sizeof(res));
    restore_dirty();
    return p;
}

int main(int argc, char **argv)
{
    if (argc >= 3) {
        g_rfd = atoi(argv[1]);
        g_wfd = atoi(argv[2]);
    }
    setup_memory();
    setup_signals();
    uint8_t *in = NULL;
    size_t in_cap = 0;
    for (;;) {
        struct orc_msg m;
        read_full(&m, sizeof(m));
        if (m.magic != ORC_MAGIC)
            die("bad message");
        if (m.bytes > in_cap) {
            in_cap = m.bytes;
            in = realloc(in, in_cap);
            if (!in)
                die("out of memory");
        }
        read_full(in, m.bytes);
        switch (m.kind) {
        case ORC_INIT:
            if (m.bytes != ORC_DATA_SIZE)
                die("bad init");
            memcpy(g_pattern, in, ORC_DATA_SIZE);
            memcpy(DATA, in, ORC_DATA_SIZE);
            memcpy(g_shadow, in, ORC_DATA_SIZE);
            break;
        case ORC_BATCH: {
            struct itimerval it = {{0, 0}, {30, 0}};
            setitimer(ITIMER_REAL, &it, NULL);
            g_out_len = 0;
            out_reserve(sizeof(struct orc_msg));
            const uint8_t *p = in, *end = in + m.bytes;
            for (uint32_t k = 0; k < m.count; k++)
                p = run_case(p, end);
            struct orc_msg r = {ORC_MAGIC, ORC_RESULTS, m.count, (uint32_t)(g_out_len - sizeof(r))};
            memcpy(g_out_buf, &r, sizeof(r));
            write_full(g_out_buf, g_out_len);
            struct itimerval off = {{0, 0}, {0, 0}};
            setitimer(ITIMER_REAL, &off, NULL);
            break;
        }
        case ORC_QUIT:
            return 0;
        default:
            die("unknown message");
        }
    }
}
