#include "guest/cuda/export_tables.h"
#include "guest/cuda/export_slots.h"

#include <pthread.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "guest/cuda/context.h"
#include "guest/cuda/driver_state.h"
#include "guest/cuda/handles.h"
#include "guest/cuda/integrity.h"

// These run without vgpud: cuInit never succeeds in the unit test binary, so there are no
// devices, and what needs one (CUDART_INTERFACE[2]'s success) is left to the tests that run
// NVIDIA's runtime on the shim.

using namespace vgpu::cuda;

namespace {

// The UUIDs as the research notes write them (section 4).
CUuuid uuid(const char* hex) {
  CUuuid u{};
  for (int i = 0, at = 0; i < 16; ++i) {
    if (hex[at] == '-') ++at;
    unsigned byte = 0;
    std::sscanf(hex + at, "%2x", &byte);
    u.bytes[i] = static_cast<char>(byte);
    at += 2;
  }
  return u;
}

const CUuuid kCudartInterface = uuid("6bd5fb6c-5bf4-e74a-8987-d93912fd9df9");
const CUuuid kToolsHooks = uuid("a094798c-2e74-2e74-93f2-0800200c0a66");
const CUuuid kToolsTls = uuid("42d85a81-23f6-cb47-8298-f6e78a3aecdc");
const CUuuid kContextLocalStorage = uuid("c693336e-1121-df11-a8c3-68f355d89593");
const CUuuid kContextChecks = uuid("263e8860-7cd2-6143-92f6-bbd5006dfa7e");
const CUuuid kIntegrity = uuid("d4082055-bde6-704b-8d34-ba123c66e1f2");
const CUuuid kToolsContext = uuid("21318c60-9714-3248-8ca6-41ff7324c8f2");
const CUuuid kToolsModule = uuid("6e163fbe-b958-444d-835c-e182aff1991e");
const CUuuid kCublasLtSetup = uuid("1734dc26-800d-4745-8726-c0f1e7dd8bca");

const void* const* table(const CUuuid& id) {
  const void* t = nullptr;
  REQUIRE(get_export_table(&t, &id) == CUDA_SUCCESS);
  REQUIRE(t != nullptr);
  return static_cast<const void* const*>(t);
}

template <typename Fn>
Fn* slot(const CUuuid& id, int index) {
  const void* p = table(id)[index];
  REQUIRE(p != nullptr);
  return reinterpret_cast<Fn*>(const_cast<void*>(p));
}

uintptr_t word(const CUuuid& id, int index) {
  return reinterpret_cast<uintptr_t>(table(id)[index]);
}

// Slot signatures as export_tables.cpp defines them (the runtime passes the hooks buffers one
// more argument, which C's calling convention lets the callee ignore; calling with a type other
// than the definition's would be undefined in C++, so the test does not).
using ClsPut = CUresult(CUcontext, void*, void*, void (*)(CUcontext, void*, void*)) noexcept;
using ClsDelete = CUresult(CUcontext, void*) noexcept;
using ClsGet = CUresult(void**, CUcontext, void*) noexcept;
using PrimaryContext = CUresult(CUcontext*, CUdevice, int) noexcept;
using ToolsTlsContext = CUresult(CUcontext*, uint32_t) noexcept;
using HooksBuffer = CUresult(void**, size_t*) noexcept;
using ContextCheck2 = CUresult(CUcontext, uint32_t*, void**) noexcept;
using ContextCheck3 = uint32_t(uint32_t) noexcept;
using Integrity = CUresult(uint32_t, uint64_t, uint64_t*) noexcept;
using NoArguments = CUresult() noexcept;

int g_key;
std::vector<void*> g_destroyed;
void record_destroy(CUcontext, void*, void* value) { g_destroyed.push_back(value); }

}  // namespace

