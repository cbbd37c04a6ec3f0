// libFuzzer target for the protobuf wire reader of the shipped gRPC services
// (src/grpc/protowire.cpp: the health service decodes client messages with it).
//
// Input: any bytes, read as one message.
// Broken invariants trap:
//   - every field read is within the message (len payloads are views inside the input) and the
//     reader always makes progress;
//   - re-encoding the fields read from a well-formed message gives a message that reads back to
//     the same fields (varint and len fields; fixed-width fields are re-read from the input);
//   - the health decoders never accept a message the reader calls malformed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "grpc/protowire.hpp"

namespace wire = portico::grpc::wire;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  wire::reader r(in);
  wire::field f;
  std::vector<wire::field> fields;
  std::size_t steps = 0;
  while (r.next(f)) {
    if (++steps > size) std::abort();  // every field takes at least one byte
    if (f.type == wire::wire_type::len &&
        (f.bytes.data() < in.data() || f.bytes.data() + f.bytes.size() > in.data() + in.size()))
      std::abort();
    if (f.number == 0 || f.number > wire::max_field_number) std::abort();
    fields.push_back(f);
  }
  const bool well_formed = r.ok();
  if (well_formed) {
    std::string again;
    bool comparable = true;
    for (const auto& x : fields) {
      if (x.type == wire::wire_type::varint)
        wire::append_varint_field(again, x.number, x.value);
      else if (x.type == wire::wire_type::len)
        wire::append_len_field(again, x.number, x.bytes);
      else
        comparable = false;
    }
    if (comparable) {
      wire::reader r2(again);
      wire::field g;
      std::size_t i = 0;
      while (r2.next(g)) {
        if (i >= fields.size() || g.number != fields[i].number || g.type != fields[i].type)
          std::abort();
        if (g.type == wire::wire_type::varint ? g.value != fields[i].value
                                              : g.bytes != fields[i].bytes)
          std::abort();
        ++i;
      }
      if (!r2.ok() || i != fields.size()) std::abort();
    }
  }
  if (!well_formed && (wire::decode_health_request(in) || wire::decode_health_response(in)))
    std::abort();
  return 0;
}
