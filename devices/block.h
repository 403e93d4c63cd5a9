/* A raw disk image in a host file or block device, for any storage device (floppy, IDE, ...).
 *
 * Every access is checked against the size found at open, so nothing is read or written
 * beyond the image. Writes go straight to the file (no cache of ours): data reaches the host
 * exactly when the guest writes it. The image is locked (flock) so two VMs cannot both write
 * it: shared for read-only opens, exclusive for read-write ones. */
#ifndef BT86_BLOCK_H
#define BT86_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block_dev {
    int fd;          /* -1 when closed */
    uint64_t size;   /* bytes, fixed at open */
    bool read_only;
};

/* Opens `path` read-only or read-write (never falls back silently from one to the other).
 * Returns 0 or -errno: -EBUSY if another process holds a conflicting lock, -EISDIR for a
 * directory, -EINVAL for something that is neither a regular file nor a block device. */
int block_open(struct block_dev *b, const char *path, bool read_only);
void block_close(struct block_dev *b);

static inline uint64_t block_size(const struct block_dev *b) { return b->size; }
static inline bool block_is_read_only(const struct block_dev *b) { return b->read_only; }

/* Whole-range transfers at a byte offset. Return 0, or -errno: -EINVAL if any byte lies
 * outside the image (nothing is transferred then), -EROFS for a write to a read-only image,
 * -EIO if the file turned out shorter than at open, or what the host call reported. */
int block_pread(struct block_dev *b, void *buf, size_t len, uint64_t offset);
int block_pwrite(struct block_dev *b, const void *buf, size_t len, uint64_t offset);

/* Pushes written data to stable storage. Returns 0 or -errno. */
int block_flush(struct block_dev *b);

#endif