TEST_CASE("export tables: size words as the real driver's", "[cuda][export_tables]") {
  CHECK(word(kCudartInterface, 0) == 13 * 8);
  CHECK(word(kToolsHooks, 0) == 7 * 8);
  CHECK(word(kToolsTls, 0) == 3 * 8);
  CHECK(word(kContextChecks, 0) == 15 * 8);
  CHECK(word(kIntegrity, 0) == 3 * 8);
  CHECK(word(kCublasLtSetup, 0) == 17 * 8);
  // No size word: three functions, then a null.
  for (int i = 0; i < 3; ++i) CHECK(table(kContextLocalStorage)[i] != nullptr);
  CHECK(table(kContextLocalStorage)[3] == nullptr);
  // Every slot after the size word is a function.
  for (const CUuuid* id :
       {&kCudartInterface, &kToolsHooks, &kToolsTls, &kContextChecks, &kIntegrity, &kCublasLtSetup}) {
    const std::size_t slots = word(*id, 0) / sizeof(void*);
    for (std::size_t i = 1; i < slots; ++i) CHECK(table(*id)[i] != nullptr);
  }
}

TEST_CASE("export tables: the same table every time", "[cuda][export_tables]") {
  for (const CUuuid* id : {&kCudartInterface, &kToolsHooks, &kToolsTls, &kContextLocalStorage,
                           &kContextChecks, &kIntegrity}) {
    CHECK(table(*id) == table(*id));
  }
  CHECK(table(kCudartInterface) != table(kIntegrity));
}

TEST_CASE("export tables: other UUIDs are refused", "[cuda][export_tables]") {
  for (const char* hex :
       {"f8cff951-2146-8b4e-b9e2-fb469e7c0dd9", "da9151d3-3ae6-cc41-a5c0-4f26d533e328",
        "69a28e9f-2449-8b47-b030-c5da330ea4e9", "00000000-0000-0000-0000-000000000000"}) {
    INFO(hex);
    const CUuuid id = uuid(hex);
    for (int twice = 0; twice < 2; ++twice) {  // the second time is not logged again
      const void* t = &g_key;
      CHECK(get_export_table(&t, &id) == CUDA_ERROR_INVALID_VALUE);
      CHECK(t == nullptr);
    }
  }
  // One byte off a served UUID.
  CUuuid id = kIntegrity;
  id.bytes[15] ^= 1;
  const void* t = &g_key;
  CHECK(get_export_table(&t, &id) == CUDA_ERROR_INVALID_VALUE);
  CHECK(t == nullptr);
  CHECK(get_export_table(&t, nullptr) == CUDA_ERROR_INVALID_VALUE);
  CHECK(get_export_table(nullptr, &kIntegrity) == CUDA_ERROR_INVALID_VALUE);
}

TEST_CASE("export tables: refusals the runtime does without are said quietly", "[cuda][export_tables]") {
  using vgpu::guest::LogLevel;
  // Asked for by NVIDIA's runtime on every start, and by the math libraries as they load.
  for (const char* hex : {"f8cff951-2146-8b4e-b9e2-fb469e7c0dd9", "da9151d3-3ae6-cc41-a5c0-4f26d533e328"}) {
    INFO(hex);
    const CUuuid id = uuid(hex);
    CHECK(vgpu::cuda::refusal_log_level(reinterpret_cast<const uint8_t*>(id.bytes), true) == LogLevel::Debug);
  }
  // Anything else may be why a program fails: said at Warn, once.
  const CUuuid other = uuid("69a28e9f-2449-8b47-b030-c5da330ea4e9");
  const auto* bytes = reinterpret_cast<const uint8_t*>(other.bytes);
  CHECK(vgpu::cuda::refusal_log_level(bytes, true) == LogLevel::Warn);
  CHECK(vgpu::cuda::refusal_log_level(bytes, false) == LogLevel::Debug);
}

