// The thread pool behind parallel_for. Training calls parallel_for two to four times per
// mini-batch, every 20 to 300 microseconds, so a hand-off is made of as few cache-line transfers
// between the cores as it can be: the caller writes the job and its number into one line (the
// mailbox), which the workers are spinning on; each worker runs its fixed share of the parts
// (p = its number, then every `threads`-th) and writes the job's number into a line of its own,
// which the caller waits on: one transfer each way. Handing parts out from a shared counter and
// counting busy workers (the pool before this one) took several transfers more: a hand-off to one
// worker with 1 us of work each side cost 0.42-0.48 us more than the work with the cores near (a
// round trip of 120-140 ns), 1.0-1.2 us with them far apart (310-370 ns); this one 0.21-0.23 and
// 0.68-0.72 us. Workers spin for a while after a job before sleeping: waking a sleeping thread
// through the kernel would cost more than that.
//
// A job posted while a worker sleeps (the first after an idle spell: an evaluation, the first
// mini-batch of an SGD call) is shared by claiming: the caller wakes the workers and takes parts one
// at a time from a claim counter (a line of its own), and a worker that wakes in time takes the
// rest, so that the caller never waits for a wake (0.2 ms here, up to 4 ms) but a long job is still
// shared. The caller running such a job whole, as the pool did before, made `evaluate` on two
// threads no faster than on one (10,000 images: 0.020 s either way).
#include "nndl/thread_pool.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <pthread.h>

#include "nndl/cache_line_vector.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define NNDL_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define NNDL_CPU_RELAX() asm volatile("yield")
#else
#define NNDL_CPU_RELAX() ((void)0)
#endif

namespace nndl {
namespace {

constexpr auto kSpinBeforeSleep = std::chrono::microseconds(200);

class ThreadPool {
  public:
    explicit ThreadPool(int threads) : threads_(threads) { start(threads); }
    // Read without locking: after fork() the run mutex may have been copied in a locked state.
    int threads_at_creation() const { return threads_.load(); }
    ~ThreadPool() { stop(); }

    int size() {
        std::lock_guard<std::mutex> hold(run_mutex_);
        return static_cast<int>(workers_.size()) + 1;
    }

    void resize(int threads) {
        std::lock_guard<std::mutex> hold(run_mutex_);
        stop();
        start(threads);
        threads_.store(threads);
    }

    void run(int parts, const std::function<void(int)>& part) {
        std::unique_lock<std::mutex> hold(run_mutex_, std::try_to_lock);
        if (!hold.owns_lock() || workers_.empty() || parts <= 1) {
            for (int p = 0; p < parts; ++p) part(p);
            return;
        }
        // `part` and `parts` are plain fields: only a worker with parts reads them, after it sees the
        // job posted (acquire), and they are written again only after each of those has reported the
        // job done. A worker without parts reads nothing but the posted word, and is not waited for:
        // one asleep, or not given a core (more threads than cores), would hold the caller up.
        // With a worker asleep (idle for longer than kSpinBeforeSleep: between calls) the job is
        // shared by claiming instead (run_claimed). (Should one fall asleep between this look and
        // the post, the look after the post wakes it, and the caller waits for it: rare, and still
        // correct.)
        const bool asleep = sleepers_.load() > 0;
        mailbox_.part = &part;
        mailbox_.parts = parts;
        const uint64_t job = number_of(mailbox_.posted.load(std::memory_order_relaxed)) + 1;
        if (asleep && parts <= kMaxClaimedParts) {
            parts_done_.store(0, std::memory_order_relaxed);
            claim_.store(claim_word(job, parts, 0), std::memory_order_relaxed);
            mailbox_.posted.store(job << kBusyBits | kClaimed);  // publishes the fields above
            wake_sleepers();
            run_claimed(job);
            while (parts_done_.load(std::memory_order_acquire) != parts) NNDL_CPU_RELAX();
            return;
        }
        // The threads with parts in the job: the caller and workers 1 .. busy - 1.
        const int sharing = static_cast<int>(workers_.size()) + 1, busy = std::min(parts, sharing);
        mailbox_.posted.store(job << kBusyBits | static_cast<uint64_t>(busy));  // see wait_for_job
        if (sleepers_.load() > 0) wake_sleepers();
        for (int p = 0; p < parts; p += sharing) part(p);
        for (int worker = 1; worker < busy; ++worker) {
            const Done& done = *done_[static_cast<size_t>(worker - 1)];
            while (done.job.load(std::memory_order_acquire) != job) NNDL_CPU_RELAX();
        }
    }

