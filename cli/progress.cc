#include "cli/progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace graphene {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kRedrawInterval{200};
constexpr milliseconds kLineInterval{5000};

}  // namespace

ProgressDisplay::ProgressDisplay(bool enabled, std::string label)
    : style_(!enabled                  ? Style::kOff
             : ::isatty(STDERR_FILENO) ? Style::kBar
                                       : Style::kLines),
      label_(std::move(label)),
      start_(std::chrono::steady_clock::now()) {}

void ProgressDisplay::Update(const Progress& p) {
  if (style_ == Style::kOff) return;
  auto now = std::chrono::steady_clock::now();
  if (!started_) {
    // A resumed or re-attached campaign's earlier results do not count
    // towards the rate.
    started_ = true;
    done_at_start_ = p.done;
  }
  const milliseconds interval = style_ == Style::kBar ? kRedrawInterval : kLineInterval;
  const bool finished = p.done == p.total;
  if (drawn_ && now - last_draw_ < interval && !(style_ == Style::kLines && finished)) return;
  last_draw_ = now;
  drawn_ = true;
  double seconds = std::chrono::duration<double>(now - start_).count();
  double rate = seconds > 0 ? double(p.done - std::min(p.done, done_at_start_)) / seconds : 0;
  double left = rate > 0 ? double(p.total - p.done) / rate : 0;
  if (style_ == Style::kLines) {
    fmt::print(stderr, "{}{}/{} executions, {} escaped, {:.0f}/s, {:.0f}s left\n", label_, p.done,
               p.total, p.escapes, rate, left);
    return;
  }
  constexpr int kWidth = 30;
  int filled = p.total ? static_cast<int>(kWidth * p.done / p.total) : kWidth;
  fmt::print(stderr, "\r[{}{}] {}/{} executions, {} escaped, {:.0f}/s, {:.0f}s left \x1b[K",
             std::string(filled, '#'), std::string(kWidth - filled, '.'), p.done, p.total,
             p.escapes, rate, left);
}

void ProgressDisplay::Finish() {
  if (style_ == Style::kBar && drawn_) fmt::print(stderr, "\r\x1b[K");
}

}  // namespace graphene
