/* CRC-32 (IEEE 802.3, reflected 0xEDB88320), as zlib and PNG compute it. The table is
 * built at compile time so no global state is written at run time. */
#include "internal.h"

static const uint32_t crc_table[256] = {
#define C1(c) (((c) & 1u) ? 0xEDB88320u ^ ((c) >> 1) : ((c) >> 1))
#define C8(c) C1(C1(C1(C1(C1(C1(C1(C1(c))))))))
#define R4(n) C8((uint32_t)(n)), C8((uint32_t)(n) + 1), C8((uint32_t)(n) + 2), C8((uint32_t)(n) + 3)
#define R16(n) R4(n), R4((n) + 4), R4((n) + 8), R4((n) + 12)
#define R64(n) R16(n), R16((n) + 16), R16((n) + 32), R16((n) + 48)
    R64(0), R64(64), R64(128), R64(192)};

uint32_t dlsc_crc32(uint32_t crc, const void *data, size_t size) {
  const unsigned char *bytes = data;
  crc = ~crc;
  for (size_t i = 0; i < size; i++)
    crc = crc_table[(crc ^ bytes[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}