TEST_CASE("export tables: context-local storage through the table", "[cuda][export_tables]") {
  auto* put = slot<ClsPut>(kContextLocalStorage, 0);
  auto* remove = slot<ClsDelete>(kContextLocalStorage, 1);
  auto* get = slot<ClsGet>(kContextLocalStorage, 2);
  void* value = nullptr;

  // No context given and none current.
  REQUIRE(current_context() == nullptr);
  CHECK(get(&value, nullptr, &g_key) == CUDA_ERROR_INVALID_CONTEXT);
  CHECK(put(nullptr, &g_key, &value, nullptr) == CUDA_ERROR_INVALID_CONTEXT);
  CHECK(remove(nullptr, &g_key) == CUDA_ERROR_INVALID_CONTEXT);
  // A handle that is not one of ours.
  CUcontext bogus = reinterpret_cast<CUcontext>(&g_key);
  CHECK(get(&value, bogus, &g_key) == CUDA_ERROR_INVALID_CONTEXT);

  Context* c = create_context(0, 0);
  REQUIRE(c != nullptr);
  const CUcontext handle = handle_of(c);
  CHECK(get(&value, handle, &g_key) == CUDA_ERROR_INVALID_HANDLE);  // the runtime's first get
  CHECK(get(nullptr, handle, &g_key) == CUDA_ERROR_INVALID_VALUE);
  CHECK(put(handle, &g_key, reinterpret_cast<void*>(uintptr_t{7}), record_destroy) == CUDA_SUCCESS);
  REQUIRE(get(&value, handle, &g_key) == CUDA_SUCCESS);
  CHECK(value == reinterpret_cast<void*>(uintptr_t{7}));

  // A null context is the current one.
  set_current_context(c);
  value = nullptr;
  REQUIRE(get(&value, nullptr, &g_key) == CUDA_SUCCESS);
  CHECK(value == reinterpret_cast<void*>(uintptr_t{7}));
  CHECK(remove(nullptr, &g_key) == CUDA_SUCCESS);
  CHECK(get(&value, handle, &g_key) == CUDA_ERROR_INVALID_HANDLE);
  CHECK(remove(handle, &g_key) == CUDA_ERROR_INVALID_HANDLE);
  set_current_context(nullptr);

  // Destroying the context runs the destructors of what is left.
  g_destroyed.clear();
  CHECK(put(handle, &g_key, reinterpret_cast<void*>(uintptr_t{9}), record_destroy) == CUDA_SUCCESS);
  REQUIRE(destroy_context(c));
  REQUIRE(g_destroyed.size() == 1);
  CHECK(g_destroyed[0] == reinterpret_cast<void*>(uintptr_t{9}));
  CHECK(get(&value, handle, &g_key) == CUDA_ERROR_INVALID_CONTEXT);  // gone
}

TEST_CASE("export tables: CUDART_INTERFACE slots", "[cuda][export_tables]") {
  auto* primary = slot<PrimaryContext>(kCudartInterface, 2);
  CUcontext ctx = nullptr;
  if (const CUresult init = init_status(); init != CUDA_SUCCESS) {
    // The usual case here (see the top of this file): no devices before a successful cuInit.
    CHECK(primary(&ctx, 0, -1) == init);
    CHECK(ctx == nullptr);
  } else {
    // Should a fixture ever give the binary a vgpud: the primary contexts, unretained.
    for (uint32_t d = 0; d < device_count(); ++d) {
      REQUIRE(primary(&ctx, static_cast<CUdevice>(d), -1) == CUDA_SUCCESS);
      CHECK(ctx == handle_of(primary_context(d)));
    }
    CHECK(primary(&ctx, static_cast<CUdevice>(device_count()), -1) == CUDA_ERROR_INVALID_DEVICE);
    CHECK(primary(&ctx, -1, -1) == CUDA_ERROR_INVALID_DEVICE);
  }
  CHECK(slot<PrimaryContext>(kCudartInterface, 2)(nullptr, 0, -1) == CUDA_ERROR_INVALID_VALUE);
  CHECK(slot<CUresult(size_t) noexcept>(kCudartInterface, 7)(0) == CUDA_SUCCESS);
  CHECK(slot<NoArguments>(kCudartInterface, 12)() == CUDA_SUCCESS);

  // Module loading from a fatbin and the unused slots: not supported, and counted.
  const uint64_t before = unimplemented_export_slot_calls();
  for (int i : {1, 3, 6, 8, 11})
    CHECK(slot<NoArguments>(kCudartInterface, i)() == CUDA_ERROR_NOT_SUPPORTED);
  CHECK(slot<NoArguments>(kContextChecks, 14)() == CUDA_ERROR_NOT_SUPPORTED);
  CHECK(unimplemented_export_slot_calls() == before + 6);
  // TOOLS_TLS's two slots succeed, and are not counted (the next test looks into [2]).
  CHECK(slot<NoArguments>(kToolsTls, 1)() == CUDA_SUCCESS);
  CUcontext ignored = nullptr;
  CHECK(slot<ToolsTlsContext>(kToolsTls, 2)(&ignored, 0x37) == CUDA_SUCCESS);
  CHECK(unimplemented_export_slot_calls() == before + 6);
}

