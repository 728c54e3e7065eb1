// A small pool of std::threads for the few loops worth splitting (mini-batches, evaluating many
// rows). The caller runs parts too, so n threads means n-1 workers. Work is handed out as numbered
// parts, part p to thread p mod n (the caller is thread 0), or, while a worker sleeps after an idle
// spell, to whichever thread claims it first; what a part computes never depends on which thread
// runs it, so results do not depend on the thread count.
#pragma once

#include <functional>

namespace nndl {

// Threads used by parallel_for, the caller included (>= 1). Default: NNDL_NUM_THREADS if set,
// else the machine's hardware threads.
int num_threads();
void set_num_threads(int n);

// Runs part(p) for p = 0 .. parts-1 and returns when all are done. If the pool is already busy
// (another Python thread is training at the same time, or a part itself calls parallel_for), the
// parts run one after another on the calling thread instead.
void parallel_for(int parts, const std::function<void(int)>& part);

}  // namespace nndl
