/* fake-driver: a stand-in for the real libcuda.so in the local self-test, where no GPU and no
 * real driver exist. Unlike the CUDA stub library (which fails every call) it answers, so the
 * test can check what the stub cannot: that cuGetProcAddress pointers are replaced by counting
 * stubs that still reach the right function, that export-table entries can be wrapped, and that
 * arguments in every kind of register and on the stack survive the trampolines. */
#include <stdint.h>
#include <string.h>

typedef int CUresult;

CUresult cuInit(unsigned flags) { return flags == 0 ? 0 : 1; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }

/* Six integer registers, eight vector registers, then the stack. */
double cuFakeMany(long a, long b, long c, long d, long e, long f, double x0, double x1, double x2,
                  double x3, double x4, double x5, float x6, double x7, long s1, double s2)
{
    return a + 2 * b + 3 * c + 4 * d + 5 * e + 6 * f + 7 * x0 + 8 * x1 + 9 * x2 + 10 * x3 +
           11 * x4 + 12 * x5 + 13 * x6 + 14 * x7 + 15 * s1 + 16 * s2;
}

/* A struct returned in memory: the caller passes the hidden pointer in rdi. */
struct big { long v[5]; };
struct big cuFakeSret(long x)
{
    struct big b;
    for (int i = 0; i < 5; i++)
        b.v[i] = x * (i + 1);
    return b;
}

static int table_fn1(void) { return 7; }
static int table_fn2(int x) { return 2 * x; }
/* Size in bytes first, as many of NVIDIA's private tables have; then two functions and a
 * data word, which the interposer must leave alone. */
static const struct { uint64_t size; void *fn1; void *fn2; uint64_t data; } g_table = {
    sizeof g_table, (void *)table_fn1, (void *)table_fn2, 0x1234};

CUresult cuGetExportTable(const void **pp, const void *uuid)
{
    (void)uuid;
    *pp = &g_table;
    return 0;
}

CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, uint64_t flags, int *status);
CUresult cuGetProcAddress(const char *sym, void **pfn, int ver, uint64_t flags);

static void *lookup(const char *sym, int ver)
{
    if (!strcmp(sym, "cuInit")) return (void *)cuInit;
    if (!strcmp(sym, "cuDriverGetVersion")) return (void *)cuDriverGetVersion;
    if (!strcmp(sym, "cuFakeMany")) return (void *)cuFakeMany;
    if (!strcmp(sym, "cuGetExportTable")) return (void *)cuGetExportTable;
    if (!strcmp(sym, "cuGetProcAddress"))
        return ver >= 12000 ? (void *)cuGetProcAddress_v2 : (void *)cuGetProcAddress;
    return 0;
}

CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int ver, uint64_t flags, int *status)
{
    (void)flags;
    *pfn = lookup(sym, ver);
    if (status)
        *status = *pfn ? 0 : 1; /* CU_GET_PROC_ADDRESS_SUCCESS / _SYMBOL_NOT_FOUND */
    return *pfn ? 0 : 500;
}

CUresult cuGetProcAddress(const char *sym, void **pfn, int ver, uint64_t flags)
{
    return cuGetProcAddress_v2(sym, pfn, ver, flags, 0);
}
