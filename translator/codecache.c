#include "translator/codecache.h"

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

int codecache_init(struct codecache *cc, size_t size)
{
    *cc = (struct codecache){0};
    int fd = memfd_create("bt86-code", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (ftruncate(fd, (off_t)size) != 0)
        goto fail_fd;
    cc->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (cc->rw == MAP_FAILED)
        goto fail_fd;
    cc->rx = mmap(NULL, size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (cc->rx == MAP_FAILED) {
        int e = errno;
        munmap(cc->rw, size);
        errno = e;
        goto fail_fd;
    }
    close(fd);
    cc->size = size;
    cc->gen = 1;
    return 0;
fail_fd:;
    int e = errno;
    close(fd);
    errno = e;
    cc->rw = cc->rx = NULL;
    return -1;
}

void codecache_destroy(struct codecache *cc)
{
    if (cc->rw)
        munmap(cc->rw, cc->size);
    if (cc->rx)
        munmap(cc->rx, cc->size);
    *cc = (struct codecache){0};
}

uint8_t *codecache_reserve(struct codecache *cc, size_t max)
{
    if (max > cc->size - cc->used)
        return NULL;
    return cc->rw + cc->used;
}

void *codecache_commit(struct codecache *cc, size_t used)
{
    void *x = cc->rx + cc->used;
    /* 16-byte aligned block starts keep the entry points friendly to the host's decoder. */
    cc->used = (cc->used + used + 15) & ~(size_t)15;
    if (cc->used > cc->size)
        cc->used = cc->size;
    return x;
}

void codecache_flush(struct codecache *cc)
{
    cc->used = 0;
    cc->flushes++;
    if (++cc->gen == 0)
        cc->gen = 1; /* 0 marks "never translated" */
}