TEST_CASE("export tables: TOOLS_TLS [2] writes the current context", "[cuda][export_tables]") {
  // The runtime reads what [2] writes and skips the call it reports on when it is not the
  // current context: cuBLAS's GEMMs answered NOT_SUPPORTED when the slot left it unwritten.
  auto* current = slot<ToolsTlsContext>(kToolsTls, 2);
  REQUIRE(current_context() == nullptr);
  CUcontext got = reinterpret_cast<CUcontext>(uintptr_t{0xAAAA});
  REQUIRE(current(&got, 0x37) == CUDA_SUCCESS);
  CHECK(got == nullptr);

  Context* c = create_context(0, 0);
  REQUIRE(c != nullptr);
  set_current_context(c);
  got = reinterpret_cast<CUcontext>(uintptr_t{0xAAAA});
  REQUIRE(current(&got, 0x23) == CUDA_SUCCESS);
  CHECK(got == handle_of(c));
  set_current_context(nullptr);
  REQUIRE(destroy_context(c));
  CHECK(current(nullptr, 0x37) == CUDA_SUCCESS);  // nothing to write to, nothing written
}

TEST_CASE("export tables: tools hooks hand out zeroed static buffers", "[cuda][export_tables]") {
  void* a = nullptr;
  void* b = nullptr;
  size_t a_size = 0;
  size_t b_size = 0;
  REQUIRE(slot<HooksBuffer>(kToolsHooks, 2)(&a, &a_size) == CUDA_SUCCESS);
  REQUIRE(slot<HooksBuffer>(kToolsHooks, 6)(&b, &b_size) == CUDA_SUCCESS);
  CHECK(a_size == 1024);
  CHECK(b_size == 14);
  REQUIRE(a != nullptr);
  REQUIRE(b != nullptr);
  CHECK(a != b);
  // Zeroed, and at least as many 32-bit words as the size says (bytes or words alike).
  for (size_t i = 0; i < a_size; ++i) CHECK(static_cast<uint32_t*>(a)[i] == 0);
  for (size_t i = 0; i < b_size; ++i) CHECK(static_cast<uint32_t*>(b)[i] == 0);
  void* again = nullptr;
  REQUIRE(slot<HooksBuffer>(kToolsHooks, 2)(&again, &a_size) == CUDA_SUCCESS);
  CHECK(again == a);
  CHECK(slot<HooksBuffer>(kToolsHooks, 2)(nullptr, &a_size) == CUDA_ERROR_INVALID_VALUE);
}

