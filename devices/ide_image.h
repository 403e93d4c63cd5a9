/* A raw disk or ISO image behind a file descriptor, for the IDE devices. Kept small and
 * self-contained on purpose (devices/block.{h,c} is the general backend; the two are to be
 * unified): pread/pwrite only, every access checked against the image size, so nothing the
 * guest asks for ever reaches beyond the end of the image. */
#ifndef BT86_IDE_IMAGE_H
#define BT86_IDE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ide_image {
    int fd;
    uint64_t size; /* bytes, fixed when opened */
    bool read_only;
    bool own_fd; /* close fd in ide_image_close */
};

/* Opens `path` read-write, or read-only, and takes an advisory lock (exclusive for
 * read-write, shared for read-only) so two VMs cannot write one image. Returns 0 or -errno
 * (-EBUSY when another user holds a conflicting lock). */
int ide_image_open(struct ide_image *img, const char *path, bool read_only);
/* Wraps a descriptor the caller keeps owning (no lock taken). */
int ide_image_from_fd(struct ide_image *img, int fd, bool read_only);
void ide_image_close(struct ide_image *img);

/* Whole-range accesses: 0, -EINVAL if [off, off + len) is not inside the image, -EROFS for a
 * write to a read-only image, -EIO if the file ended early, or the -errno of the failure. */
int ide_image_read(const struct ide_image *img, uint64_t off, void *buf, size_t len);
int ide_image_write(const struct ide_image *img, uint64_t off, const void *buf, size_t len);
/* Makes written data durable (fdatasync). 0 or -errno. */
int ide_image_flush(const struct ide_image *img);

#endif
