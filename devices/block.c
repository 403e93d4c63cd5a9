#include "devices/block.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int block_open(struct block_dev *b, const char *path, bool read_only)
{
    b->fd = -1;
    b->size = 0;
    b->read_only = read_only;
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    if (S_ISDIR(st.st_mode) || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
        close(fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    /* A file system without flock support still lets us run; a held lock does not. */
    if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        close(fd);
        return -EBUSY;
    }
    off_t end = lseek(fd, 0, SEEK_END); /* also right for block devices, unlike st_size */
    if (end < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    b->fd = fd;
    b->size = (uint64_t)end;
    return 0;
}

void block_close(struct block_dev *b)
{
    if (b->fd >= 0)
        close(b->fd); /* drops the lock too */
    b->fd = -1;
    b->size = 0;
}

static bool in_range(const struct block_dev *b, size_t len, uint64_t offset)
{
    return b->fd >= 0 && offset <= b->size && len <= b->size - offset;
}

int block_pread(struct block_dev *b, void *buf, size_t len, uint64_t offset)
{
    if (!in_range(b, len, offset))
        return -EINVAL;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(b->fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO; /* the file shrank behind our back */
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int block_pwrite(struct block_dev *b, const void *buf, size_t len, uint64_t offset)
{
    if (b->read_only)
        return -EROFS;
    if (!in_range(b, len, offset))
        return -EINVAL;
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(b->fd, p, len, (off_t)offset);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EIO;
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int block_flush(struct block_dev *b)
{
    if (b->fd < 0)
        return -EBADF;
    if (b->read_only)
        return 0;
    return fdatasync(b->fd) == 0 ? 0 : -errno;
}
