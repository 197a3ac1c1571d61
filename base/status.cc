#include "base/status.h"

#include <cerrno>
#include <cstring>

namespace graphene {

std::string ErrnoMessage(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace graphene
