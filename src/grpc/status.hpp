// gRPC status codes (the gRPC project's doc/statuscodes.md) as a std::error_code category.
// The enum lives in the public header portico/grpc.hpp; this header is what protocol code
// includes.
#pragma once

#include "portico/grpc.hpp"  // IWYU pragma: export
