// One registry of the process's metrics, rendered at /metrics in Prometheus' text format.
// Modules register what they count once (at construction) and keep the returned pointer: the
// hot path touches one atomic, never the registry. Families are rendered in name order, each
// with its HELP and TYPE once.
//
//   auto* sent = registry->Counter("takedown_mail_replies_total", "Replies sent over SMTP.");
//   sent->Inc();
//
// Registration and rendering are thread-safe; metrics live as long as the registry.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/mutex.h"

namespace takedown {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  class CounterMetric {
   public:
    void Inc(uint64_t n = 1) { v_.fetch_add(n, std::memory_order_relaxed); }
    uint64_t value() const { return v_.load(std::memory_order_relaxed); }

   private:
    std::atomic<uint64_t> v_{0};
  };
  class GaugeMetric {
   public:
    void Set(int64_t v) { v_.store(v, std::memory_order_relaxed); }
    void Add(int64_t d) { v_.fetch_add(d, std::memory_order_relaxed); }
    int64_t value() const { return v_.load(std::memory_order_relaxed); }

   private:
    std::atomic<int64_t> v_{0};
  };
  // Latency in seconds, in fixed buckets (0.25 ms .. 1 s).
  class HistogramMetric {
   public:
    static constexpr std::array<double, 11> kBounds = {0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01,
                                                       0.025,   0.05,   0.1,   0.25,  1.0};
    void Observe(double seconds);
    uint64_t count() const { return count_.load(std::memory_order_relaxed); }

   private:
    friend class MetricsRegistry;
    std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};
    std::atomic<uint64_t> sum_us_{0}, count_{0};
  };

  // The same name and labels return the same metric. A name registered as another type is a
  // programming error (asserted).
  CounterMetric* Counter(const std::string& name, const std::string& help,
                         const MetricLabels& labels = {}) TD_EXCLUDES(mu_);
  GaugeMetric* Gauge(const std::string& name, const std::string& help,
                     const MetricLabels& labels = {}) TD_EXCLUDES(mu_);
  HistogramMetric* Histogram(const std::string& name, const std::string& help,
                             const MetricLabels& labels = {}) TD_EXCLUDES(mu_);
  // Values computed at scrape time (a queue's depth, the oldest item's age). type is "gauge" or
  // "counter". fn runs under the registry's lock: it must not call the registry.
  using Samples = std::vector<std::pair<MetricLabels, double>>;
  void Callback(const std::string& name, const std::string& help, const std::string& type,
                std::function<Samples()> fn) TD_EXCLUDES(mu_);
  // Removes a callback (its owner is going away).
  void RemoveCallback(const std::string& name) TD_EXCLUDES(mu_);

  std::string Render() const TD_EXCLUDES(mu_);

 private:
  struct Family {
    std::string help, type;
    std::map<std::string, std::unique_ptr<CounterMetric>> counters;  // by rendered labels
    std::map<std::string, std::unique_ptr<GaugeMetric>> gauges;
    std::map<std::string, std::unique_ptr<HistogramMetric>> histograms;
    std::function<Samples()> callback;
  };
  Family& FamilyOf(const std::string& name, const std::string& help, const std::string& type)
      TD_REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, Family> families_ TD_GUARDED_BY(mu_);
};

// {a="x",b="y"} with Prometheus escaping, or "" for no labels.
std::string RenderLabels(const MetricLabels& labels);

}  // namespace takedown
