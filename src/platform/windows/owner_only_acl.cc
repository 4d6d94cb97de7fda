#include "platform/windows/owner_only_acl.h"

#include <aclapi.h>
#include <sddl.h>

#include "platform/windows/win_error.h"

namespace prov {
namespace {

std::string sid_name(PSID sid) {
  wchar_t name[256], domain[256];
  DWORD name_len = 256, domain_len = 256;
  SID_NAME_USE use;
  if (LookupAccountSidW(nullptr, sid, name, &name_len, domain, &domain_len, &use)) {
    std::wstring w = std::wstring(domain) + (domain_len ? L"\\" : L"") + name;
    return std::filesystem::path(w).string();
  }
  char* text = nullptr;
  std::string out = "unknown account";
  if (ConvertSidToStringSidA(sid, &text)) {
    out = text;
    LocalFree(text);
  }
  return out;
}

}  // namespace

Result<ProcessUser> ProcessUser::current() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
    return Error{"cannot open this process's token: " + win_error(GetLastError()), false};
  DWORD size = 0;
  GetTokenInformation(token, TokenUser, nullptr, 0, &size);
  std::shared_ptr<unsigned char[]> info(new unsigned char[size]);
  const bool got = GetTokenInformation(token, TokenUser, info.get(), size, &size);
  CloseHandle(token);
  if (!got) return Error{"cannot read this process's user: " + win_error(GetLastError()), false};
  ProcessUser user;
  // TOKEN_USER's SID points into the same buffer; keep the buffer, hand out the SID.
  PSID sid = reinterpret_cast<TOKEN_USER*>(info.get())->User.Sid;
  const DWORD len = GetLengthSid(sid);
  user.buffer_.reset(new unsigned char[len]);
  CopySid(len, user.buffer_.get(), sid);
  return user;
}

std::string ProcessUser::name() const { return sid_name(sid()); }

OwnerOnlyDescriptor::OwnerOnlyDescriptor(const ProcessUser& user, bool inherit) {
  const DWORD acl_size =
      sizeof(ACL) + sizeof(ACCESS_ALLOWED_ACE) + GetLengthSid(user.sid()) - sizeof(DWORD);
  acl_.reset(new unsigned char[acl_size]);
  PACL acl = reinterpret_cast<PACL>(acl_.get());
  const DWORD flags = inherit ? (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE) : 0;
  ok_ = InitializeAcl(acl, acl_size, ACL_REVISION) &&
        AddAccessAllowedAceEx(acl, ACL_REVISION, flags, FILE_ALL_ACCESS, user.sid()) &&
        InitializeSecurityDescriptor(&descriptor_, SECURITY_DESCRIPTOR_REVISION) &&
        SetSecurityDescriptorOwner(&descriptor_, user.sid(), FALSE) &&
        SetSecurityDescriptorDacl(&descriptor_, TRUE, acl, FALSE) &&
        // Protected: nothing the parent folder grants (Users, Administrators) flows in.
        SetSecurityDescriptorControl(&descriptor_, SE_DACL_PROTECTED, SE_DACL_PROTECTED);
  attributes_.nLength = sizeof attributes_;
  attributes_.lpSecurityDescriptor = &descriptor_;
  attributes_.bInheritHandle = FALSE;
}

std::string owner_only_problem(const std::filesystem::path& path, const ProcessUser& user) {
  PSID owner = nullptr;
  PACL dacl = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  const DWORD err = GetNamedSecurityInfoW(path.c_str(), SE_FILE_OBJECT,
                                          OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                          &owner, nullptr, &dacl, nullptr, &sd);
  if (err != ERROR_SUCCESS) return ": cannot read its access list: " + win_error(err);
  std::string problem;
  if (owner == nullptr || !EqualSid(owner, user.sid())) {
    problem = " is owned by " + (owner ? sid_name(owner) : std::string("nobody")) +
              ", not by this process's user (" + user.name() + ")";
  } else if (dacl == nullptr) {
    problem = " has no access list (everyone may use it)";
  } else {
    // Every entry must be the user's own (or LocalSystem's) and none inherited: what the parent
    // folder grants must not flow in. (The entries are checked rather than the descriptor's
    // "protected" flag, which wine does not keep.)
    for (DWORD i = 0; i < dacl->AceCount && problem.empty(); ++i) {
      void* ace = nullptr;
      if (!GetAce(dacl, i, &ace)) continue;
      const auto* header = static_cast<ACE_HEADER*>(ace);
      if (header->AceType != ACCESS_ALLOWED_ACE_TYPE) continue;
      const auto* allowed = static_cast<ACCESS_ALLOWED_ACE*>(ace);
      if (allowed->Mask == 0) continue;  // grants nothing
      PSID who = const_cast<DWORD*>(&allowed->SidStart);
      // LocalSystem may stay: like root on Linux it can read any file on the host anyway.
      if (IsWellKnownSid(who, WinLocalSystemSid)) continue;
      if (!EqualSid(who, user.sid()))
        problem = " grants access to " + sid_name(who) + "; it must grant access to " +
                  user.name() + " only";
      else if (header->AceFlags & INHERITED_ACE)
        problem = " inherits access from its parent folder; it must grant access to " +
                  user.name() + " only";
    }
  }
  LocalFree(sd);
  return problem;
}

}  // namespace prov