TEST_CASE("export tables: context checks report nothing", "[cuda][export_tables]") {
  uint32_t out = 0xffffffff;
  void* out2 = &g_key;
  CHECK(slot<ContextCheck2>(kContextChecks, 2)(nullptr, &out, &out2) == CUDA_SUCCESS);
  CHECK(out == 0);
  CHECK(out2 == &g_key);  // left as it was
  CHECK(slot<ContextCheck3>(kContextChecks, 3)(0x13) == 0);
}

TEST_CASE("export tables: the integrity check covers this process and the tables",
          "[cuda][export_tables][integrity]") {
  auto* check = slot<Integrity>(kIntegrity, 1);
  uint64_t out[2] = {};
  REQUIRE(check(13000, 1700000000, out) == CUDA_SUCCESS);
  CHECK(out[0] == 0x3341181C03CB675Cull);
  CHECK(out[1] == 0x8ED383AA1F4CD1E8ull);
  REQUIRE(check(13001, 1700000000, out) == CUDA_SUCCESS);
  CHECK(out[0] == 0x1841181C03CB675Cull);

  // The keyed answer: what integrity_answer gives for this process, this thread, the tables as
  // handed out and the devices (none without vgpud).
  REQUIRE(check(13002, 1700000000, out) == CUDA_SUCCESS);
  const pthread_t self = pthread_self();
  uint64_t thread = 0;
  std::memcpy(&thread, &self, sizeof self);
  IntegrityInputs in;
  in.driver_version = static_cast<uint32_t>(reported_driver_version());
  in.version = 13002;
  in.pid = static_cast<uint32_t>(getpid());
  in.thread = static_cast<uint32_t>(thread);
  in.cudart_interface_table = reinterpret_cast<uintptr_t>(table(kCudartInterface));
  in.integrity_table = reinterpret_cast<uintptr_t>(table(kIntegrity));
  in.integrity_function = reinterpret_cast<uintptr_t>(check);
  in.unix_seconds = 1700000000;
  std::vector<IntegrityDevice> devices;
  for (uint32_t d = 0; d < device_count(); ++d) devices.push_back(integrity_device(*device(d)));
  in.devices = devices;
  const IntegrityAnswer expected = integrity_answer(in);
  CHECK(out[0] == expected[0]);
  CHECK(out[1] == expected[1]);
  CHECK(check(13002, 1700000000, nullptr) == CUDA_ERROR_INVALID_VALUE);
}

