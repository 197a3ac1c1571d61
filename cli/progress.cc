#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace graphene {

ProgressDisplay::ProgressDisplay(bool enabled)
    : enabled_(enabled && ::isatty(STDERR_FILENO)), start_(std::chrono::steady_clock::now()) {}

void ProgressDisplay::Update(const Progress& p) {
  auto now = std::chrono::steady_clock::now();
  if (!enabled_ || (drawn_ && now - last_draw_ < std::chrono::milliseconds(200))) return;
  last_draw_ = now;
  drawn_ = true;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? double(p.done) / seconds : 0;
  double left = rate > 0 ? double(p.total - p.done) / rate : 0;
  constexpr int kWidth = 30;
  int filled = p.total ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
  fmt::print(stderr, "\r[{}{}] {}/{} executions, {} escaped, {:.0f}/s, {:.0f}s left \x1b[K",
             std::string(filled, '#'), std::string(kWidth - filled, '.'), p.done, p.total,
             p.escapes, rate, left);
}

void ProgressDisplay::Finish() {
  if (drawn_) fmt::print(stderr, "\r\x1b[K");
}

}  // namespace graphene
