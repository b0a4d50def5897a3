/* stub-client: the program side of the local sanity check against the CUDA stub library.
 * Loads "libcuda.so.1" the way the runtime does (dlopen by soname, then dlsym), calls
 * cuDriverGetVersion by name and through cuGetProcAddress_v2, and prints where the handle came
 * from. The stub answers every call with an error: only the forwarding and the log matter. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>

typedef int (*get_version_fn)(int *);
typedef int (*gpa_v2_fn)(const char *, void **, int, uint64_t, int *);
typedef int (*export_fn)(const void **, const void *);

int main(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen failed: %s\n", dlerror());
        return 1;
    }
    struct link_map *lm = NULL;
    dlinfo(h, RTLD_DI_LINKMAP, &lm);
    printf("loaded=%s\n", lm ? lm->l_name : "?");

    get_version_fn ver = (get_version_fn)dlsym(h, "cuDriverGetVersion");
    gpa_v2_fn gpa = (gpa_v2_fn)dlsym(h, "cuGetProcAddress_v2");
    export_fn exp = (export_fn)dlsym(h, "cuGetExportTable");
    if (!ver || !gpa || !exp) {
        printf("dlsym failed\n");
        return 1;
    }
    int v = -1;
    printf("cuDriverGetVersion by name: rc=%d v=%d\n", ver(&v), v);
    void *p = NULL;
    int status = -1;
    int rc = gpa("cuDriverGetVersion", &p, 13000, 0, &status);
    printf("cuGetProcAddress_v2(cuDriverGetVersion): rc=%d status=%d pfn=%s\n", rc, status,
           p ? "set" : "null");
    if (rc == 0 && p) {
        v = -1;
        printf("cuDriverGetVersion via pfn: rc=%d v=%d\n", ((get_version_fn)p)(&v), v);
    }
    unsigned char uuid[16] = {0x6b, 0xd5, 0xfb, 0x6c, 0x5b, 0xf4, 0xe7, 0x4a,
                              0x89, 0x87, 0xd9, 0x39, 0x12, 0xfd, 0x9d, 0xf9};
    const void *table = NULL;
    printf("cuGetExportTable: rc=%d\n", exp(&table, uuid));
    return 0;
}