TEST_CASE("export tables: the tools tables CUDA's libraries ask for", "[cuda][export_tables]") {
  // The real driver's sizes, every slot filled.
  CHECK(word(kToolsContext, 0) == 93 * sizeof(void*));
  CHECK(word(kToolsModule, 0) == 99 * sizeof(void*));
  for (int i = 1; i < 93; ++i) CHECK(table(kToolsContext)[i] != nullptr);
  for (int i = 1; i < 99; ++i) CHECK(table(kToolsModule)[i] != nullptr);

  // [4] a context's id: unique, stable, and the current context's for null.
  using ContextId = CUresult(CUcontext, uint64_t*) noexcept;
  auto* context_id = slot<ContextId>(kToolsContext, 4);
  Context* a = create_context(0, 0);
  Context* b = create_context(0, 0);
  uint64_t id_a = 0, id_b = 0, id_current = 0;
  CHECK(context_id(handle_of(a), &id_a) == CUDA_SUCCESS);
  CHECK(context_id(handle_of(b), &id_b) == CUDA_SUCCESS);
  CHECK(id_a != 0);
  CHECK(id_a != id_b);
  REQUIRE(push_context(b));
  CHECK(context_id(nullptr, &id_current) == CUDA_SUCCESS);
  CHECK(id_current == id_b);
  CHECK(context_id(handle_of(a), nullptr) == CUDA_ERROR_INVALID_VALUE);
  using ContextDevice = CUresult(CUcontext, CUdevice*) noexcept;
  CUdevice device = -1;
  CHECK(slot<ContextDevice>(kToolsContext, 3)(nullptr, &device) == CUDA_SUCCESS);
  CHECK(device == 0);
  CHECK(pop_context() == b);
  CHECK(context_id(nullptr, &id_current) == CUDA_ERROR_INVALID_CONTEXT);
  CHECK(destroy_context(a));
  CHECK(destroy_context(b));

  // [51] then [39]: a public stream's tools handle, and its id.
  using ToolsHandle = CUresult(CUcontext, CUstream, void**, uint8_t) noexcept;
  using StreamId = CUresult(CUcontext, void*, uint64_t*) noexcept;
  auto* tools_handle = slot<ToolsHandle>(kToolsContext, 51);
  auto* stream_id = slot<StreamId>(kToolsContext, 39);
  StreamObject created{HandleKind::Stream, 0x123, 0};
  void* handle = nullptr;
  uint64_t id = 0;
  REQUIRE(tools_handle(nullptr, reinterpret_cast<CUstream>(&created), &handle, 0) == CUDA_SUCCESS);
  CHECK(stream_id(nullptr, handle, &id) == CUDA_SUCCESS);
  CHECK(id == 0x123);
  void* legacy = nullptr;
  void* per_thread = nullptr;
  REQUIRE(tools_handle(nullptr, nullptr, &legacy, 0) == CUDA_SUCCESS);
  REQUIRE(tools_handle(nullptr, CU_STREAM_PER_THREAD, &per_thread, 1) == CUDA_SUCCESS);
  uint64_t legacy_id = 0, per_thread_id = 0;
  CHECK(stream_id(nullptr, legacy, &legacy_id) == CUDA_SUCCESS);
  CHECK(stream_id(nullptr, per_thread, &per_thread_id) == CUDA_SUCCESS);
  CHECK(legacy_id != 0);
  CHECK(per_thread_id != 0);
  CHECK(legacy_id != per_thread_id);
  CHECK(legacy_id != id);
  CHECK(tools_handle(nullptr, reinterpret_cast<CUstream>(~uintptr_t{0}), &handle, 0) == CUDA_ERROR_INVALID_HANDLE);
  int not_a_stream = 0;
  CHECK(stream_id(nullptr, &not_a_stream, &id) == CUDA_ERROR_INVALID_HANDLE);
  CHECK(tools_handle(nullptr, nullptr, nullptr, 0) == CUDA_ERROR_INVALID_VALUE);

  // The rest answer "not supported", counted.
  using NoArguments = CUresult() noexcept;
  const uint64_t before = unimplemented_export_slot_calls();
  CHECK(slot<NoArguments>(kToolsContext, 92)() == CUDA_ERROR_NOT_SUPPORTED);
  CHECK(slot<NoArguments>(kToolsModule, 98)() == CUDA_ERROR_NOT_SUPPORTED);
  CHECK(unimplemented_export_slot_calls() == before + 2);
}

// cuBLASLt calls [4] and [13] of this table and does not check that the table exists (handed
// none, it crashes); told "not supported" by every slot, it goes on, quietly as it does that.
TEST_CASE("export tables: cuBLASLt's 1734dc26 table declines every slot", "[cuda][export_tables]") {
  using Declined = CUresult(uint64_t, uint64_t, uint64_t, uint64_t) noexcept;
  const uint64_t before = unimplemented_export_slot_calls();
  void* out[2] = {nullptr, nullptr};
  CHECK(slot<Declined>(kCublasLtSetup, 4)(reinterpret_cast<uintptr_t>(&out[0]), reinterpret_cast<uintptr_t>(&out[1]),
                                          0, 0) == CUDA_ERROR_NOT_SUPPORTED);
  CHECK(slot<Declined>(kCublasLtSetup, 13)(0, 0, 0x40, 7) == CUDA_ERROR_NOT_SUPPORTED);
  CHECK(out[0] == nullptr);
  CHECK(out[1] == nullptr);
  CHECK(unimplemented_export_slot_calls() == before + 2);
}
