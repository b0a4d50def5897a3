#include "guest/cuda/context_local_storage.h"

#include <catch2/catch.hpp>
#include <vector>

using vgpu::cuda::ContextLocalStorage;

namespace {

int g_keys[4];  // distinct addresses to use as keys
void* key(int i) { return &g_keys[i]; }
void* value(uintptr_t v) { return reinterpret_cast<void*>(v); }
CUcontext some_context() { return reinterpret_cast<CUcontext>(uintptr_t{0x1234}); }

struct Call {
  CUcontext context;
  void* key;
  void* value;
};
std::vector<Call> g_calls;
ContextLocalStorage* g_storage = nullptr;  // for the destructors that call back

void record(CUcontext context, void* k, void* v) { g_calls.push_back({context, k, v}); }

// Puts a value under key 3 (whose own destructor is `record`), as the runtime may while its
// state is torn down, and reads and removes key 2 on the way.
void put_again(CUcontext context, void* k, void* v) {
  record(context, k, v);
  void* ignored = nullptr;
  g_storage->get(key(2), &ignored);
  g_storage->remove(key(2));
  g_storage->put(key(3), value(30), record);
}

// Puts itself back every time: destroy_all must still end.
void put_forever(CUcontext context, void* k, void* v) {
  record(context, k, v);
  g_storage->put(k, v, put_forever);
}

}  // namespace

TEST_CASE("context-local storage: get fails for a key never put", "[cuda][cls]") {
  ContextLocalStorage storage;
  void* v = value(0xdead);
  CHECK_FALSE(storage.get(key(0), &v));
  CHECK(v == value(0xdead));  // untouched
  CHECK_FALSE(storage.remove(key(0)));
}

TEST_CASE("context-local storage: put, get, replace, remove", "[cuda][cls]") {
  ContextLocalStorage storage;
  g_calls.clear();
  storage.put(key(0), value(1), record);
  storage.put(key(1), value(2), nullptr);
  void* v = nullptr;
  REQUIRE(storage.get(key(0), &v));
  CHECK(v == value(1));
  REQUIRE(storage.get(key(1), &v));
  CHECK(v == value(2));

  storage.put(key(0), value(3), record);  // replaces, without running the old destructor
  REQUIRE(storage.get(key(0), &v));
  CHECK(v == value(3));

  CHECK(storage.remove(key(0)));  // forgets, without running the destructor
  CHECK_FALSE(storage.get(key(0), &v));
  CHECK(storage.get(key(1), &v));
  CHECK_FALSE(storage.remove(key(0)));
  CHECK(g_calls.empty());
}

TEST_CASE("context-local storage: destroy_all runs each destructor once", "[cuda][cls]") {
  ContextLocalStorage storage;
  g_calls.clear();
  storage.put(key(0), value(10), record);
  storage.put(key(1), value(11), nullptr);  // no destructor: just dropped
  storage.put(key(2), value(12), record);
  storage.put(key(2), value(13), record);  // the replaced value's destructor never runs
  storage.destroy_all(some_context());

  REQUIRE(g_calls.size() == 2);
  CHECK(g_calls[0].context == some_context());
  CHECK(g_calls[0].key == key(0));
  CHECK(g_calls[0].value == value(10));
  CHECK(g_calls[1].context == some_context());
  CHECK(g_calls[1].key == key(2));
  CHECK(g_calls[1].value == value(13));
  void* v = nullptr;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(storage.get(key(i), &v));

  storage.destroy_all(some_context());  // nothing left: nothing runs again
  CHECK(g_calls.size() == 2);
}

TEST_CASE("context-local storage: a destructor may use the storage", "[cuda][cls]") {
  ContextLocalStorage storage;
  g_storage = &storage;
  g_calls.clear();
  storage.put(key(0), value(1), put_again);
  storage.put(key(2), value(2), record);
  storage.destroy_all(some_context());

  // key 0's destructor ran first (key 2 was already taken out, so its destructor still runs),
  // then key 3's, which it put, in a later round.
  REQUIRE(g_calls.size() == 3);
  CHECK(g_calls[0].key == key(0));
  CHECK(g_calls[1].key == key(2));
  CHECK(g_calls[2].key == key(3));
  CHECK(g_calls[2].value == value(30));
  void* v = nullptr;
  CHECK_FALSE(storage.get(key(3), &v));  // empty at the end
  g_storage = nullptr;
}

TEST_CASE("context-local storage: a destructor that always puts back cannot loop forever",
          "[cuda][cls]") {
  ContextLocalStorage storage;
  g_storage = &storage;
  g_calls.clear();
  storage.put(key(0), value(1), put_forever);
  storage.destroy_all(some_context());
  CHECK(g_calls.size() >= 1);
  CHECK(g_calls.size() <= 8);
  void* v = nullptr;
  CHECK_FALSE(storage.get(key(0), &v));
  g_storage = nullptr;
}
