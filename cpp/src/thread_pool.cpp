// The thread pool behind parallel_for. Workers spin briefly after a job before sleeping, because
// training calls parallel_for twice per mini-batch, every few hundred microseconds: waking a
// sleeping thread through the kernel would cost a noticeable share of that.
#include "nndl/thread_pool.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

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
        Job job{&part, parts};
        job_.store(&job);
        {
            std::lock_guard<std::mutex> wake(sleep_mutex_);
            generation_.fetch_add(1);
        }
        sleep_cv_.notify_all();
        work_on(job);
        while (job.done.load() < parts) NNDL_CPU_RELAX();
        // `job` dies with this frame: unpublish it, then wait until no worker can still hold it.
        // (Both sides use sequentially consistent atomics: a worker either counted itself busy
        // before this load of busy_, or it loads job_ after this store and sees null.)
        job_.store(nullptr);
        while (busy_.load() > 0) NNDL_CPU_RELAX();
    }

  private:
    void start(int threads) {
        quit_.store(false);
        // The generation is read here, not in the new thread: a stop() that comes before the
        // thread runs must still be seen as new by it.
        const uint64_t now = generation_.load();
        for (int t = 1; t < threads; ++t) workers_.emplace_back([this, now] { worker_loop(now); });
    }

    void stop() {
        {
            std::lock_guard<std::mutex> wake(sleep_mutex_);
            quit_.store(true);
            generation_.fetch_add(1, std::memory_order_release);
        }
        sleep_cv_.notify_all();
        for (auto& w : workers_) w.join();
        workers_.clear();
    }

    struct Job {
        const std::function<void(int)>* part;
        int parts;
        std::atomic<int> next{0}, done{0};
    };

    static void work_on(Job& job) {
        for (;;) {
            const int p = job.next.fetch_add(1);
            if (p >= job.parts) return;
            (*job.part)(p);
            job.done.fetch_add(1);
        }
    }

    void worker_loop(uint64_t seen) {
        for (;;) {
            // Spin for a while: the next job usually follows within microseconds.
            const auto spin_until = std::chrono::steady_clock::now() + kSpinBeforeSleep;
            int checks = 0;
            while (generation_.load(std::memory_order_acquire) == seen) {
                NNDL_CPU_RELAX();
                if (++checks % 64 == 0 && std::chrono::steady_clock::now() > spin_until) {
                    std::unique_lock<std::mutex> lock(sleep_mutex_);
                    sleep_cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                }
            }
            seen = generation_.load(std::memory_order_acquire);
            if (quit_.load()) return;
            busy_.fetch_add(1);
            if (Job* job = job_.load()) work_on(*job);
            busy_.fetch_sub(1);
        }
    }

    std::atomic<int> threads_;
    std::mutex run_mutex_;  // one job at a time; also guards resizing
    std::vector<std::thread> workers_;
    std::atomic<Job*> job_{nullptr};
    std::atomic<int> busy_{0};
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> quit_{false};
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

struct PoolOwner {
    ThreadPool* pool;
    pid_t pid;
};

ThreadPool& pool() {
    // Created on first use and deliberately never destroyed: joining threads from a static
    // destructor at interpreter exit can deadlock. A fork()ed child (multiprocessing, Dask
    // workers) inherits the pool object but not its threads; joining those would hang forever,
    // so the child abandons the inherited pool and starts its own with as many threads.
    static std::atomic<PoolOwner*> owner{new PoolOwner{new ThreadPool(default_threads()), getpid()}};
    PoolOwner* current = owner.load();
    const pid_t me = getpid();
    if (current->pid != me) {
        auto* fresh = new PoolOwner{new ThreadPool(current->pool->threads_at_creation()), me};
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
    if (parts <= 1) {  // nothing to hand off: skip the pool and its fork check (a getpid system call)
        if (parts == 1) part(0);
        return;
    }
    pool().run(parts, part);
}

}  // namespace nndl