  private:
    // The posted word: the job's number, then in the low kBusyBits bits how many threads have parts
    // in it (the caller and workers 1 .. busy - 1), or kClaimed: parts are claimed (run_claimed).
    static constexpr int kBusyBits = 16;                     // busy <= threads <= 1024
    static constexpr uint64_t kClaimed = uint64_t{1} << 15;  // above any busy count
    static uint64_t number_of(uint64_t posted) { return posted >> kBusyBits; }
    static int busy_of(uint64_t posted) { return static_cast<int>(posted & (kClaimed - 1)); }

    // The claim word of a claimed job: its number (low 32 bits: a tag, which cannot come round again
    // while a thread still holds an old one), its parts, and the next part not yet claimed, 16 bits
    // each (a job of more parts is handed out as when no worker sleeps; the engine's have <= threads).
    static constexpr int kMaxClaimedParts = 0xffff;
    static uint64_t claim_word(uint64_t job, int parts, int next) {
        return (job & 0xffffffffu) << 32 | static_cast<uint64_t>(parts) << 16 | static_cast<uint64_t>(next);
    }

    // Takes parts of claimed job `job` one at a time until none is left, and counts each one run in
    // parts_done_, which the caller waits for. A thread that claims nothing (it came late: the job is
    // finished, or another has followed) reads nothing else of the job: the caller may have left.
    void run_claimed(uint64_t job) {
        for (uint64_t word = claim_.load(std::memory_order_acquire);;) {
            const int parts = static_cast<int>(word >> 16 & 0xffff), next = static_cast<int>(word & 0xffff);
            if (word >> 32 != (job & 0xffffffffu) || next >= parts) return;
            if (!claim_.compare_exchange_weak(word, word + 1, std::memory_order_acq_rel)) continue;
            (*mailbox_.part)(next);
            parts_done_.fetch_add(1, std::memory_order_release);
            word = claim_.load(std::memory_order_acquire);
        }
    }

    void wake_sleepers() {
        std::lock_guard<std::mutex> wake(sleep_mutex_);  // under the mutex: not before a sleeper waits
        sleep_cv_.notify_all();
    }

    struct alignas(kCacheLine) Mailbox {
        std::atomic<uint64_t> posted{0};  // the latest job; 0: none yet
        const std::function<void(int)>* part = nullptr;
        int parts = 0;
        std::atomic<bool> quit{false};  // set by stop() before it posts: the workers return instead
    };
    struct alignas(kCacheLine) Done {
        std::atomic<uint64_t> job{0};  // the number of the last job this worker had parts in and finished
    };

    void start(int threads) {
        mailbox_.quit.store(false);
        done_.clear();
        // The posted word is read here, not in the new thread: the workers wait for the next one.
        const uint64_t now = mailbox_.posted.load();
        for (int t = 1; t < threads; ++t) done_.push_back(std::make_unique<Done>());
        for (int t = 1; t < threads; ++t)
            workers_.emplace_back([this, t, threads, now] { worker_loop(t, threads, now); });
    }

