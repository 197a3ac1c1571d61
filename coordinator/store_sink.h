// StoreSink: the ResultSink that records each delivered result in the Store.
#pragma once

#include <utility>
#include <vector>

#include "coordinator/result_sink.h"
#include "store/store.h"

namespace graphene {

class StoreSink : public ResultSink {
 public:
  explicit StoreSink(Store& store) : store_(store) {}
  Status Accept(std::vector<std::pair<Job, ExecutionResult>> batch) override {
    Result<size_t> stored = store_.RecordResults(batch);
    return stored.ok() ? Status::Ok() : stored.status();
  }

 private:
  Store& store_;
};

}  // namespace graphene
