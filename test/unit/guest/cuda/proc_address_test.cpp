// cuGetProcAddress's lookup (guest/cuda/proc_address.h) over hand-made rows shaped like the
// generated table's: ABI selection by version, per-thread variants, the answers for unknown
// names and too-old versions, and the argument checks of the two exported entry points.
#include <catch2/catch.hpp>

#include <cstdint>
#include <span>

#include "guest/cuda/proc_address.h"

// cuda.h renames cuGetProcAddress to cuGetProcAddress_v2; the v1 entry point keeps its own
// name and CUDA 11.3's signature (guest/cuda/proc_address.cpp).
#undef cuGetProcAddress
extern "C" CUresult CUDAAPI cuGetProcAddress(const char* symbol, void** pfn, int cudaVersion,
                                             cuuint64_t flags);

namespace vgpu::cuda {
namespace {

// Stand-ins for exported symbols: distinct bodies, so that no two share an address.
volatile int g_called = 0;
void ctx_create() { g_called = 1; }
void ctx_create_v2() { g_called = 2; }
void ctx_create_v3() { g_called = 3; }
void gpa_v1() { g_called = 4; }
void gpa_v2() { g_called = 5; }
void init() { g_called = 6; }
void htod() { g_called = 7; }
void htod_v2() { g_called = 8; }
void htod_v2_ptds() { g_called = 9; }
void begin_capture() { g_called = 10; }
void begin_capture_ptsz() { g_called = 11; }
void begin_capture_v2() { g_called = 12; }
void begin_capture_v2_ptsz() { g_called = 13; }

// As gen_proc_table.cmake derives them from cudaTypedefs.h (procaddress rule, issue 13 notes).
constexpr ProcRow kRows[] = {
    {"cuCtxCreate", 2000, kProcPlain, &ctx_create},
    {"cuCtxCreate", 3020, kProcPlain, &ctx_create_v2},
    {"cuCtxCreate", 11040, kProcPlain, &ctx_create_v3},
    {"cuGetProcAddress", 11030, kProcPlain, &gpa_v1},
    {"cuGetProcAddress", 12000, kProcPlain, &gpa_v2},
    {"cuInit", 2000, kProcPlain, &init},
    {"cuMemcpyHtoD", 2000, kProcPlain, &htod},
    {"cuMemcpyHtoD", 3020, kProcPlain, &htod_v2},
    {"cuMemcpyHtoD", 7000, kProcPtds, &htod_v2_ptds},
    {"cuStreamBeginCapture", 10000, kProcPlain, &begin_capture},
    {"cuStreamBeginCapture", 10000, kProcPtsz, &begin_capture_ptsz},
    {"cuStreamBeginCapture", 10010, kProcPlain, &begin_capture_v2},
    {"cuStreamBeginCapture", 10010, kProcPtsz, &begin_capture_v2_ptsz},
};
static_assert(proc_rows_sorted(kRows));

constexpr uint64_t kLegacy = CU_GET_PROC_ADDRESS_LEGACY_STREAM;
constexpr uint64_t kPerThread = CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM;

void* addr(void (*f)()) { return reinterpret_cast<void*>(f); }

void* found(std::string_view symbol, int version, uint64_t flags = 0) {
  const ProcLookup r = lookup_proc(kRows, symbol, version, flags);
  CHECK(r.status == CU_GET_PROC_ADDRESS_SUCCESS);
  return r.fn;
}

CUdriverProcAddressQueryResult status_of(std::string_view symbol, int version, uint64_t flags = 0) {
  const ProcLookup r = lookup_proc(kRows, symbol, version, flags);
  CHECK(r.fn == nullptr);
  return r.status;
}

}  // namespace

// The unit tests link proc_address.o without the generated table (only the shared library
// compiles proc_table.cpp), so they supply the rows the entry points read.
std::span<const ProcRow> proc_rows() noexcept { return kRows; }

TEST_CASE("proc_rows_sorted: by base bytewise, then version, then variant", "[cuda][proc]") {
  constexpr ProcRow by_base[] = {{"cuB", 2000, kProcPlain, &init}, {"cuA", 2000, kProcPlain, &init}};
  constexpr ProcRow prefix_first[] = {{"cuMem", 9000, kProcPlain, &init},
                                      {"cuMemAlloc", 2000, kProcPlain, &init}};
  constexpr ProcRow by_version[] = {{"cuA", 3020, kProcPlain, &init}, {"cuA", 2000, kProcPlain, &init}};
  constexpr ProcRow twice[] = {{"cuA", 2000, kProcPlain, &init}, {"cuA", 2000, kProcPlain, &init}};
  constexpr ProcRow upper_first[] = {{"cuZ", 2000, kProcPlain, &init}, {"cua", 2000, kProcPlain, &init}};
  STATIC_REQUIRE(proc_rows_sorted(kRows));
  STATIC_REQUIRE(proc_rows_sorted(std::span<const ProcRow>{}));
  STATIC_REQUIRE_FALSE(proc_rows_sorted(by_base));
  STATIC_REQUIRE(proc_rows_sorted(prefix_first));
  STATIC_REQUIRE_FALSE(proc_rows_sorted(by_version));
  STATIC_REQUIRE_FALSE(proc_rows_sorted(twice));
  STATIC_REQUIRE(proc_rows_sorted(upper_first));  // bytewise, as CMake's list(SORT) orders
}

TEST_CASE("lookup_proc: the newest ABI at or below the requested version", "[cuda][proc]") {
  CHECK(found("cuCtxCreate", 2000) == addr(&ctx_create));
  CHECK(found("cuCtxCreate", 3010) == addr(&ctx_create));
  CHECK(found("cuCtxCreate", 3020) == addr(&ctx_create_v2));
  CHECK(found("cuCtxCreate", 11030) == addr(&ctx_create_v2));
  CHECK(found("cuCtxCreate", 11040) == addr(&ctx_create_v3));
  CHECK(found("cuCtxCreate", 13000) == addr(&ctx_create_v3));
  // Flag 1 (legacy stream) is the same search as flag 0.
  CHECK(found("cuCtxCreate", 3020, kLegacy) == addr(&ctx_create_v2));
  // cudart asks for both of its ABIs of cuGetProcAddress.
  CHECK(found("cuGetProcAddress", 11030) == addr(&gpa_v1));
  CHECK(found("cuGetProcAddress", 12000) == addr(&gpa_v2));
  CHECK(found("cuInit", 2000) == addr(&init));
}

TEST_CASE("lookup_proc: a version below the first ABI is not sufficient", "[cuda][proc]") {
  CHECK(status_of("cuCtxCreate", 1999) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  CHECK(status_of("cuGetProcAddress", 11020) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  CHECK(status_of("cuInit", 0) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  CHECK(status_of("cuInit", -1) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
}

TEST_CASE("lookup_proc: per-thread requests take the _ptds/_ptsz variant", "[cuda][proc]") {
  CHECK(found("cuMemcpyHtoD", 7000, kPerThread) == addr(&htod_v2_ptds));
  CHECK(found("cuMemcpyHtoD", 13000, kPerThread) == addr(&htod_v2_ptds));
  CHECK(found("cuMemcpyHtoD", 7000) == addr(&htod_v2));
  CHECK(found("cuMemcpyHtoD", 7000, kLegacy) == addr(&htod_v2));
  CHECK(found("cuMemcpyHtoD", 2000) == addr(&htod));
  // Versions of the per-thread variant follow the plain ones.
  CHECK(found("cuStreamBeginCapture", 10000, kPerThread) == addr(&begin_capture_ptsz));
  CHECK(found("cuStreamBeginCapture", 10010, kPerThread) == addr(&begin_capture_v2_ptsz));
  CHECK(found("cuStreamBeginCapture", 10010) == addr(&begin_capture_v2));
  // Both flags set: the caller accepts per-thread functions, so it gets them.
  CHECK(found("cuMemcpyHtoD", 7000, kLegacy | kPerThread) == addr(&htod_v2_ptds));
}

TEST_CASE("lookup_proc: no legacy fallback below the per-thread variant's version", "[cuda][proc]") {
  // The real driver answers nothing here (its table, as ZLUDA recorded it): the caller asked
  // for per-thread semantics, which no ABI at that version has.
  CHECK(status_of("cuMemcpyHtoD", 3020, kPerThread) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  CHECK(status_of("cuMemcpyHtoD", 6050, kPerThread) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
}

TEST_CASE("lookup_proc: a function without per-thread variant answers per-thread requests", "[cuda][proc]") {
  CHECK(found("cuInit", 2000, kPerThread) == addr(&init));
  CHECK(found("cuCtxCreate", 11040, kPerThread) == addr(&ctx_create_v3));
  CHECK(found("cuGetProcAddress", 12000, kPerThread) == addr(&gpa_v2));
  CHECK(status_of("cuInit", 1000, kPerThread) == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
}

TEST_CASE("lookup_proc: unknown names are not found", "[cuda][proc]") {
  CHECK(status_of("", 0) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(status_of("cuNoSuchThing", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  // Exact base names only: not a prefix, not an extension, not an exported versioned name.
  CHECK(status_of("cuMemcpy", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(status_of("cuMemcpyHtoDAsync", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(status_of("cuMemcpyHtoD_v2", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(status_of("cuinit", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(status_of("a", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(status_of("zz", 13000) == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  CHECK(lookup_proc({}, "cuInit", 13000, 0).status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
}

TEST_CASE("get_proc_address: outputs and argument checks", "[cuda][proc]") {
  int sentinel = 0;
  void* fn = &sentinel;
  CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT;

  SECTION("found") {
    CHECK(get_proc_address(kRows, "cuCtxCreate", &fn, 3020, 0, &status) == CUDA_SUCCESS);
    CHECK(fn == addr(&ctx_create_v2));
    CHECK(status == CU_GET_PROC_ADDRESS_SUCCESS);
  }
  SECTION("cudart's start-up probe: success, no function, not found (never STUB_LIBRARY)") {
    CHECK(get_proc_address(kRows, "", &fn, 0, 0, &status) == CUDA_SUCCESS);
    CHECK(fn == nullptr);
    CHECK(status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
  }
  SECTION("unknown and too old are CUDA_SUCCESS with a null function") {
    CHECK(get_proc_address(kRows, "cuNoSuchThing", &fn, 13000, 0, &status) == CUDA_SUCCESS);
    CHECK(fn == nullptr);
    CHECK(status == CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND);
    fn = &sentinel;
    CHECK(get_proc_address(kRows, "cuCtxCreate", &fn, 1000, 0, &status) == CUDA_SUCCESS);
    CHECK(fn == nullptr);
    CHECK(status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);
  }
  SECTION("symbolStatus is optional") {
    CHECK(get_proc_address(kRows, "cuInit", &fn, 2000, 0, nullptr) == CUDA_SUCCESS);
    CHECK(fn == addr(&init));
    CHECK(get_proc_address(kRows, "cuNoSuchThing", &fn, 2000, 0, nullptr) == CUDA_SUCCESS);
    CHECK(fn == nullptr);
  }
  SECTION("NULL symbol or pfn") {
    CHECK(get_proc_address(kRows, nullptr, &fn, 2000, 0, &status) == CUDA_ERROR_INVALID_VALUE);
    CHECK(fn == nullptr);
    CHECK(get_proc_address(kRows, "cuInit", nullptr, 2000, 0, &status) == CUDA_ERROR_INVALID_VALUE);
    CHECK(status == CU_GET_PROC_ADDRESS_VERSION_NOT_SUFFICIENT);  // untouched
  }
  SECTION("flag bits cuda.h does not define") {
    CHECK(get_proc_address(kRows, "cuInit", &fn, 2000, 4, &status) == CUDA_ERROR_INVALID_VALUE);
    CHECK(fn == nullptr);
    fn = &sentinel;
    CHECK(get_proc_address(kRows, "cuInit", &fn, 2000, uint64_t{1} << 63, nullptr) ==
          CUDA_ERROR_INVALID_VALUE);
    CHECK(fn == nullptr);
  }
}

TEST_CASE("cuGetProcAddress and cuGetProcAddress_v2 read proc_rows()", "[cuda][proc]") {
  void* fn = nullptr;
  CUdriverProcAddressQueryResult status = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
  CHECK(cuGetProcAddress_v2("cuGetProcAddress", &fn, 12000, 0, &status) == CUDA_SUCCESS);
  CHECK(fn == addr(&gpa_v2));
  CHECK(status == CU_GET_PROC_ADDRESS_SUCCESS);
  CHECK(cuGetProcAddress_v2("cuMemcpyHtoD", &fn, 7000, kPerThread, nullptr) == CUDA_SUCCESS);
  CHECK(fn == addr(&htod_v2_ptds));
  CHECK(cuGetProcAddress_v2("", &fn, 0, 0, nullptr) == CUDA_SUCCESS);
  CHECK(fn == nullptr);
  CHECK(cuGetProcAddress_v2(nullptr, &fn, 0, 0, nullptr) == CUDA_ERROR_INVALID_VALUE);

  CHECK(cuGetProcAddress("cuGetProcAddress", &fn, 11030, 0) == CUDA_SUCCESS);
  CHECK(fn == addr(&gpa_v1));
  CHECK(cuGetProcAddress("cuMemcpyHtoD", &fn, 3020, kLegacy) == CUDA_SUCCESS);
  CHECK(fn == addr(&htod_v2));
  CHECK(cuGetProcAddress("cuNoSuchThing", &fn, 13000, 0) == CUDA_SUCCESS);
  CHECK(fn == nullptr);
  CHECK(cuGetProcAddress("cuInit", nullptr, 2000, 0) == CUDA_ERROR_INVALID_VALUE);
}

}  // namespace vgpu::cuda
