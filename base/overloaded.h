// Overloaded: builds one visitor for std::visit out of several lambdas.
#pragma once

namespace graphene {

template <typename... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};

}  // namespace graphene
