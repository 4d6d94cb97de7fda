#include "cli/daemon_api.h"

#include <fstream>
#include <ostream>
#include <sstream>

namespace prov::cli {

std::optional<HttpAnswer> call_daemon(const DaemonAddress& address, const Config* config,
                                      const std::string& method, const std::string& path,
                                      const std::optional<Json>& body, std::ostream& err) {
  HttpCall call;
  call.method = method;
  call.user_agent = "provisionctl";
  call.timeout = std::chrono::seconds(120);
  if (body) call.body = body->dump();
  std::string where;
  if (!address.url.empty()) {
    if (address.token_file.empty()) {
      err << "provisionctl: --url needs --token-file FILE (a token from provisionctl token new)\n";
      return std::nullopt;
    }
    std::ifstream in(address.token_file);
    std::stringstream text;
    text << in.rdbuf();
    call.bearer_token = text.str();
    while (!call.bearer_token.empty() &&
           (call.bearer_token.back() == '\n' || call.bearer_token.back() == '\r'))
      call.bearer_token.pop_back();
    if (!in || call.bearer_token.empty()) {
      err << "provisionctl: cannot read a token from " << address.token_file << "\n";
      return std::nullopt;
    }
    std::string base = address.url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    call.url = base + path;
    call.ca_file = address.ca_file;
    where = address.url;
  } else {
    if (config == nullptr || config->admin.socket.empty()) {
      err << "provisionctl: admin.socket is off in the config: give --url and --token-file\n";
      return std::nullopt;
    }
    call.unix_socket = config->admin.socket.string();
    call.url = "http://localhost" + path;
    where = "unix:" + call.unix_socket;
  }
  auto answer = http_call(call);
  if (!answer) {
    err << "provisionctl: cannot reach provisiond at " << where << ": " << answer.error().message
        << "\n  decisions go through the running daemon, which authenticates and audits them;"
           " is it running?\n";
    return std::nullopt;
  }
  return *answer;
}

std::string problem_detail(const HttpAnswer& answer) {
  try {
    const Json j = Json::parse(answer.body);
    if (j.is_object() && j.contains("detail"))
      return "HTTP " + std::to_string(answer.status) + ": " + j["detail"].get<std::string>();
  } catch (const Json::exception&) {
  }
  return "HTTP " + std::to_string(answer.status);
}

}  // namespace prov::cli
