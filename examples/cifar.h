/* CIFAR-10 in its official binary layout, for the example programs. */
#ifndef DLSC_EXAMPLE_CIFAR_H
#define DLSC_EXAMPLE_CIFAR_H

#include <stddef.h>
#include <stdint.h>

#define CIFAR_RECORD 3073 /* label byte, then 3 x 32 x 32 pixel bytes, channel-first */
#define CIFAR_PIXELS 3072

typedef struct cifar_set {
  uint8_t *pixels; /* count x 3072 */
  int32_t *labels; /* count */
  size_t count;
} cifar_set;

extern const char *const cifar_class_names[10];

/* The folder holding data_batch_*.bin; unpacks data/cifar-10-binary.tar.xz into
 * cache (default ./cache) on first use. Returns 0 or -1 with a message. */
int cifar_locate(const char *data_dir, const char *cache_dir, char *batches, size_t size,
                 char *error, size_t error_size);
/* Appends the records of one batch file; a file that is not a whole number of
 * records, or holds a label outside 0..9, is refused with a message. */
int cifar_read(const char *path, cifar_set *set, char *error, size_t error_size);
/* Records first .. first+count-1 of src appended to dst. */
void cifar_take(cifar_set *dst, const cifar_set *src, size_t first, size_t count);
void cifar_free(cifar_set *set);

/* The protocol splits: train = batches 1-5 without the last 5,000 records of batch 5,
 * validation = those 5,000, test = test_batch.bin. */
int cifar_load_splits(const char *batches, cifar_set *train, cifar_set *validation,
                      cifar_set *test, char *error, size_t error_size);

/* A class-balanced draw of per_class labeled images from set (seeded); the rest go
 * to unlabeled, labels dropped. */
void cifar_draw_labeled(const cifar_set *set, size_t per_class, uint64_t seed, cifar_set *labeled,
                        cifar_set *unlabeled);

#endif
