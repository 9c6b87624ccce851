// A fixed list of tasks run on a few worker threads (the caller's thread is one of them). The
// first exception stops the rest: workers take no new task once `stop` is set, and the exception
// is rethrown by run().
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lmc {

class TaskPool {
 public:
  void add(std::function<void()> task) { tasks_.push_back(std::move(task)); }

  void run(unsigned threads, std::atomic<bool>& stop) {
    std::atomic<std::size_t> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
      for (std::size_t i; !stop.load() && (i = next.fetch_add(1)) < tasks_.size();) {
        try {
          tasks_[i]();
        } catch (...) {
          std::lock_guard lock(error_mutex);
          if (!error) error = std::current_exception();
          stop = true;
        }
      }
    };
    std::vector<std::jthread> workers;
    for (unsigned t = 1; t < threads; ++t) workers.emplace_back(worker);
    worker();
    workers.clear();  // joins
    if (error) std::rethrow_exception(error);
  }

 private:
  std::vector<std::function<void()>> tasks_;
};

}  // namespace lmc
