// gRPC server reflection (the gRPC project's doc/server-reflection.md; reflection.proto of
// grpc.reflection.v1 and v1alpha), so that standard tools (grpcurl, grpc_cli, Postman, ...)
// can list the services and call them without .proto files (docs/grpc.md "Reflection").
//
//   portico::grpc::services svc;
//   ... svc.add / add_unary ...
//   portico::grpc::reflection::add_to(svc);
//   svc.mount(srv);
//
// Link portico_grpc_reflection (built when protobuf and Debian's grpc-proto are there). The
// descriptors come from libprotobuf's generated pool: the .proto files whose message classes
// the program links, and the descriptors of grpc.reflection.v1/v1alpha and grpc.health.v1,
// which this library carries (a program must not link other copies of those generated files:
// libprotobuf refuses a file registered twice).
#pragma once

#include "portico/grpc.hpp"

namespace portico::grpc::reflection {

/// Adds /grpc.reflection.v1.ServerReflection/ServerReflectionInfo and
/// /grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo to `svc` (the same
/// bidirectional stream: one response per request, in order, until the client half-closes).
/// Answers:
///  - list_services: every service added to `svc`, before or after this call (the two
///    reflection services included), in the order of their first method;
///  - file_by_filename, file_containing_symbol (a package-qualified service, method, message,
///    enum, field or extension name): that file, then each of its transitive dependencies
///    once, as serialised google.protobuf.FileDescriptorProto;
///  - file_containing_extension, all_extension_numbers_of_type: from the pool's extensions;
///  - anything not in the pool: error_response NOT_FOUND; a request with no question:
///    error_response UNIMPLEMENTED (what gRPC's C++ server answers).
/// A request that does not parse ends the call with INTERNAL.
void add_to(services& svc);

}  // namespace portico::grpc::reflection
