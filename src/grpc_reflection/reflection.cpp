// grpc.reflection.v1 / v1alpha ServerReflection (the gRPC project's doc/server-reflection.md
// and grpc/reflection/v1/reflection.proto) over libprotobuf's generated descriptor pool.
// v1 and v1alpha messages are the same on the wire (only the package differs), so one set of
// classes (v1alpha) serves both services.
#include "portico/grpc_reflection.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <limits>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "grpc/health/v1/health.pb.h"
#include "grpc/reflection/v1/reflection.pb.h"
#include "grpc/reflection/v1alpha/reflection.pb.h"

namespace portico::grpc::reflection {
namespace {

namespace pb = ::grpc::reflection::v1alpha;
namespace gp = ::google::protobuf;

using names_ptr = std::shared_ptr<const std::vector<std::string>>;

// doc/server-reflection.md: a file "and its dependencies" — the requested file first, then
// each transitive dependency once (what gRPC's C++ and Go servers send), so that a client can
// build a pool without asking again.
void add_file(const gp::FileDescriptor* file, pb::FileDescriptorResponse& out,
              std::unordered_set<std::string>& seen) {
  if (!seen.insert(file->name()).second) return;
  gp::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(out.add_file_descriptor_proto());
  for (int i = 0; i < file->dependency_count(); ++i)
    add_file(file->dependency(i), out, seen);
}

void error(pb::ServerReflectionResponse& res, status_code code, const std::string& what) {
  auto* e = res.mutable_error_response();
  e->set_error_code(static_cast<int>(code));
  e->set_error_message(what);
}
void not_found(pb::ServerReflectionResponse& res, const std::string& what) {
  error(res, status_code::not_found, what);
}

pb::ServerReflectionResponse answer(const pb::ServerReflectionRequest& req,
                                    const std::vector<std::string>& names) {
  const gp::DescriptorPool* pool = gp::DescriptorPool::generated_pool();
  pb::ServerReflectionResponse res;
  res.set_valid_host(req.host());
  *res.mutable_original_request() = req;
  std::unordered_set<std::string> seen;
  switch (req.message_request_case()) {
    case pb::ServerReflectionRequest::kListServices:
      // list_services: "The content will not be checked."
      for (const auto& n : names)
        res.mutable_list_services_response()->add_service()->set_name(n);
      break;
    case pb::ServerReflectionRequest::kFileByFilename:
      if (const auto* f = pool->FindFileByName(req.file_by_filename())) {
        add_file(f, *res.mutable_file_descriptor_response(), seen);
      } else {
        not_found(res, "file not found: " + req.file_by_filename());
      }
      break;
    case pb::ServerReflectionRequest::kFileContainingSymbol:
      if (const auto* f = pool->FindFileContainingSymbol(req.file_containing_symbol())) {
        add_file(f, *res.mutable_file_descriptor_response(), seen);
      } else {
        not_found(res, "symbol not found: " + req.file_containing_symbol());
      }
      break;
    case pb::ServerReflectionRequest::kFileContainingExtension: {
      const auto& ext = req.file_containing_extension();
      const auto* type = pool->FindMessageTypeByName(ext.containing_type());
      const auto* field =
          type ? pool->FindExtensionByNumber(type, ext.extension_number()) : nullptr;
      if (field) {
        add_file(field->file(), *res.mutable_file_descriptor_response(), seen);
      } else {
        not_found(res, "extension not found: " + ext.containing_type() + " " +
                           std::to_string(ext.extension_number()));
      }
      break;
    }
    case pb::ServerReflectionRequest::kAllExtensionNumbersOfType:
      if (const auto* type = pool->FindMessageTypeByName(req.all_extension_numbers_of_type())) {
        std::vector<const gp::FieldDescriptor*> exts;
        pool->FindAllExtensions(type, &exts);
        auto* out = res.mutable_all_extension_numbers_response();
        out->set_base_type_name(type->full_name());
        for (const auto* e : exts)
          out->add_extension_number(e->number());
      } else {
        not_found(res, "type not found: " + req.all_extension_numbers_of_type());
      }
      break;
    case pb::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      // A request that asks nothing (or a question newer than this server knows): UNIMPLEMENTED,
      // as gRPC's C++ server answers it.
      error(res, status_code::unimplemented,
            "no known question in the request (file_by_filename, file_containing_symbol, "
            "file_containing_extension, all_extension_numbers_of_type or list_services)");
      break;
  }
  return res;
}

// One response per request, in order; waits for on_ready when the client does not read, so
// at most one response past the high-water mark is buffered.
void serve_next(call c, names_ptr names) {
  c.read([c, names](std::optional<received_message> m) mutable {
    if (!m) {
      c.finish({});
      return;
    }
    pb::ServerReflectionRequest req;
    if (m->data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        !req.ParseFromArray(m->data.data(), static_cast<int>(m->data.size()))) {
      c.finish({status_code::internal, "failed to parse request message"});
      return;
    }
    std::string bytes;
    if (!answer(req, *names).SerializeToString(&bytes)) {
      c.finish({status_code::internal, "failed to serialize response"});
      return;
    }
    if (c.write(bytes)) {
      serve_next(c, names);  // read() from inside a read callback: no recursion
    } else if (!c.finished()) {
      c.on_ready([c, names]() mutable { serve_next(c, names); });
    }
  });
}

}  // namespace

void add_to(services& svc) {
  // Referenced so that the linker keeps these generated files, whose static initialisers put
  // their descriptors into the generated pool (nothing else in a program uses them).
  (void)::grpc::reflection::v1::ServerReflectionRequest::descriptor();
  (void)::grpc::health::v1::HealthCheckRequest::descriptor();
  const names_ptr names = svc.service_names();
  const method_handler h = [names](call c) { serve_next(std::move(c), names); };
  svc.add("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", h);
  svc.add("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", h);
}

}  // namespace portico::grpc::reflection
