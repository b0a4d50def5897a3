/* fake-client: drives the interposer over fake-driver.so (see there) and checks every answer.
 * Prints "fake-client: ALL OK" when every check passed; selftest.sh checks the log's counts. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int (*init_fn)(unsigned);
typedef int (*ver_fn)(int *);
typedef int (*gpa_v2_fn)(const char *, void **, int, uint64_t, int *);
typedef int (*export_fn)(const void **, const void *);
typedef double (*many_fn)(long, long, long, long, long, long, double, double, double, double,
                          double, double, float, double, long, double);
struct big { long v[5]; };
typedef struct big (*sret_fn)(long);
typedef int (*void_fn)(void);

static int failures;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            printf("FAIL line %d: %s\n", __LINE__, #cond);                            \
            failures++;                                                               \
        }                                                                             \
    } while (0)

#define NTHREADS 8
#define NCALLS 100000
static init_fn g_by_name, g_by_pfn;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < NCALLS; i++) {
        if (g_by_name(0) != 0 || g_by_pfn(0) != 0)
            __atomic_add_fetch(&failures, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static double many(many_fn f)
{
    return f(1, 2, 3, 4, 5, 6, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5f, 7.5, 8, 9.5);
}

int main(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("dlopen: %s\n", dlerror());
        return 1;
    }
    void *fake = dlopen(getenv("VGPU_TRACE_REAL_DRIVER"), RTLD_NOW | RTLD_NOLOAD);
    CHECK(fake != NULL);
    g_by_name = (init_fn)dlsym(h, "cuInit");
    gpa_v2_fn gpa = (gpa_v2_fn)dlsym(h, "cuGetProcAddress_v2");
    CHECK(g_by_name && gpa);
    CHECK(g_by_name != (init_fn)dlsym(fake, "cuInit")); /* we got the trampoline */
    CHECK(g_by_name(0) == 0 && g_by_name(1) == 1);

    void *p = NULL;
    int status = -1;
    CHECK(gpa("cuInit", &p, 12000, 0, &status) == 0 && status == 0);
    g_by_pfn = (init_fn)p;
    CHECK(p && p != dlsym(fake, "cuInit")); /* a counting stub, not the real pointer */
    CHECK(g_by_pfn(0) == 0);
    /* The same request again gets the same stub. */
    void *p2 = NULL;
    CHECK(gpa("cuInit", &p2, 12000, 0, NULL) == 0 && p2 == p);
    /* A different version is a different slot. */
    CHECK(gpa("cuInit", &p2, 2000, 0, NULL) == 0 && p2 != p && ((init_fn)p2)(0) == 0);

    status = -1;
    CHECK(gpa("cuNoSuchThing", &p2, 12000, 0, &status) == 500 && status == 1);

    /* cuGetProcAddress through cuGetProcAddress, then through that. */
    CHECK(gpa("cuGetProcAddress", &p2, 12000, 0, NULL) == 0);
    gpa_v2_fn gpa2 = (gpa_v2_fn)p2;
    CHECK(gpa2 != (gpa_v2_fn)dlsym(fake, "cuGetProcAddress_v2"));
    CHECK(gpa2("cuDriverGetVersion", &p2, 12000, 0, NULL) == 0);
    int v = 0;
    CHECK(((ver_fn)p2)(&v) == 0 && v == 13000);

    /* cuGetExportTable fetched through cuGetProcAddress must still be the interposer's. */
    CHECK(gpa("cuGetExportTable", &p2, 3000, 0, NULL) == 0);
    export_fn exp = (export_fn)p2;
    const void *table = NULL;
    unsigned char uuid[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    CHECK(exp(&table, uuid) == 0 && table);
    const void *table2 = NULL;
    CHECK(((export_fn)dlsym(h, "cuGetExportTable"))(&table2, uuid) == 0 && table2 == table);
    const uint64_t *t = table;
    CHECK(t[0] == 32 && t[3] == 0x1234);
    CHECK(((void_fn)t[1])() == 7);
    CHECK(((int (*)(int))t[2])(21) == 42);
    CHECK(((int (*)(int))t[2])(5) == 10);

    /* Arguments in registers and on the stack, through the slow path (first call) and the fast
     * one, by name and through a pfn. */
    many_fn m_name = (many_fn)dlsym(h, "cuFakeMany");
    many_fn m_real = (many_fn)dlsym(fake, "cuFakeMany");
    double want = many(m_real);
    CHECK(many(m_name) == want);
    CHECK(many(m_name) == want);
    CHECK(gpa("cuFakeMany", &p2, 12000, 0, NULL) == 0);
    CHECK(many((many_fn)p2) == want);
    CHECK(many((many_fn)p2) == want);

    sret_fn s = (sret_fn)dlsym(h, "cuFakeSret");
    struct big b1 = s(3), b2 = s(4);
    CHECK(b1.v[0] == 3 && b1.v[4] == 15 && b2.v[4] == 20);

    /* In the interposer's list but not in the driver: the trampoline answers 500. */
    void_fn missing = (void_fn)dlsym(h, "cuNotInDriver");
    CHECK(missing && missing() == 500 && missing() == 500);

    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        pthread_create(&th[i], NULL, hammer, NULL);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);

    printf("fake-client: %s (%d failures)\n", failures ? "FAILED" : "ALL OK", failures);
    return failures != 0;
}
