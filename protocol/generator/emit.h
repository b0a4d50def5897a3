// What vgpu-callgen writes from a loaded Protocol. Each function returns one file's text; main.cpp
// decides where it goes. The generated code is meant to be read (and stepped through): one plain
// function per call, one struct per message, comments from the YAML.
#pragma once
#include <string>

#include "protocol/generator/model.h"

namespace vgpu::callgen {

// vgpu/protocol/payloads.gen.h: the wire structs, each offset and size pinned by static_assert.
std::string emit_payloads(const Protocol& p);
// vgpu/protocol/call_ids.gen.h: enum class CallId and kAllCalls.
std::string emit_call_ids(const Protocol& p);
// call_names.gen.cpp: call_name().
std::string emit_call_names(const Protocol& p);
// vgpu/protocol/call_traits.gen.h: CallTraits<Id> (name, sent, Request, Reply, tails).
std::string emit_call_traits(const Protocol& p);
// vgpud/request/commands.gen.h: the validated command types and the CallCommand variant.
std::string emit_commands(const Protocol& p);
// vgpud/mediator/parse_calls.gen.inc: one parse function per call and parse_body(), included by
// vgpud/mediator/parse.cpp inside its anonymous namespace.
std::string emit_parser(const Protocol& p);

// docs/protocol.md §5's message table (markdown, one row per call).
std::string doc_table(const Protocol& p);
inline constexpr const char* kDocBegin =
    "<!-- calls: generated from protocol/calls.yaml by vgpu-callgen; do not edit -->";
inline constexpr const char* kDocEnd = "<!-- end calls -->";
// `doc` with the text between the markers replaced by `table`. Throws GenError without markers.
std::string splice_doc(const std::string& doc, const std::string& table, const std::string& doc_path);

}  // namespace vgpu::callgen