    void stop() {
        {
            std::lock_guard<std::mutex> wake(sleep_mutex_);
            mailbox_.quit.store(true);
            mailbox_.posted.store((number_of(mailbox_.posted.load()) + 1) << kBusyBits);
        }
        sleep_cv_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    // Spins until a job other than `seen` is posted, then sleeps (a worker idle for long, between
    // SGD calls, gives its core back). Returns the posted word.
    uint64_t wait_for_job(uint64_t seen) {
        const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
        for (int checks = 1;; ++checks) {
            const uint64_t posted = mailbox_.posted.load(std::memory_order_acquire);
            if (posted != seen) return posted;
            NNDL_CPU_RELAX();
            if (checks % 64 == 0 && std::chrono::steady_clock::now() > spin_until) break;
        }
        // Counted as sleeping before the last look at the mailbox, both sequentially consistent
        // (as run()'s post and its look at the count): either run() sees the count and wakes this
        // thread (under the mutex, so not before it waits), or this thread sees the new post.
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        sleepers_.fetch_add(1);
        uint64_t posted;
        while ((posted = mailbox_.posted.load()) == seen) sleep_cv_.wait(lock);
        sleepers_.fetch_sub(1);
        return posted;
    }

    void worker_loop(int index, int threads, uint64_t seen) {
        Done& done = *done_[static_cast<size_t>(index - 1)];
        for (;;) {
            seen = wait_for_job(seen);
            if (mailbox_.quit.load()) return;
            if (seen & kClaimed) {  // the caller waits for the parts, not for this thread
                run_claimed(number_of(seen));
                continue;
            }
            if (index >= busy_of(seen)) continue;  // nothing for this thread (and the caller does not wait)
            const std::function<void(int)>& part = *mailbox_.part;
            for (int p = index, parts = mailbox_.parts; p < parts; p += threads) part(p);
            done.job.store(number_of(seen), std::memory_order_release);
        }
    }

    std::atomic<int> threads_;
    std::mutex run_mutex_;  // one job at a time; also guards resizing
    std::vector<std::thread> workers_;
    Mailbox mailbox_;
    std::vector<std::unique_ptr<Done>> done_;             // per worker, each in a line of its own
    alignas(kCacheLine) std::atomic<uint64_t> claim_{0};  // a claimed job's claim word (claim_word)
    alignas(kCacheLine) std::atomic<int> parts_done_{0};  // parts of the claimed job run so far
    alignas(kCacheLine) std::atomic<int> sleepers_{0};
    std::mutex sleep_mutex_;
    std::condition_variable sleep_cv_;
};

int default_threads() {
    if (const char* env = std::getenv("NNDL_NUM_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        if (end != env && *end == '\0' && n >= 1 && n <= 1024) return static_cast<int>(n);
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : static_cast<int>(hw);
}

// Forks this process has been through (counted in the child by a pthread_atfork handler): a pool
// made before the last one has no threads in this process. Asking getpid() at every parallel_for
// instead was a system call per hand-off (about 0.2 us here).
std::atomic<uint64_t> forks{0};

struct PoolOwner {
    ThreadPool* pool;
    uint64_t forks;
};

ThreadPool& pool() {
    // Created on first use and deliberately never destroyed: joining threads from a static
    // destructor at interpreter exit can deadlock. A fork()ed child (multiprocessing, Dask
    // workers) inherits the pool object but not its threads; joining those would hang forever,
    // so the child abandons the inherited pool and starts its own with as many threads.
    static std::atomic<PoolOwner*> owner{[] {
        pthread_atfork(nullptr, nullptr, [] { forks.fetch_add(1); });
        return new PoolOwner{new ThreadPool(default_threads()), forks.load()};
    }()};
    PoolOwner* current = owner.load();
    const uint64_t now = forks.load(std::memory_order_relaxed);
    if (current->forks != now) {
        auto* fresh = new PoolOwner{new ThreadPool(current->pool->threads_at_creation()), now};
        if (owner.compare_exchange_strong(current, fresh)) return *fresh->pool;
        delete fresh->pool;  // another thread of this child replaced it first
        delete fresh;
    }
    return *current->pool;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
    if (n < 1 || n > 1024)
        throw std::invalid_argument("n: the number of threads must be in [1, 1024], got " + std::to_string(n));
    pool().resize(n);
}

void parallel_for(int parts, const std::function<void(int)>& part) {
    if (parts <= 1) {  // nothing to hand off: skip the pool
        if (parts == 1) part(0);
        return;
    }
    pool().run(parts, part);
}

}  // namespace nndl
