# The dependencies of the Windows cross-build, under the names the native build's find_package
# calls give them, so that the libraries' own CMake files stay the same on both. PROV_WINDOWS_DEPS
# is the prefix scripts/build-windows fills: static SQLite and yaml-cpp built from Debian's
# sources, and host-include/ with links to the header-only libraries (never all of /usr/include:
# glibc's headers must not reach the cross compiler).
if(NOT PROV_WINDOWS_DEPS)
  message(FATAL_ERROR "PROV_WINDOWS_DEPS is not set: build for Windows with scripts/build-windows")
endif()
set(_deps ${PROV_WINDOWS_DEPS})

add_compile_definitions(_WIN32_WINNT=0x0A00 WIN32_LEAN_AND_MEAN NOMINMAX UNICODE _UNICODE)
# Boost 1.74 with gcc 12 in C++20 uses std::exchange without including <utility>.
add_compile_options(-include utility)
add_link_options(-static)

add_library(prov_win_headers INTERFACE)
target_include_directories(prov_win_headers SYSTEM INTERFACE ${_deps}/host-include)
add_library(Boost::headers ALIAS prov_win_headers)
add_library(nlohmann_json::nlohmann_json ALIAS prov_win_headers)

# Debian's spdlog is configured for its compiled library and an external fmt: use both
# header-only here.
add_library(prov_win_spdlog INTERFACE)
target_link_libraries(prov_win_spdlog INTERFACE prov_win_headers)
target_compile_definitions(prov_win_spdlog INTERFACE SPDLOG_HEADER_ONLY FMT_HEADER_ONLY)
add_library(spdlog::spdlog ALIAS prov_win_spdlog)

add_library(yaml-cpp STATIC IMPORTED GLOBAL)
set_target_properties(yaml-cpp PROPERTIES IMPORTED_LOCATION ${_deps}/lib/libyaml-cpp.a
                                          INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)

add_library(SQLite::SQLite3 STATIC IMPORTED GLOBAL)
set_target_properties(SQLite::SQLite3 PROPERTIES IMPORTED_LOCATION ${_deps}/lib/libsqlite3.a
                                                 INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)

add_library(GTest::gtest STATIC IMPORTED GLOBAL)
set_target_properties(GTest::gtest PROPERTIES IMPORTED_LOCATION ${_deps}/lib/libgtest.a
                                              INTERFACE_INCLUDE_DIRECTORIES ${_deps}/include)
add_library(GTest::gtest_main STATIC IMPORTED GLOBAL)
set_target_properties(GTest::gtest_main PROPERTIES IMPORTED_LOCATION ${_deps}/lib/libgtest_main.a
                                                   INTERFACE_LINK_LIBRARIES GTest::gtest)

find_package(Threads REQUIRED)
