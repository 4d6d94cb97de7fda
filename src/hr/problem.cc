// RFC 9457 problem details, the error shape of every HTTP listener.
#include <nlohmann/json.hpp>

#include "prov/http.h"

namespace prov {

HttpResponse problem(int status, const std::string& title, const std::string& detail,
                     const std::string& field) {
  // "about:blank" says the status code and title carry the whole meaning (RFC 9457 §4.2.1).
  nlohmann::json body = {
      {"type", "about:blank"}, {"title", title}, {"status", status}, {"detail", detail}};
  if (!field.empty()) body["field"] = field;
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  // Replace rather than throw on invalid UTF-8 echoed back from a request.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

}  // namespace prov
