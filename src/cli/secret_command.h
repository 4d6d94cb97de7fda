#pragma once
// provisionctl secret: writes the secret files provisiond reads, so that nobody has to get a
// key's format, a file's mode or an atomic replace right by hand.
#include <iostream>
#include <string>
#include <vector>

namespace prov::cli {

// secret new webhook [FILE] [--force]   a Standard Webhooks key: whsec_ + base64(32 random bytes)
// secret new bind [FILE] [--force]      a random password to set on the directory's bind DN
// secret set FILE [--force]             the secret read from stdin (an existing bind password,
//                                       an HR source's token)
// FILE defaults to the path the packaged unit loads (/etc/provisiond/{webhook,bind}.secret).
// Files are written with mode 0600 atomically; an existing file is kept unless --force.
// Exit 0 written, 1 refused or failed, 2 usage.
int cmd_secret(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
               std::ostream& err);

}  // namespace prov::cli
