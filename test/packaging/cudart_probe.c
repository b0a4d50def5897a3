/* Prints the file of every libcudart the dynamic loader mapped into this program, after one
 * runtime call: the package tests ask which runtime a program built `-cudart shared` gets (the
 * system's, or vgpu-guest's), and whether it starts at all. */
#define _GNU_SOURCE
#include <cuda_runtime_api.h>
#include <link.h>
#include <stdio.h>
#include <string.h>

static int print_cudart(struct dl_phdr_info* info, size_t size, void* found) {
  (void)size;
  if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libcudart") != NULL) {
    printf("%s\n", info->dlpi_name);
    *(int*)found = 1;
  }
  return 0;
}

int main(void) {
  int version = 0;
  (void)cudaRuntimeGetVersion(&version);
  int found = 0;
  dl_iterate_phdr(print_cudart, &found);
  return found ? 0 : 1;
}
