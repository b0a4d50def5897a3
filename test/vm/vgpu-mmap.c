/* vgpu-mmap: reads or writes a file through mmap, for the guest test scripts. PCI BAR files in
 * sysfs (/sys/bus/pci/devices/X/resourceN) of memory BARs support only mmap, not read/write,
 * and busybox has no mmap tool; this is how a script looks at the vgpu-stub region (resource2)
 * or rings its doorbell (resource0), the same way the shim does.
 *
 *   vgpu-mmap read FILE OFFSET LEN        writes LEN bytes at OFFSET to stdout (pipe to hexdump -C)
 *   vgpu-mmap write FILE OFFSET STRING    copies STRING (no NUL) to OFFSET
 *   vgpu-mmap write32 FILE OFFSET VALUE   one 32-bit store of VALUE (a doorbell register)
 *   vgpu-mmap size FILE                   prints the file's size (st_size)
 * OFFSET, LEN and VALUE take C notation (0x.. for hex). Built by build-guest.sh. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char* what, const char* file) {
  fprintf(stderr, "vgpu-mmap: %s %s: %s\n", what, file, strerror(errno));
  return 1;
}

int main(int argc, char** argv) {
  if (argc == 3 && strcmp(argv[1], "size") == 0) {
    struct stat st;
    if (stat(argv[2], &st) != 0) return fail("stat", argv[2]);
    printf("%lld\n", (long long)st.st_size);
    return 0;
  }
  if (argc != 5) {
    fprintf(stderr, "usage: vgpu-mmap read|write|write32 FILE OFFSET LEN|STRING|VALUE, or size FILE\n");
    return 2;
  }
  const char* op = argv[1];
  const char* file = argv[2];
  const uint64_t off = strtoull(argv[3], NULL, 0);
  const int writing = strcmp(op, "read") != 0;
  uint64_t len;
  if (strcmp(op, "read") == 0) len = strtoull(argv[4], NULL, 0);
  else if (strcmp(op, "write") == 0) len = strlen(argv[4]);
  else if (strcmp(op, "write32") == 0) len = 4;
  else { fprintf(stderr, "vgpu-mmap: unknown operation %s\n", op); return 2; }

  int fd = open(file, writing ? O_RDWR : O_RDONLY);
  if (fd < 0) return fail("open", file);
  const uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  const uint64_t base = off & ~(page - 1);
  const size_t map_len = (size_t)(off - base + len + page - 1) & ~(size_t)(page - 1);
  void* m = mmap(NULL, map_len ? map_len : page, writing ? PROT_READ | PROT_WRITE : PROT_READ,
                 MAP_SHARED, fd, (off_t)base);
  if (m == MAP_FAILED) return fail("mmap", file);
  volatile uint8_t* p = (volatile uint8_t*)m + (off - base);
  if (strcmp(op, "read") == 0) {
    /* Copy out first: stdio must not read device memory directly in odd-sized pieces. */
    uint8_t* buf = malloc(len ? len : 1);
    for (uint64_t i = 0; i < len; i++) buf[i] = p[i];
    if (fwrite(buf, 1, len, stdout) != len) return fail("write", "stdout");
    free(buf);
  } else if (strcmp(op, "write") == 0) {
    for (uint64_t i = 0; i < len; i++) p[i] = (uint8_t)argv[4][i];
  } else {
    *(volatile uint32_t*)p = (uint32_t)strtoul(argv[4], NULL, 0);
  }
  munmap(m, map_len);
  close(fd);
  return 0;
}
