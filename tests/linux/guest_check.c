/* bt86-check: a static i386 program (gcc -m32 -static) that the default guest carries in
 * /bin. It exercises what a Linux process leans on -- integer and 64-bit arithmetic, the x87,
 * page faults on fresh memory, fork/wait, pipes, files, signals, timers -- checks every result
 * against a value known in advance, and prints one line per check and a verdict:
 * "bt86-check: PASS (N checks)" or "bt86-check: FAIL (M of N checks failed)". */
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int checks, failures;

static void report(const char *name, int ok, const char *detail)
{
    checks++;
    if (!ok)
        failures++;
    printf("bt86-check: %-10s %s%s%s\n", name, ok ? "ok" : "FAILED", detail ? ": " : "",
           detail ? detail : "");
}

static uint32_t crc32(const void *buf, size_t len)
{
    const uint8_t *p = buf;
    uint32_t c = 0xFFFFFFFFu;
    while (len--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xEDB88320u & -(c & 1));
    }
    return ~c;
}

static void check_integer(void)
{
    char d[64];
    uint32_t c = crc32("123456789", 9); /* the CRC-32 check value */
    snprintf(d, sizeof(d), "crc32 %08x", c);
    report("crc32", c == 0xCBF43926u, d);

    /* 64-bit division goes through libgcc; volatile keeps the compiler from folding it. */
    volatile uint64_t a = 0xFEDCBA9876543210ull, b = 0x12345678ull;
    uint64_t q = a / b, r = a % b;
    snprintf(d, sizeof(d), "q=%llx r=%llx", (unsigned long long)q, (unsigned long long)r);
    report("div64", q * b + r == a && r < b && q == 0xE00000077ull && r == 0x48, d);

    volatile int32_t m = -123456789;
    int64_t p = (int64_t)m * 987654321;
    report("imul64", p == -121932631112635269ll, NULL);

    /* A sieve: 1229 primes below 10000. */
    static char comp[10000];
    int n = 0;
    for (int i = 2; i < 10000; i++) {
        if (comp[i])
            continue;
        n++;
        for (int j = i * 2; j < 10000; j += i)
            comp[j] = 1;
    }
    snprintf(d, sizeof(d), "%d primes", n);
    report("sieve", n == 1229, d);
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

static void check_memory(void)
{
    /* 16 MiB of fresh anonymous memory: every page faults in on first touch. */
    size_t len = 16u << 20;
    uint32_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    int ok = m != MAP_FAILED;
    if (ok) {
        for (size_t i = 0; i < len / 4; i += 1024)
            m[i] = (uint32_t)i * 2654435761u;
        for (size_t i = 0; i < len / 4 && ok; i += 1024)
            ok = m[i] == (uint32_t)i * 2654435761u && m[i + 1] == 0;
        munmap(m, len);
    }
    report("mmap", ok, "16 MiB touched page by page");

    int v[1000];
    uint32_t s = 1;
    for (int i = 0; i < 1000; i++)
        v[i] = (int)((s = s * 1103515245u + 12345u) >> 8);
    qsort(v, 1000, sizeof(v[0]), cmp_int);
    ok = 1;
    for (int i = 1; i < 1000; i++)
        ok &= v[i - 1] <= v[i];
    report("qsort", ok, NULL);

    char buf[32] = "abcdefghijklmnopqrstuvwxyz";
    memmove(buf + 3, buf, 10);
    report("memmove", memcmp(buf, "abcabcdefghijnopq", 17) == 0, NULL);
}

static void check_float(void)
{
    char d[96];
    volatile double two = 2.0, x = 0.5;
    double r = sqrt(two);
    double s = sin(x), c = cos(x);
    double e = exp(1.0 + x - 0.5), l = log(e);
    snprintf(d, sizeof(d), "sqrt2=%.15f sin2+cos2=%.15f e=%.12f", r, s * s + c * c, e);
    report("x87", fabs(r * r - 2.0) < 1e-15 && fabs(s * s + c * c - 1.0) < 1e-15 &&
                      fabs(e - 2.718281828459045) < 1e-12 && fabs(l - 1.0) < 1e-15, d);
    volatile long double big = 1e300L;
    long double p = big * big; /* fits in extended precision, not in a double */
    report("extended", p > 1e599L && p < 1e601L, NULL);
    snprintf(d, sizeof(d), "%.6f", atan2(1.0, 1.0) * 4);
    report("printf-fp", strcmp(d, "3.141593") == 0, d);
}

static volatile sig_atomic_t got_signal;
static void on_usr1(int sig) { got_signal = sig; }
static jmp_buf jb;
static void on_segv(int sig)
{
    (void)sig;
    longjmp(jb, 1);
}

static void check_process(void)
{
    char d[64];
    int fds[2];
    int ok = pipe(fds) == 0;
    pid_t pid = ok ? fork() : -1;
    if (pid == 0) {
        close(fds[0]);
        const char msg[] = "hello from the child";
        _exit(write(fds[1], msg, sizeof(msg)) == sizeof(msg) ? 42 : 1);
    }
    char buf[64] = "";
    int status = 0;
    if (pid > 0) {
        close(fds[1]);
        ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
        close(fds[0]);
        ok = n > 0 && waitpid(pid, &status, 0) == pid;
    }
    snprintf(d, sizeof(d), "status %d, \"%s\"", WEXITSTATUS(status), buf);
    report("fork", ok && WIFEXITED(status) && WEXITSTATUS(status) == 42 &&
                       strcmp(buf, "hello from the child") == 0, d);

    signal(SIGUSR1, on_usr1);
    raise(SIGUSR1);
    report("signal", got_signal == SIGUSR1, NULL);

    /* A fault the kernel turns into SIGSEGV, and back out of it. */
    signal(SIGSEGV, on_segv);
    volatile int *bad = (int *)16;
    int caught = 0;
    if (setjmp(jb) == 0)
        (void)*bad;
    else
        caught = 1;
    signal(SIGSEGV, SIG_DFL);
    report("sigsegv", caught, NULL);

    FILE *f = fopen("/tmp/bt86-check.txt", "w+");
    ok = f != NULL;
    if (ok) {
        for (int i = 0; i < 1000; i++)
            fprintf(f, "%d\n", i);
        rewind(f);
        long sum = 0;
        int v;
        while (fscanf(f, "%d", &v) == 1)
            sum += v;
        ok = sum == 499500;
        fclose(f);
        unlink("/tmp/bt86-check.txt");
    }
    report("file", ok, NULL);
}

static double now(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_time(void)
{
    char d[64];
    double t0 = now(CLOCK_MONOTONIC);
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    double dt = now(CLOCK_MONOTONIC) - t0;
    snprintf(d, sizeof(d), "20 ms sleep took %.1f ms", dt * 1e3);
    report("nanosleep", dt >= 0.020 && dt < 2.0, d);
    time_t t = time(NULL);
    snprintf(d, sizeof(d), "%lld", (long long)t);
    report("time", t > 946684800, d); /* after 2000-01-01 */
    struct utsname u;
    report("uname", uname(&u) == 0 && strcmp(u.sysname, "Linux") == 0, u.release);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    check_integer();
    check_memory();
    check_float();
    check_process();
    check_time();
    if (failures)
        printf("bt86-check: FAIL (%d of %d checks failed)\n", failures, checks);
    else
        printf("bt86-check: PASS (%d checks)\n", checks);
    return failures != 0;
}
