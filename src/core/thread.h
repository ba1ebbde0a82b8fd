// Thread priorities. Background work -- index maintenance (building and merging segments: a merge
// into a segment of millions keeps a core busy for seconds) and WAL checkpoints -- runs below
// the request threads, so that on a server whose cores are busy with requests it takes CPU from
// them only when they leave some. Nice 10, not idle: under sustained full load the work still
// gets ~10% of a core and keeps up (the index's unindexed tail, scanned by every query, stays
// short).
#pragma once

#include <sys/resource.h>
#include <unistd.h>

namespace takedown {

// Lowers the calling thread's CPU priority (Linux: per-thread nice). Best effort.
inline void LowerThisThreadPriority(int nice = 10) {
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), nice);
}

}  // namespace takedown
