// ListFolder: the names in a folder, for bundle/'s own walks.
#pragma once

#include <dirent.h>

#include <cerrno>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace graphene {

// The names in `folder` other than "." and "..", in no particular order.
inline Result<std::vector<std::string>> ListFolder(const std::string& folder) {
  struct CloseDir {
    void operator()(DIR* dir) const { closedir(dir); }
  };
  std::unique_ptr<DIR, CloseDir> dir(opendir(folder.c_str()));
  if (!dir) return Status::Error(ErrnoMessage("reading the folder " + folder));
  std::vector<std::string> names;
  errno = 0;
  while (dirent* entry = readdir(dir.get())) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
    errno = 0;
  }
  if (errno != 0) return Status::Error(ErrnoMessage("reading the folder " + folder));
  return names;
}

}  // namespace graphene
