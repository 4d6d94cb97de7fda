#include "prov/thread_name.h"

#include <pthread.h>

#include <cstring>
#include <string>

namespace prov {

void name_this_thread(const char* name) {
  // Linux refuses names over 15 characters outright; cut rather than leave the thread unnamed.
  std::string cut(name, strnlen(name, 15));
  pthread_setname_np(pthread_self(), cut.c_str());
}

}  // namespace prov
