// Typed marshalling of one call, from the traits generated out of protocol/calls.yaml
// (vgpu/protocol/call_traits.gen.h): the request and reply types come from the call id, so a call
// site cannot pair a call with another call's struct, forget a tail's length, or post a call
// that is only ever answered.
//
//   proto::MemAllocRequest request{size};
//   proto::MemAllocReply reply{};
//   CallResult r = guest::call<proto::CallId::MemAlloc>(channel, request, &reply);
//
//   guest::post<proto::CallId::LaunchKernel>(channel, launch, params);   // tail: the parameters
//   guest::call<proto::CallId::DeviceSynchronize>(channel, {}, nullptr); // no payloads: NoPayload
//
// A request tail's length field is filled in from the span; a tail longer than the call's
// maximum is refused here (Status::LimitExceeded) and not sent. A reply may be nullptr (the payload
// is dropped); a shorter reply than the struct leaves the rest as it was, so check
// CallResult::payload_size where it matters. Header-only: it only arranges Channel::call/post.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "guest/client/channel.h"
#include "vgpu/protocol/call_traits.gen.h"

namespace vgpu::guest {

namespace typed_call_detail {

template <proto::CallId Id>
using Traits = proto::CallTraits<Id>;

template <proto::CallId Id>
constexpr bool kHasRequest = !std::is_same_v<proto::RequestOf<Id>, proto::NoPayload>;
template <proto::CallId Id>
constexpr bool kHasReply = !std::is_same_v<proto::ReplyOf<Id>, proto::NoPayload>;

template <proto::CallId Id>
constexpr bool kMayAnswer = Traits<Id>::sent != proto::Sent::Posted;
template <proto::CallId Id>
constexpr bool kMayPost = Traits<Id>::sent != proto::Sent::Answered;

// The reply payload as bytes: the struct, or nothing for a call without one.
template <proto::CallId Id>
std::span<uint8_t> reply_bytes(proto::ReplyOf<Id>* reply) {
  if constexpr (kHasReply<Id>) {
    if (reply != nullptr) return {reinterpret_cast<uint8_t*>(reply), sizeof *reply};
  }
  return {};
}

// The request with its tail's length field set to the tail's size.
// A tail the call cannot carry: refused before anything is sent.
inline constexpr int32_t kTailTooLong = static_cast<int32_t>(proto::Status::LimitExceeded);

template <proto::CallId Id>
proto::RequestOf<Id> with_tail_length(const proto::RequestOf<Id>& request, size_t tail_size) {
  proto::RequestOf<Id> r = request;
  using Length = std::remove_reference_t<decltype(r.*Traits<Id>::request_tail_length)>;
  r.*Traits<Id>::request_tail_length = static_cast<Length>(tail_size);
  return r;
}

}  // namespace typed_call_detail

// An answered call without tails.
template <proto::CallId Id>
  requires(!proto::CallTraits<Id>::has_request_tail && !proto::CallTraits<Id>::has_reply_tail)
CallResult call(Channel& channel, const proto::RequestOf<Id>& request, proto::ReplyOf<Id>* reply,
                uint16_t flags = 0) {
  namespace d = typed_call_detail;
  static_assert(d::kMayAnswer<Id>, "this call is only ever posted: use post<Id>()");
  if constexpr (d::kHasRequest<Id>) {
    return channel.call(Id, {{&request, sizeof request}}, d::reply_bytes<Id>(reply), flags);
  } else {
    return channel.call(Id, {}, d::reply_bytes<Id>(reply), flags);
  }
}

// An answered call with a request tail, a reply tail, or both (pass an empty span for the one a
// call does not have). With a reply struct and a reply tail, payload_size counts both.
template <proto::CallId Id>
  requires(proto::CallTraits<Id>::has_request_tail || proto::CallTraits<Id>::has_reply_tail)
CallResult call(Channel& channel, const proto::RequestOf<Id>& request, std::span<const uint8_t> request_tail,
                proto::ReplyOf<Id>* reply, std::span<uint8_t> reply_tail = {}, uint16_t flags = 0) {
  namespace d = typed_call_detail;
  using T = proto::CallTraits<Id>;
  static_assert(d::kMayAnswer<Id>, "this call is only ever posted: use post<Id>()");
  static_assert(d::kHasRequest<Id>, "calls with tails have a request struct");
  if constexpr (T::has_request_tail) {
    if (request_tail.size() > T::max_request_tail) return CallResult{d::kTailTooLong, 0};
  }
  auto send = [&](std::span<uint8_t> reply_span) {
    if constexpr (T::has_request_tail) {
      const proto::RequestOf<Id> r = d::with_tail_length<Id>(request, request_tail.size());
      return channel.call(Id, {{&r, sizeof r}, {request_tail.data(), static_cast<uint32_t>(request_tail.size())}},
                          reply_span, flags);
    } else {
      return channel.call(Id, {{&request, sizeof request}}, reply_span, flags);
    }
  };
  if constexpr (!T::has_reply_tail || !d::kHasReply<Id>) {
    // Nothing or only bytes come back: straight into the caller's buffer.
    return send(T::has_reply_tail ? reply_tail : d::reply_bytes<Id>(reply));
  } else {
    // A struct then a tail, in one reply: received together, then split.
    std::vector<uint8_t> buffer(sizeof(proto::ReplyOf<Id>) + reply_tail.size());
    const CallResult r = send(buffer);
    const size_t got = r.payload_size;
    if (reply != nullptr) std::memcpy(reply, buffer.data(), std::min(got, sizeof *reply));
    if (got > sizeof(proto::ReplyOf<Id>) && !reply_tail.empty())
      std::memcpy(reply_tail.data(), buffer.data() + sizeof(proto::ReplyOf<Id>), got - sizeof(proto::ReplyOf<Id>));
    return r;
  }
}

// A posted call (no reply; an error surfaces later, Channel::take_async_error).
template <proto::CallId Id>
  requires(!proto::CallTraits<Id>::has_request_tail)
int32_t post(Channel& channel, const proto::RequestOf<Id>& request, uint16_t flags = 0) {
  namespace d = typed_call_detail;
  static_assert(d::kMayPost<Id>, "this call is always answered: use call<Id>()");
  if constexpr (d::kHasRequest<Id>) {
    return channel.post(Id, {{&request, sizeof request}}, flags);
  } else {
    return channel.post(Id, {}, flags);
  }
}

// A posted call with a request tail; its length field is set from the span.
template <proto::CallId Id>
  requires(proto::CallTraits<Id>::has_request_tail)
int32_t post(Channel& channel, const proto::RequestOf<Id>& request, std::span<const uint8_t> tail,
             uint16_t flags = 0) {
  namespace d = typed_call_detail;
  static_assert(d::kMayPost<Id>, "this call is always answered: use call<Id>()");
  if (tail.size() > proto::CallTraits<Id>::max_request_tail) return d::kTailTooLong;
  const proto::RequestOf<Id> r = d::with_tail_length<Id>(request, tail.size());
  return channel.post(Id, {{&r, sizeof r}, {tail.data(), static_cast<uint32_t>(tail.size())}}, flags);
}

}  // namespace vgpu::guest
