#include "devices/ide_image.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static int measure(struct ide_image *img)
{
    /* lseek rather than st_size: it also gives the size of a block device. */
    off_t end = lseek(img->fd, 0, SEEK_END);
    if (end < 0)
        return -errno;
    img->size = (uint64_t)end;
    return 0;
}

int ide_image_open(struct ide_image *img, const char *path, bool read_only)
{
    img->fd = -1;
    img->size = 0;
    img->read_only = read_only;
    img->own_fd = true;
    int fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (flock(fd, (read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        int e = errno == EWOULDBLOCK ? EBUSY : errno;
        close(fd);
        return -e;
    }
    img->fd = fd;
    int r = measure(img);
    if (r < 0) {
        close(fd);
        img->fd = -1;
    }
    return r;
}

int ide_image_from_fd(struct ide_image *img, int fd, bool read_only)
{
    img->fd = fd;
    img->size = 0;
    img->read_only = read_only;
    img->own_fd = false;
    return measure(img);
}

void ide_image_close(struct ide_image *img)
{
    if (img->own_fd && img->fd >= 0)
        close(img->fd);
    img->fd = -1;
    img->size = 0;
}

static bool in_image(const struct ide_image *img, uint64_t off, size_t len)
{
    return img->fd >= 0 && off <= img->size && len <= img->size - off;
}

int ide_image_read(const struct ide_image *img, uint64_t off, void *buf, size_t len)
{
    if (!in_image(img, off, len))
        return -EINVAL;
    uint8_t *p = buf;
    while (len) {
        ssize_t n = pread(img->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO; /* the file shrank under us */
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

int ide_image_write(const struct ide_image *img, uint64_t off, const void *buf, size_t len)
{
    if (img->read_only)
        return -EROFS;
    if (!in_image(img, off, len))
        return -EINVAL;
    const uint8_t *p = buf;
    while (len) {
        ssize_t n = pwrite(img->fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;
        p += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

int ide_image_flush(const struct ide_image *img)
{
    if (img->fd < 0)
        return -EBADF;
    if (img->read_only)
        return 0;
    return fdatasync(img->fd) < 0 ? -errno : 0;
}
