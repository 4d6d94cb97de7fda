#pragma once
// A private folder per test for config files and their secrets, with the helpers the config
// tests share: write a config, load it, or get the error it is refused with.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "prov/config.h"

namespace prov::testing {

class ConfigFolder : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("prov-config-" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ / "policies");
    std::ofstream(dir_ / "webhook.secret") << "whsec_c2VjcmV0LWtleS1ieXRlcy1vZi0yNC1i\n";
    std::ofstream(dir_ / "bind.secret") << "bind-password\n";
    std::ofstream(dir_ / "ca.pem") << "-----BEGIN CERTIFICATE-----\n";
    unsetenv("CREDENTIALS_DIRECTORY");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path write(const std::string& yaml) {
    auto p = dir_ / "provisiond.yaml";
    std::ofstream(p, std::ios::trunc) << yaml;
    return p;
  }
  std::string error_of(const std::string& yaml) {
    try {
      load_config(write(yaml));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "no error";
  }
  std::filesystem::path dir_;
};

}  // namespace prov::testing
