#pragma once

namespace prov {

// Names the calling thread (at most 15 characters are kept), so `top -H`, `ps -L`, perf and
// core dumps tell the ingest writer, the HTTP listeners, the engine and the directory batch
// apart.
void name_this_thread(const char* name);

}  // namespace prov
