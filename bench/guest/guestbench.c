/* guestbench: a static i386 program that times integer work, x87 arithmetic, system calls,
 * page faults and fork, natively or inside a guest. Each part checks its own result, so an
 * emulator that computes wrongly fails instead of reporting a speed. See README.md here.
 *
 * Every part repeats a fixed unit of work; -s SCALE changes only the number of repetitions,
 * and "norm" is the time the full-scale run would take at the measured rate. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *part, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(const char *part, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("guestbench: FAIL %s: ", part);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    return -1;
}

/* Keeps the compiler from hoisting a pure loop body out of the repetition loop. */
#define BARRIER() __asm__ volatile("" ::: "memory")

static uint32_t rng_state;

static uint32_t rng(void)
{
    uint32_t x = rng_state; /* xorshift32 */
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return rng_state = x;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        printf("guestbench: FAIL out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

/* ---- checksum: CRC-32 (table) and Adler-32 over 256 KiB ---- */

#define CK_LEN (256u * 1024u)
static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
        crc_table[i] = c;
    }
}

static uint32_t crc32_table(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--)
        c = crc_table[(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

/* The bit-at-a-time form is the independent reference for the table form. */
static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

/* Fast form: reduces modulo 65521 once per 5552 bytes, as zlib does. */
static uint32_t adler32_fast(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    while (n) {
        size_t k = n < 5552 ? n : 5552;
        n -= k;
        while (k--) {
            a += *p++;
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    return b << 16 | a;
}

static uint32_t adler32_slow(const uint8_t *p, size_t n)
{
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % 65521;
        b = (b + a) % 65521;
    }
    return b << 16 | a;
}

/* ---- timing ---- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Starts a part's timed section. The line lets the host time the section with its own clock,
 * from this line to the result line: a guest's clock may not keep host time. */
static double timer_begin(const char *part)
{
    printf("guestbench: begin %s\n", part);
    return now();
}

static int part_checksum(unsigned reps, double *secs)
{
    const char *name = "checksum";
    if (crc32_table((const uint8_t *)"123456789", 9) != 0xCBF43926u)
        return fail(name, "CRC-32 of \"123456789\" is not CBF43926");
    if (adler32_fast((const uint8_t *)"Wikipedia", 9) != 0x11E60398u)
        return fail(name, "Adler-32 of \"Wikipedia\" is not 11E60398");
    uint8_t *buf = xmalloc(CK_LEN);
    rng_state = 0x12345678u;
    for (size_t i = 0; i < CK_LEN; i++)
        buf[i] = (uint8_t)(rng() >> 24);
    uint32_t want_crc = crc32_bitwise(buf, CK_LEN), want_adler = adler32_slow(buf, CK_LEN);
    int rc = 0;
    double t0 = timer_begin("checksum");
    for (unsigned r = 0; r < reps; r++) {
        BARRIER();
        uint32_t c = crc32_table(buf, CK_LEN), a = adler32_fast(buf, CK_LEN);
        if (c != want_crc || a != want_adler) {
            rc = fail(name, "rep %u: crc %08x adler %08x, expected %08x %08x", r, c, a,
                      want_crc, want_adler);
            break;
        }
    }
    *secs = now() - t0;
    free(buf);
    return rc;
}

/* ---- sieve: primes below 2,000,000 ---- */

#define SIEVE_N 2000000u
#define SIEVE_PRIMES 148933u /* pi(2e6) */

static unsigned sieve(uint8_t *composite, unsigned n)
{
    memset(composite, 0, n);
    unsigned count = 0;
    for (unsigned i = 2; i < n; i++) {
        if (composite[i])
            continue;
        count++;
        if ((uint64_t)i * i < n)
            for (unsigned j = i * i; j < n; j += i)
                composite[j] = 1;
    }
    return count;
}

static int part_sieve(unsigned reps, double *secs)
{
    uint8_t *composite = xmalloc(SIEVE_N);
    memset(composite, 1, SIEVE_N); /* fault the pages in before timing */
    int rc = 0;
    double t0 = timer_begin("sieve");
    for (unsigned r = 0; r < reps; r++) {
        BARRIER();
        unsigned c = sieve(composite, SIEVE_N);
        if (c != SIEVE_PRIMES) {
            rc = fail("sieve", "rep %u: %u primes below %u, expected %u", r, c, SIEVE_N,
                      SIEVE_PRIMES);
            break;
        }
    }
    *secs = now() - t0;
    /* Spot checks that the count is not right by accident. */
    if (!rc && (composite[1999993] || !composite[1999999] || composite[2] || !composite[4]))
        rc = fail("sieve", "wrong primality of 2, 4, 1999993 or 1999999");
    free(composite);
    return rc;
}

/* ---- sort: merge sort of 100,000 pseudo-random integers ---- */

#define SORT_N 100000u

static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n)
{
    if (n < 16) { /* insertion sort for short runs */
        for (size_t i = 1; i < n; i++) {
            uint32_t v = a[i];
            size_t j = i;
            while (j > 0 && a[j - 1] > v) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    size_t h = n / 2;
    merge_sort(a, tmp, h);
    merge_sort(a + h, tmp, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < h)
        tmp[k++] = a[i++];
    /* What is left of the right half is already in place. */
    memcpy(a, tmp, k * sizeof *a);
}

static int part_sort(unsigned reps, double *secs)
{
    uint32_t *a = xmalloc(SORT_N * sizeof *a), *tmp = xmalloc(SORT_N * sizeof *a);
    memset(tmp, 0, SORT_N * sizeof *a); /* fault the pages in before timing */
    int rc = 0;
    /* Input generation and the checks are timed too: they are small next to the sort, and
     * one continuous section is what the host can time. */
    double t0 = timer_begin("sort");
    for (unsigned r = 0; r < reps && !rc; r++) {
        rng_state = 0x9E3779B9u + r;
        uint32_t sum = 0, x = 0, sq = 0;
        for (size_t i = 0; i < SORT_N; i++) {
            a[i] = rng() % 1000000u; /* duplicates on purpose */
            sum += a[i], x ^= a[i], sq += a[i] * a[i];
        }
        merge_sort(a, tmp, SORT_N);
        uint32_t sum2 = a[0], x2 = a[0], sq2 = a[0] * a[0];
        for (size_t i = 1; i < SORT_N; i++) {
            if (a[i - 1] > a[i]) {
                rc = fail("sort", "rep %u: a[%zu]=%u > a[%zu]=%u", r, i - 1, a[i - 1], i, a[i]);
                break;
            }
            sum2 += a[i], x2 ^= a[i], sq2 += a[i] * a[i];
        }
        if (!rc && (sum != sum2 || x != x2 || sq != sq2))
            rc = fail("sort", "rep %u: the sorted array is not a permutation of the input", r);
    }
    *secs = now() - t0;
    free(a);
    free(tmp);
    return rc;
}

/* ---- x87: Simpson integrals and a series with known closed forms ---- */

#define X87_N 1000 /* Simpson intervals (even) */

/* Composite Simpson's rule; fn selects the integrand so the calls stay direct. */
static long double simpson(int fn, long double a, long double b)
{
    long double h = (b - a) / X87_N, s = 0;
    for (int i = 0; i <= X87_N; i++) {
        long double x = a + i * h, y;
        switch (fn) {
        case 0: y = sinl(x); break;
        case 1: y = expl(x); break;
        case 2: y = sqrtl(x); break;
        case 3: y = atanl(x); break;
        case 4: y = logl(x); break;
        default: { /* double precision arithmetic through the x87 as well */
            double xd = (double)x;
            y = 4.0 / (1.0 + xd * xd);
        }
        }
        s += (i == 0 || i == X87_N) ? y : (i & 1) ? 4 * y : 2 * y;
    }
    return s * h / 3;
}

static long double basel(int n)
{
    long double s = 0;
    for (int k = n; k >= 1; k--) /* smallest terms first */
        s += 1.0L / ((long double)k * k);
    /* Euler-Maclaurin tail of sum_{k>n} 1/k^2. */
    long double m = n;
    return s + 1 / m - 1 / (2 * m * m) + 1 / (6 * m * m * m);
}

static int part_x87(unsigned reps, double *secs)
{
    static const char *what[] = { "int sin 0..pi", "int exp 0..1", "int sqrt 1..4",
                                  "int atan 0..1", "int log 1..2", "int 4/(1+x^2) 0..1",
                                  "sum 1/k^2" };
    const long double pi = 3.14159265358979323846264338327950288L;
    const long double ln2 = 0.693147180559945309417232121458176568L;
    const long double e = 2.71828182845904523536028747135266250L;
    long double want[7] = { 2, e - 1, 14.0L / 3, pi / 4 - ln2 / 2, 2 * ln2 - 1, pi,
                            pi * pi / 6 };
    /* Simpson's error with 1000 intervals is below 1e-12 for these integrands; the last two
     * are exact to about 1e-18, which only 64-bit mantissas (precision control "extended",
     * Linux's default) reach: an x87 that rounds to double fails them. Transcendentals are
     * held to the integral's accuracy only; their last bits are the differential test's job. */
    static const long double tol[7] = { 1e-11L, 1e-11L, 1e-11L, 1e-11L, 1e-11L, 2e-17L, 2e-17L };
    long double first[7] = { 0 };
    int rc = 0;
    double t0 = timer_begin("x87");
    for (unsigned r = 0; r < reps && !rc; r++) {
        BARRIER();
        long double got[7] = {
            simpson(0, 0, pi), simpson(1, 0, 1), simpson(2, 1, 4), simpson(3, 0, 1),
            simpson(4, 1, 2), simpson(5, 0, 1), basel(4 * X87_N),
        };
        for (int i = 0; i < 7; i++) {
            if (r == 0)
                first[i] = got[i];
            if (!(fabsl(got[i] - want[i]) < tol[i] * fabsl(want[i]))) {
                rc = fail("x87", "%s = %.18Lg, expected %.18Lg", what[i], got[i], want[i]);
                break;
            }
            if (got[i] != first[i]) {
                rc = fail("x87", "rep %u: %s = %.21Lg, earlier %.21Lg", r, what[i], got[i],
                          first[i]);
                break;
            }
        }
    }
    *secs = now() - t0;
    return rc;
}

/* ---- system calls ---- */

#define SYSCALLS_PER_REP 1000

static int part_getppid(unsigned reps, double *secs)
{
    pid_t want = getppid();
    int rc = 0;
    double t0 = timer_begin("getppid");
    for (unsigned r = 0; r < reps && !rc; r++)
        for (int i = 0; i < SYSCALLS_PER_REP; i++)
            if (getppid() != want) {
                rc = fail("getppid", "changed from %d", (int)want);
                break;
            }
    *secs = now() - t0;
    return rc;
}

static int part_write(unsigned reps, double *secs)
{
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0)
        return fail("write", "open /dev/null: %s", strerror(errno));
    char c = 'x';
    int rc = 0;
    double t0 = timer_begin("write");
    for (unsigned r = 0; r < reps && !rc; r++)
        for (int i = 0; i < SYSCALLS_PER_REP; i++) {
            ssize_t n = write(fd, &c, 1);
            if (n != 1) {
                rc = fail("write", "write to /dev/null returned %zd", n);
                break;
            }
        }
    *secs = now() - t0;
    close(fd);
    return rc;
}

/* ---- page faults: map 1 MiB, touch every page, check, unmap ---- */

#define PF_BYTES (1u << 20)

static int part_pagefault(unsigned reps, double *secs)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    int rc = 0;
    double t0 = timer_begin("pagefault");
    for (unsigned r = 0; r < reps && !rc; r++) {
        uint8_t *p = mmap(NULL, PF_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        if (p == MAP_FAILED)
            return fail("pagefault", "mmap: %s", strerror(errno));
        /* One fault per 4 KiB page, as in the guest, not one per huge page. */
        madvise(p, PF_BYTES, MADV_NOHUGEPAGE);
        for (size_t o = 0; o < PF_BYTES; o += page)
            *(volatile uint32_t *)(p + o) = (uint32_t)(o + r);
        for (size_t o = 0; o < PF_BYTES; o += page)
            if (*(volatile uint32_t *)(p + o) != (uint32_t)(o + r) ||
                p[o + page - 1] != 0) {
                rc = fail("pagefault", "rep %u: page at offset %zu lost its contents", r, o);
                break;
            }
        munmap(p, PF_BYTES);
    }
    *secs = now() - t0;
    return rc;
}

/* ---- fork, _exit in the child, waitpid in the parent ---- */

static int part_fork(unsigned reps, double *secs)
{
    int rc = 0;
    double t0 = timer_begin("fork");
    for (unsigned r = 0; r < reps && !rc; r++) {
        pid_t pid = fork();
        if (pid < 0)
            return fail("fork", "fork: %s", strerror(errno));
        if (pid == 0)
            _exit((int)(r & 0x7F));
        int st;
        if (waitpid(pid, &st, 0) != pid)
            rc = fail("fork", "waitpid: %s", strerror(errno));
        else if (!WIFEXITED(st) || WEXITSTATUS(st) != (int)(r & 0x7F))
            rc = fail("fork", "rep %u: child status %#x", r, st);
    }
    *secs = now() - t0;
    return rc;
}

/* ---- driver ---- */

/* full: repetitions at scale 1, sized so each part takes about 0.15-0.25 s natively on the
 * development host (an AMD EPYC VM). */
static const struct part {
    const char *name;
    unsigned full;
    int (*run)(unsigned reps, double *secs);
} parts[] = {
    { "checksum", 220, part_checksum },
    { "sieve", 28, part_sieve },
    { "sort", 25, part_sort },
    { "x87", 300, part_x87 },
    { "getppid", 700, part_getppid },
    { "write", 700, part_write },
    { "pagefault", 300, part_pagefault },
    { "fork", 1000, part_fork },
};
#define NPARTS (sizeof parts / sizeof parts[0])

static void usage(void)
{
    fprintf(stderr,
            "usage: guestbench [-s SCALE] [-p PART[,PART...]] [-l]\n"
            "  -s SCALE  repetitions of every part times SCALE (default 1)\n"
            "  -p LIST   run only these parts\n"
            "  -l        list the parts\n");
    exit(2);
}

static int selected(const char *list, const char *name)
{
    if (!list)
        return 1;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && !memcmp(p, name, n))
            return 1;
        p += len + (end != NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    double scale = 1;
    const char *only = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "s:p:l")) != -1) {
        switch (opt) {
        case 's': {
            char *end;
            scale = strtod(optarg, &end);
            if (*end || !(scale > 0 && scale <= 1000))
                usage();
            break;
        }
        case 'p': only = optarg; break;
        case 'l':
            for (size_t i = 0; i < NPARTS; i++)
                printf("%s\n", parts[i].name);
            return 0;
        default: usage();
        }
    }
    if (optind != argc)
        usage();
    for (const char *p = only; p && *p;) {
        size_t len = strcspn(p, ",");
        int known = 0;
        for (size_t i = 0; i < NPARTS; i++)
            known |= strlen(parts[i].name) == len && !memcmp(p, parts[i].name, len);
        if (!known) {
            fprintf(stderr, "guestbench: unknown part '%.*s'\n", (int)len, p);
            return 2;
        }
        p += len + (p[len] == ',');
    }
    /* Lines must reach a serial console as each part ends: the host timestamps them. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    crc_init();
    /* The clock readings let the host check the guest's clock against its own. */
    printf("guestbench: start scale %g clock %.6f\n", scale, now());
    double total = 0, total_norm = 0;
    for (size_t i = 0; i < NPARTS; i++) {
        const struct part *pt = &parts[i];
        if (!selected(only, pt->name))
            continue;
        unsigned reps = (unsigned)(pt->full * scale + 0.5);
        if (reps == 0)
            reps = 1;
        double secs = 0, work = (double)reps / pt->full;
        if (pt->run(reps, &secs) != 0)
            return 1;
        printf("guestbench: %s %.6f s work %.6f norm %.6f s\n", pt->name, secs, work,
               secs / work);
        total += secs;
        total_norm += secs / work;
    }
    printf("guestbench: total %.6f s norm %.6f s\n", total, total_norm);
    printf("guestbench: clock %.6f\n", now());
    printf("guestbench: OK\n");
    return 0;
}
