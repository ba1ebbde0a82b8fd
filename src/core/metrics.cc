#include "core/metrics.h"

#include <fmt/format.h>

#include <cassert>

namespace takedown {

std::string RenderLabels(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0) out += ",";
    out += labels[i].first + "=\"";
    for (char c : labels[i].second) {
      if (c == '\\' || c == '"') out += '\\';
      if (c == '\n') {
        out += "\\n";
        continue;
      }
      out += c;
    }
    out += "\"";
  }
  return out + "}";
}

void MetricsRegistry::HistogramMetric::Observe(double seconds) {
  size_t b = 0;
  while (b < kBounds.size() && seconds > kBounds[b]) ++b;
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

MetricsRegistry::Family& MetricsRegistry::FamilyOf(const std::string& name, const std::string& help,
                                                   const std::string& type) {
  auto [it, fresh] = families_.try_emplace(name);
  if (fresh) {
    it->second.help = help;
    it->second.type = type;
  }
  assert(it->second.type == type && "a metric name registered with two types");
  return it->second;
}

MetricsRegistry::CounterMetric* MetricsRegistry::Counter(const std::string& name,
                                                         const std::string& help,
                                                         const MetricLabels& labels) {
  MutexLock l(&mu_);
  auto& slot = FamilyOf(name, help, "counter").counters[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<CounterMetric>();
  return slot.get();
}

MetricsRegistry::GaugeMetric* MetricsRegistry::Gauge(const std::string& name,
                                                     const std::string& help,
                                                     const MetricLabels& labels) {
  MutexLock l(&mu_);
  auto& slot = FamilyOf(name, help, "gauge").gauges[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<GaugeMetric>();
  return slot.get();
}

MetricsRegistry::HistogramMetric* MetricsRegistry::Histogram(const std::string& name,
                                                             const std::string& help,
                                                             const MetricLabels& labels) {
  MutexLock l(&mu_);
  auto& slot = FamilyOf(name, help, "histogram").histograms[RenderLabels(labels)];
  if (!slot) slot = std::make_unique<HistogramMetric>();
  return slot.get();
}

void MetricsRegistry::Callback(const std::string& name, const std::string& help,
                               const std::string& type, std::function<Samples()> fn) {
  MutexLock l(&mu_);
  FamilyOf(name, help, type).callback = std::move(fn);
}

void MetricsRegistry::RemoveCallback(const std::string& name) {
  MutexLock l(&mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.callback = nullptr;
}

std::string MetricsRegistry::Render() const {
  MutexLock l(&mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    std::string body;
    for (const auto& [labels, c] : f.counters)
      body += fmt::format("{}{} {}\n", name, labels, c->value());
    for (const auto& [labels, g] : f.gauges)
      body += fmt::format("{}{} {}\n", name, labels, g->value());
    for (const auto& [rendered, h] : f.histograms) {
      if (h->count() == 0) continue;
      const std::string& labels = rendered;
      // Labels with "le" added: {a="x"} -> {a="x",le="0.001"}
      auto with_le = [&labels](const std::string& le) {
        return labels.empty()
                   ? fmt::format("{{le=\"{}\"}}", le)
                   : fmt::format("{},le=\"{}\"}}", labels.substr(0, labels.size() - 1), le);
      };
      uint64_t cum = 0;
      for (size_t b = 0; b < HistogramMetric::kBounds.size(); ++b) {
        cum += h->buckets_[b].load(std::memory_order_relaxed);
        body += fmt::format("{}_bucket{} {}\n", name,
                            with_le(fmt::format("{}", HistogramMetric::kBounds[b])), cum);
      }
      cum += h->buckets_[HistogramMetric::kBounds.size()].load(std::memory_order_relaxed);
      body += fmt::format("{}_bucket{} {}\n", name, with_le("+Inf"), cum);
      body += fmt::format("{}_sum{} {}\n", name, labels,
                          h->sum_us_.load(std::memory_order_relaxed) / 1e6);
      body += fmt::format("{}_count{} {}\n", name, labels, h->count());
    }
    if (f.callback) {
      for (const auto& [labels, v] : f.callback())
        body += fmt::format("{}{} {}\n", name, RenderLabels(labels), v);
    }
    if (body.empty() && !f.histograms.empty()) continue;  // no observation yet
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    out += body;
  }
  return out;
}

}  // namespace takedown
