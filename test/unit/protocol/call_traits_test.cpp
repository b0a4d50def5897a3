// The traits generated from protocol/calls.yaml, and the typed marshalling built on them
// (guest/client/typed_call.h): which overloads a call admits follows from what it carries.
#include <catch2/catch.hpp>

#include <span>
#include <string>
#include <type_traits>

#include "guest/client/typed_call.h"
#include "vgpu/protocol/call_traits.gen.h"

using namespace vgpu::proto;
using vgpu::guest::Channel;

namespace {

// Can typed call<Id>() / post<Id>() be called with these arguments?
template <CallId Id, typename... Args>
concept Callable = requires(Channel& ch, Args... args) { vgpu::guest::call<Id>(ch, args...); };
template <CallId Id, typename... Args>
concept Postable = requires(Channel& ch, Args... args) { vgpu::guest::post<Id>(ch, args...); };

using Bytes = std::span<const uint8_t>;
using OutBytes = std::span<uint8_t>;

}  // namespace

TEST_CASE("each call's traits agree with its id and name", "[protocol][traits]") {
  for (CallId id : kAllCalls) CHECK(call_name(id) != "UNKNOWN");
  STATIC_REQUIRE(CallTraits<CallId::MemAlloc>::name == "MEM_ALLOC");
  STATIC_REQUIRE(std::is_same_v<RequestOf<CallId::MemAlloc>, MemAllocRequest>);
  STATIC_REQUIRE(std::is_same_v<ReplyOf<CallId::MemAlloc>, MemAllocReply>);
  STATIC_REQUIRE(std::is_same_v<RequestOf<CallId::MemcpyDtoHInline>, MemcpyDtoHRequest>);
  STATIC_REQUIRE(std::is_same_v<RequestOf<CallId::MemcpyDtoHStaged>, MemcpyDtoHRequest>);
  STATIC_REQUIRE(std::is_same_v<ReplyOf<CallId::MemcpyDtoHStaged>, MemcpyDtoHStagedReply>);
  STATIC_REQUIRE(std::is_same_v<RequestOf<CallId::DeviceSynchronize>, NoPayload>);
  STATIC_REQUIRE(CallTraits<CallId::LaunchKernel>::sent == Sent::Posted);
  STATIC_REQUIRE(CallTraits<CallId::MemcpyHtoDInline>::sent == Sent::Either);
  STATIC_REQUIRE(CallTraits<CallId::LaunchKernel>::request_tail_length == &LaunchKernelRequest::param_bytes);
  STATIC_REQUIRE(CallTraits<CallId::ModuleGetFunction>::max_request_tail == vgpu::limits::kMaxSymbolName);
  STATIC_REQUIRE(std::is_same_v<CallTraits<CallId::ModuleGetFunction>::ReplyTailElement, KernelParamInfo>);
  // The ids are the wire's: a few spot checks against protocol.md.
  STATIC_REQUIRE(static_cast<uint16_t>(CallId::Hello) == 0x0001);
  STATIC_REQUIRE(static_cast<uint16_t>(CallId::MemAlloc) == 0x0030);
  STATIC_REQUIRE(static_cast<uint16_t>(CallId::EventElapsedTime) == 0x0085);
}

TEST_CASE("typed calls take exactly the payloads their call declares", "[protocol][traits]") {
  STATIC_REQUIRE(Callable<CallId::MemAlloc, MemAllocRequest, MemAllocReply*>);
  STATIC_REQUIRE_FALSE(Callable<CallId::MemAlloc, MemFreeRequest, MemAllocReply*>);
  STATIC_REQUIRE_FALSE(Callable<CallId::MemAlloc, MemAllocRequest, EventCreateReply*>);
  STATIC_REQUIRE(Callable<CallId::DeviceSynchronize, NoPayload, NoPayload*>);
  STATIC_REQUIRE(Callable<CallId::MemGetInfo, NoPayload, MemGetInfoReply*>);
  // A call with a tail needs the tail.
  STATIC_REQUIRE_FALSE(Callable<CallId::ModuleGetGlobal, ModuleSymbolRequest, ModuleGetGlobalReply*>);
  STATIC_REQUIRE(Callable<CallId::ModuleGetGlobal, ModuleSymbolRequest, Bytes, ModuleGetGlobalReply*>);
  STATIC_REQUIRE(Callable<CallId::ModuleGetFunction, ModuleSymbolRequest, Bytes, ModuleGetFunctionReply*, OutBytes>);
  STATIC_REQUIRE(Callable<CallId::MemcpyDtoHInline, MemcpyDtoHRequest, Bytes, NoPayload*, OutBytes>);
  STATIC_REQUIRE(Postable<CallId::LaunchKernel, LaunchKernelRequest, Bytes>);
  STATIC_REQUIRE_FALSE(Postable<CallId::LaunchKernel, LaunchKernelRequest>);
  STATIC_REQUIRE(Postable<CallId::Memset, MemsetRequest>);
  STATIC_REQUIRE(Postable<CallId::Memset, MemsetRequest, uint16_t>);  // flags
}
